"""Laid-out pages of the previous build, reused when nothing they show changed.

About half of a warm ``bok build`` is MkDocs running the theme's templates for every page
again, though an edit to one chapter changes a handful. A page MkDocs lays out is a function
of two things, and both are digested:

* the **layout** (:func:`layout_digest`): the navigation, every page's URL, title, description
  and tags (a page lists its neighbours, the tags index lists them all), the configuration as
  MkDocs loaded it (``!ENV`` values included) and the bytes of mkdocs.yml, the theme and its
  options, the versions of MkDocs, the theme, Jinja and bok's own code, and whether drafts are
  shown. A theme ``custom_dir``, hooks or any plugin but bok's, search and tags: no reuse at
  all (their templates or code could read anything);
* the **page** (:func:`page_digest`): everything bok hands MkDocs for it (HTML, title,
  description, tags, table of contents), of which its staged file is made too.

After a build is swapped in, a manifest (:class:`Manifest`, in :mod:`bok.cache`, so it is
checked like every entry and never read when Git tracks ``.bok/``) records, for that site
folder, the layout and each page's digest with the digest of the bytes written. The next build
into the same folder takes a page from it only when the layout and the page's digest are equal
and the file there still has those bytes (a hand-edited or damaged page is laid out again).
Every page, reused or not, is then checked against what bok staged (:mod:`bok.verify`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache as caching

KIND = "pages"
#: The template a reused page is laid out with: empty, its previous bytes replace the output.
TEMPLATE = "bok-reused-page.html"
#: The plugins whose pages are functions of the inputs above.
PLUGINS = frozenset({"bok", "search", "material/search", "tags", "material/tags"})
_PACKAGES = ("mkdocs", "mkdocs-material", "Jinja2", "MarkupSafe")
#: Configuration values that differ between builds without changing any page.
_UNUSED = frozenset({"site_dir", "plugins", "theme", "nav", "config_file_path"})


def eligible(config) -> bool:
    """Pages may be reused only when no code or template outside bok's knowledge runs."""
    return (set(config.plugins) <= PLUGINS and not config.get("hooks")
            and not config.theme.get("custom_dir"))


def layout_digest(config, pages: dict[str, Any], nav: Any, drafts: bool,
                  code: list[Any]) -> str:
    """What every laid-out page depends on besides its own content (see the module's text)."""
    settings = {k: v for k, v in config.items() if k not in _UNUSED}
    theme = {"name": config.theme.name, "dirs": list(config.theme.dirs),
             "options": dict(config.theme), "plugins": sorted(config.plugins)}
    listing = sorted((p.src_uri, p.url, p.title, p.description, list(p.tags))
                     for p in pages.values())
    return caching.digest(caching.code_fingerprint(code), caching.versions(_PACKAGES),
                          Path(config.config_file_path).read_bytes(),
                          caching.config_fingerprint(settings),
                          caching.config_fingerprint(theme), repr(nav), json.dumps(listing),
                          "drafts" if drafts else "published")


def page_digest(staged_page: Any) -> str:
    """A page's own inputs: everything bok hands MkDocs for it (MkDocs does not read the
    staged file of a finished page, which is made of the same)."""
    return caching.digest(repr(staged_page))


def _manifest_key(site: Path) -> str:
    return caching.digest("site", str(site))


@dataclass
class Manifest:
    """The pages laid out into one site folder: src_uri -> (page digest, output digest)."""

    layout: str
    pages: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, cache: caching.Cache, site: Path) -> Manifest | None:
        found = cache.get(KIND, _manifest_key(site))
        if not isinstance(found, dict) or not isinstance(found.get("layout"), str) \
                or not isinstance(found.get("pages"), dict):
            return None
        pages = {src: (entry[0], entry[1]) for src, entry in found["pages"].items()
                 if isinstance(entry, list) and len(entry) == 2
                 and all(isinstance(part, str) for part in entry)}
        return cls(found["layout"], pages)

    def save(self, cache: caching.Cache, site: Path) -> None:
        key = _manifest_key(site)
        cache.put(KIND, key, {"layout": self.layout,
                              "pages": {k: list(v) for k, v in self.pages.items()}})

    def reusable(self, layout: str, src_uri: str, page: str, output: Path) -> str | None:
        """The previous output of a page, if its layout and inputs are those of this build
        and the file still holds the bytes written then; else None."""
        entry = self.pages.get(src_uri)
        if layout != self.layout or entry is None or entry[0] != page:
            return None
        try:
            data = output.read_bytes()
        except OSError:
            return None
        if caching.digest(data) != entry[1]:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None


def output_digest(text: str) -> str:
    """The digest of a page as MkDocs writes it."""
    return caching.digest(text.encode("utf-8", errors="xmlcharrefreplace"))
