"""Markdown to the HTML readers get: bok renders every page itself, then sanitizes it.

No engine decides what a reader sees. bok renders each page's Markdown with the book's own
extension list (the ``markdown_extensions`` of ``mkdocs.yml``, one list for the check and the
site), rewrites links between pages to the URLs the site will have, sanitizes the result with
:func:`bok.sanitize.clean_html`, and hands the engine finished HTML to lay out. So the body a
reader gets is the body the experts endorsed, line for line (MkDocs' own metadata parser would
drop a leading ``Important: ...`` line), and a link to a chapter that is not published becomes
plain text instead of a 404.
"""

from __future__ import annotations

import functools
import html
import posixpath
import re
import xml.etree.ElementTree as etree
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

from . import sanitize

#: Extensions bok cannot render with: they read files the review does not pin (snippets
#: includes any file) or take over parsing that bok does itself (front matter).
REFUSED_EXTENSIONS = {
    "pymdownx.snippets": "it includes files the endorsement does not pin",
    "meta": "bok reads front matter itself; 'meta' would drop a body's leading 'Key: value' lines",
    "markdown.extensions.meta": "bok reads front matter itself",
}

#: Finds a page's URL from its path under content/ (``brakes/abs.md``), None if unpublished.
PageUrl = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    title: str  # plain text


@dataclass
class Rendered:
    html: str
    headings: list[Heading] = field(default_factory=list)
    #: Links to pages the site does not publish: (target as written, line of text shown).
    unpublished: list[str] = field(default_factory=list)
    #: The pages the page links to (paths under content/, as ``brakes/abs.md``), in order.
    links: list[str] = field(default_factory=list)


#: What MkDocs adds to every book's list (``markdown_extensions``'s builtins).
MKDOCS_BUILTINS = ("toc", "tables", "fenced_code")


@dataclass(frozen=True)
class Extensions:
    """The Markdown extensions a book's pages are rendered with: mkdocs.yml's
    ``markdown_extensions``, as MkDocs reads them, for ``bok check``'s scan and the site."""

    names: tuple[str, ...] = MKDOCS_BUILTINS
    configs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, value: Any) -> Extensions:
        """From the ``markdown_extensions`` value of mkdocs.yml (names, or one-key mappings
        of a name to its options), after MkDocs' built-ins, as MkDocs lists them."""
        from .siteconfig import named  # siteconfig reads mkdocs.yml; this only lists names
        names: list[str] = list(MKDOCS_BUILTINS)
        configs: dict[str, Any] = {}
        for name, options in named(value):
            if not isinstance(name, str):
                continue
            if name not in names:
                names.append(name)
            if isinstance(options, dict):
                configs[name] = options
        return cls(tuple(names), configs)

    @functools.cached_property
    def shown(self) -> str:
        """Its ``repr``, made once (a key of every page the loader remembers)."""
        return repr(self)

    def renderable(self) -> Extensions:
        """The same without what bok refuses to render with (for ``bok check``'s scan, which
        renders pages: snippets would read files no endorsement pins)."""
        return Extensions(tuple(n for n in self.names if n not in REFUSED_EXTENSIONS),
                          self.configs)


def refused(extensions: Sequence[Any]) -> list[tuple[str, str]]:
    """The extensions of ``extensions`` bok will not render with, and why."""
    names = [e if isinstance(e, str) else type(e).__module__ for e in extensions]
    return [(name, REFUSED_EXTENSIONS[name]) for name in names if name in REFUSED_EXTENSIONS]


def page_url(src_uri: str, directory_urls: bool = True) -> str:
    """The URL of the page built from ``src_uri`` (relative to the site root), as MkDocs and
    Zensical make it: ``brakes/abs.md`` is ``brakes/abs/`` (or ``brakes/abs.html``)."""
    stem = src_uri.removesuffix(".md")
    name = posixpath.basename(stem)
    folder = posixpath.dirname(stem)
    if name in ("index", "README"):
        if directory_urls:
            return f"{folder}/" if folder else ""
        return f"{folder}/index.html" if folder else "index.html"
    return f"{stem}/" if directory_urls else f"{stem}.html"


def relative_url(target: str, current: str) -> str:
    """``target`` (a URL from the site root) as seen from the page at URL ``current``."""
    base = current if current.endswith("/") or not current else posixpath.dirname(current) + "/"
    if not base:
        return target or "./"
    rel = relpath(target or ".", base.rstrip("/") or ".")
    if target.endswith("/") and not rel.endswith("/"):
        rel += "/"
    return "./" if rel == "./" or rel == "." else rel


def relpath(target: str, start: str) -> str:
    """``posixpath.relpath`` for paths relative to the same root, without its two calls to
    ``abspath`` (which read the working directory): tens of thousands of links per build.
    Paths with ``.``, ``..`` or empty parts go to ``posixpath.relpath``."""
    to = target.rstrip("/").split("/") if target not in ("", ".") else []
    at = start.rstrip("/").split("/") if start not in ("", ".") else []
    if target.startswith("/") or start.startswith("/") \
            or any(part in ("", ".", "..") for part in (*to, *at)):
        return posixpath.relpath(target, start)
    common = 0
    for mine, theirs in zip(to, at, strict=False):
        if mine != theirs:
            break
        common += 1
    return "/".join([".."] * (len(at) - common) + to[common:]) or "."


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


class _Links(Treeprocessor):
    """Rewrites links and images between pages to the site's URLs."""

    def __init__(self, md: markdown.Markdown, renderer: Renderer):
        super().__init__(md)
        self.renderer = renderer

    def run(self, root: etree.Element) -> None:
        state = self.renderer._state
        if state is None:
            return
        for parent in root.iter():
            for index, element in enumerate(list(parent)):
                if element.tag == "a" and element.get("href") is not None:
                    self._link(parent, index, element, state)
                elif element.tag == "img" and element.get("src") is not None:
                    target = self._target(element.get("src", ""), state)
                    if target is not None:
                        element.set("src", target[0] or "")

    def _target(self, url: str, state: _State) -> tuple[str | None, str, str] | None:
        """(new URL or None if unpublished, the path written, the page reached) for a
        relative link; None for a link that stays as it is (absolute, another scheme, an
        anchor)."""
        if not url or url.startswith(("#", "/", "//")) or _SCHEME.match(url):
            return None
        parts = urlsplit(url)
        if parts.query or not parts.path:
            return None
        path = posixpath.normpath(posixpath.join(posixpath.dirname(state.src),
                                                 unquote(parts.path)))
        found = state.page_url(path)
        if not path.endswith(".md") and found is None:
            return None  # a file: not published unless the site has it (left as written)
        if found is None:
            return None, url, path
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        return relative_url(found, state.url) + fragment, url, path

    def _link(self, parent: etree.Element, index: int, element: etree.Element,
              state: _State) -> None:
        target = self._target(element.get("href", ""), state)
        if target is None:
            return
        href, written, _page = target
        if href is not None:
            element.set("href", href)
            state.links.append(target[2])
            return
        state.unpublished.append(written)
        span = etree.Element("span", {"class": "bok-unpublished",
                                      "title": "This chapter is not published (yet)."})
        span.text, span.tail = element.text, element.tail
        span.extend(list(element))
        parent[index] = span


@dataclass
class _State:
    src: str
    url: str
    page_url: PageUrl
    unpublished: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


class _LinkExtension(Extension):
    def __init__(self, renderer: Renderer):
        super().__init__()
        self.renderer = renderer

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        # after inline processing (which makes the <a> elements), before the toc (priority 5)
        md.treeprocessors.register(_Links(md, self.renderer), "bok-links", 6)


class Renderer:
    """One Markdown converter with the book's extensions, reused page after page."""

    def __init__(self, extensions: Sequence[Any] = (),
                 configs: Mapping[str, Any] | None = None):
        configs = dict(configs or {})
        names = [e for e in extensions if e not in REFUSED_EXTENSIONS]
        if "toc" not in names and "markdown.extensions.toc" not in names:
            names.append("toc")
        self._state: _State | None = None
        #: what the output depends on besides the page (see :mod:`bok.cache`)
        self.settings = {"extensions": [e if isinstance(e, str) else repr(e) for e in names],
                         "configs": configs}
        self._md = markdown.Markdown(extensions=[*names, _LinkExtension(self)],
                                     extension_configs=configs)

    def render(self, text: str, src: str = "", url: str = "",
               page_url: PageUrl | None = None) -> Rendered:
        """The sanitized HTML of ``text``, the page at ``src`` (under content/) whose URL is
        ``url``; links to other pages are resolved with ``page_url``."""
        self._state = _State(src, url, page_url or (lambda _path: None))
        try:
            out = self._md.reset().convert(text)
            tokens = getattr(self._md, "toc_tokens", [])
        finally:
            state, self._state = self._state, None
        return Rendered(sanitize.clean_html(out), list(_headings(tokens)), state.unpublished,
                        state.links)


def _headings(tokens: list[dict]):
    for token in tokens:
        yield Heading(int(token["level"]), str(token["id"]),
                      html.unescape(str(token.get("name", ""))))
        yield from _headings(token.get("children", []))
