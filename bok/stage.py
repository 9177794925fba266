"""The staged book: the tree of finished pages bok decided to publish, which the engine lays out.

bok never points an engine at ``content/``. It plans the site (:mod:`bok.site`), renders every
page itself (:mod:`bok.render`: the book's Markdown extensions, links resolved, sanitized), and
writes the result to ``.bok/stage/`` (``.bok/preview/`` for a drafts preview): one ``.md`` file
per page, whose body is finished HTML, plus bok's own stylesheet and search script. That folder
is the ``docs_dir`` of the book's ``mkdocs.yml``, so whatever runs an engine in the book
(``bok build``, ``mkdocs build``, ``zensical build``) can only lay out what bok staged, and
fails when nothing was staged. Nothing else of the repository is copied: a chapter's image or
an ``.html`` file under ``content/`` is not covered by any endorsement, so it is not published.

A file is rewritten only when its bytes change, so an engine that watches or caches files
rebuilds only what changed. Files bok did not stage are removed from the folder; a folder that
bok did not make is refused rather than emptied.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from markdown.extensions.toc import slugify

from . import cache as caching
from . import render, sanitize, site
from .errors import BokError

STAGE = ".bok/stage"
PREVIEW = ".bok/preview"
#: Inside the staged folder (MkDocs and Zensical skip dot-files): what bok wrote there.
MANIFEST = ".bok-stage.json"
SEARCH_SCRIPT = "assets/bok/search.js"
STYLESHEET = "assets/bok/bok.css"
_WEB = resources.files("bok") / "templates" / "web"
#: Where the search page's box goes; the search script replaces the text inside.
SEARCH_MOUNT = ('<div id="bok-search" class="bok-search" data-pagefind-ignore="all">'
                '<p class="bok-search__note">Search needs JavaScript, and the index that '
                "<code>bok build</code> makes.</p></div>\n")
#: Characters that an engine's Markdown preprocessors act on before raw HTML is set aside
#: (fenced code, tab expansion): written as character references, which read the same.
_INERT = (("`", "&#96;"), ("~", "&#126;"), ("\t", "&#9;"))


def _inert(text: str) -> str:
    """``text`` with :data:`_INERT`'s characters replaced (``str.replace`` is some 50 times
    faster than ``str.translate`` with a table, which costs 2 ms on a chapter page)."""
    for char, reference in _INERT:
        text = text.replace(char, reference)
    return text


@dataclass
class StagedPage:
    """One page as the engine gets it."""

    src_uri: str  # relative to the staged folder, e.g. brakes/abs.md
    url: str
    title: str  # plain text
    description: str = ""
    tags: tuple[str, ...] = ()
    html: str | None = None  # finished content; None for a page the engine renders
    markdown: str = ""  # for a page the engine renders (the tags index)
    headings: list[render.Heading] = field(default_factory=list)
    chapter: str | None = None  # the chapter shown, for chapter pages (they are searched)


@dataclass
class Stage:
    folder: Path
    pages: dict[str, StagedPage]
    nav: list
    files: set[str]  # every file staged (pages and assets)
    unpublished_links: list[tuple[str, str]] = field(default_factory=list)  # (page, target)
    written: int = 0  # files whose bytes changed in this staging


def stage_folder(root: Path, drafts: bool) -> Path:
    return root / (PREVIEW if drafts else STAGE)


def stage_site(root: Path, plan: site.SitePlan, renderer: render.Renderer, drafts: bool,
               directory_urls: bool = True, permalink: str | None = None,
               tags_page: bool = False, cache: caching.Cache | None = None) -> Stage:
    """Render every planned page and write the staged tree; return what was staged.

    With a ``cache``, a page whose render inputs were rendered before is not rendered again."""
    folder = stage_folder(root, drafts)
    urls = {src: render.page_url(src, directory_urls) for src in plan.pages}
    if tags_page:
        urls[site.TAGS_PAGE] = render.page_url(site.TAGS_PAGE, directory_urls)
    cached = _Renders(renderer, urls, cache) if cache is not None else None
    pages: dict[str, StagedPage] = {}
    unpublished: list[tuple[str, str]] = []
    for src, planned in plan.pages.items():
        url = urls[src]

        def resolve(target: str, url: str = url) -> str | None:
            found = urls.get(target)
            return None if found is None else render.relative_url(found, url)

        out = (cached.render(planned.markdown, src, url) if cached is not None
               else renderer.render(planned.markdown, src, url, urls.get))
        unpublished += [(src, target) for target in out.unpublished]
        if planned.view is not None:
            title_id = _free_id(slugify(planned.title, "-") or "title",
                                {h.id for h in out.headings})
            body = site.chapter_html(planned, out.html, resolve, permalink, title_id)
            headings = [render.Heading(1, title_id, planned.title),
                        *(render.Heading(max(h.level, 2), h.id, h.title) for h in out.headings),
                        *(render.Heading(2, i, t) for i, t in site.chapter_headings(planned))]
        else:
            body = out.html + (SEARCH_MOUNT if src == site.SEARCH_PAGE else "")
            headings = out.headings
        pages[src] = StagedPage(src, url, planned.title, planned.description, planned.tags,
                                body, headings=headings, chapter=planned.chapter)
    if tags_page:
        pages[site.TAGS_PAGE] = StagedPage(site.TAGS_PAGE, urls[site.TAGS_PAGE], "Tags",
                                           markdown="# Tags\n\n<!-- material/tags -->\n")
    files = {src: _page_file(page) for src, page in pages.items()}
    search_url = urls.get(site.SEARCH_PAGE, "")
    files[SEARCH_SCRIPT] = (_WEB / "search.js").read_bytes().replace(
        b'"__BOK_SEARCH_PAGE__"', json.dumps(search_url).encode())
    files[STYLESHEET] = (_WEB / "bok.css").read_bytes()
    written = write_tree(folder, files)
    if cache is not None:
        cache.prune(_RENDER)
    return Stage(folder, pages, _nav(plan), set(files), unpublished, written)


_RENDER = "render"


class _Renders:
    """Renders through the cache: the key is everything the rendered HTML depends on."""

    def __init__(self, renderer: render.Renderer, urls: dict[str, str], cache: caching.Cache):
        self.renderer, self.urls, self.cache = renderer, urls, cache
        self.context = caching.digest(
            caching.code_fingerprint([render, sanitize]),
            caching.config_fingerprint(renderer.settings),
            json.dumps(urls, sort_keys=True))

    def render(self, markdown: str, src: str, url: str) -> render.Rendered:
        key = caching.digest(self.context, src, url, markdown)
        found = self.cache.get(_RENDER, key)
        if found is not None:
            try:
                return render.Rendered(found["html"], [render.Heading(*h) for h in
                                                       found["headings"]], found["unpublished"])
            except (KeyError, TypeError):
                pass  # not an entry of this format: rendered again
        out = self.renderer.render(markdown, src, url, self.urls.get)
        self.cache.put(_RENDER, key, {"html": out.html, "unpublished": out.unpublished,
                                      "headings": [[h.level, h.id, h.title]
                                                   for h in out.headings]})
        return out


def _page_file(page: StagedPage) -> bytes:
    """The staged file: front matter with escaped text (no engine escapes it), then the body."""
    meta: dict = {} if page.src_uri == "index.md" else {"title": sanitize.clean_text(page.title)}
    if page.description:
        meta["description"] = sanitize.clean_text(page.description)
    if page.tags:
        meta["tags"] = [sanitize.clean_text(t) for t in page.tags]
    front = "".join(f"{key}: {json.dumps(value, ensure_ascii=False)}\n"
                    for key, value in meta.items())
    if page.html is None:
        body = page.markdown
    else:
        body = f'<div class="bok-page">\n{_inert(page.html)}\n</div>\n'
    # no empty front matter: Zensical refuses '---' twice (it wants one YAML document)
    return (f"---\n{front}---\n{body}" if front else body).encode()


def _free_id(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted_1``, ``wanted_2``... if a heading of the body has it already."""
    ident, n = wanted, 0
    while ident in taken:
        n += 1
        ident = f"{wanted}_{n}"
    return ident


def _nav(plan: site.SitePlan) -> list:
    """The navigation: the home page, then each domain with its chapters in the domain's order.
    Member pages, the search page and the tags index are reached from the pages themselves, so
    a page's navigation does not grow with the registry."""
    nav: list = []
    if "index.md" in plan.pages:
        nav.append({"Home": "index.md"})
    for domain in plan.domains:
        entries: list = [f"{domain.id}/index.md"]
        for src in domain.chapters:
            entries.append({sanitize.clean_text(plan.pages[src].title): src})
        nav.append({sanitize.clean_text(domain.title): entries})
    return nav


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_tree(folder: Path, files: dict[str, bytes]) -> int:
    """Make ``folder`` hold exactly ``files``: write what changed, remove what bok staged
    before and no longer stages. Return how many files were written."""
    manifest_path = folder / MANIFEST
    if folder.is_symlink():
        raise BokError(f"{folder} is a symbolic link; bok stages the site there itself. "
                       "Remove the link.")
    if folder.exists() and not manifest_path.is_file() and any(folder.iterdir()):
        raise BokError(f"{folder} holds files bok did not stage; bok writes the published "
                       "book there. Move them elsewhere, then build again.")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        before = json.loads(manifest_path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        before = {}
    written = 0
    now = {}
    for rel, data in files.items():
        now[rel] = digest = _digest(data)
        target = folder / rel
        if before.get(rel) == digest and target.is_file() and not target.is_symlink():
            continue
        _refuse_links(folder, rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)
        written += 1
    for rel in set(before) - set(now):
        stale = folder / rel
        if stale.is_file() and not stale.is_symlink():
            stale.unlink()
    _remove_strays(folder, set(now))
    manifest_path.write_text(json.dumps({"made_by": "bok", "files": now}, indent=0,
                                        sort_keys=True), encoding="utf-8")
    return written


def _refuse_links(folder: Path, rel: str) -> None:
    current = folder
    for part in rel.split("/"):
        current = current / part
        if current.is_symlink():
            current.unlink()  # never write through a link someone put into bok's folder


def _remove_strays(folder: Path, keep: set[str]) -> None:
    """Whatever else is in the staged folder was not put there by this staging: remove it,
    so no engine publishes it (the folder is bok's, see :func:`write_tree`)."""
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
        base = Path(dirpath)
        for name in filenames:
            rel = (base / name).relative_to(folder).as_posix()
            if rel != MANIFEST and rel not in keep:
                (base / name).unlink()
        for name in dirnames:
            path = base / name
            if path.is_symlink():
                path.unlink()
            elif not any(path.iterdir()):
                path.rmdir()
