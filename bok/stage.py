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
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from markdown.extensions.toc import slugify

from . import cache as caching
from . import document, feed, render, sanitize, site
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
#: (fenced code, tab expansion, Zensical's link check): written as character references, which
#: read the same.
_INERT = (("`", "&#96;"), ("~", "&#126;"), ("\t", "&#9;"), ("[", "&#91;"))


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
    links_from: str = ""  # the URL its relative links were written from (url, or its file's)
    indexed: bool = True  # a retired chapter (superseded) is left out of the search index


@dataclass
class Stage:
    folder: Path
    pages: dict[str, StagedPage]
    nav: list
    files: set[str]  # every file staged (pages and assets)
    unpublished_links: list[tuple[str, str]] = field(default_factory=list)  # (page, target)
    written: int = 0  # files whose bytes changed in this staging

    def search_pages(self) -> list[StagedPage]:
        """What the search index holds, whatever the engine (see :func:`searchable`)."""
        return [page for page in self.pages.values() if searchable(page)]


def searchable(page: StagedPage) -> bool:
    """A chapter page bok rendered that readers may find (not one superseded)."""
    return page.chapter is not None and page.html is not None and page.indexed


def index_page(search: Callable[[str, str, str | None], None], page: StagedPage) -> None:
    """Give ``search`` (:meth:`bok.pagefind.SearchBuild.add`) a searchable page: its URL from
    the site's root, its HTML and its chapter."""
    if searchable(page) and page.html is not None:
        search("/" + page.url, page.html, page.chapter)


def stage_folder(root: Path, drafts: bool) -> Path:
    return root / (PREVIEW if drafts else STAGE)


def stage_site(root: Path, plan: site.SitePlan, renderer: render.Renderer, drafts: bool,
               directory_urls: bool = True, permalink: str | None = None,
               tags_page: bool = False, links_from_source: bool = False,
               site_name: str = "", site_url: str | None = None,
               cache: caching.Cache | None = None, in_memory: bool = False,
               on_page: Callable[[str, str, str | None], None] | None = None) -> Stage:
    """Render every planned page and write the staged tree; return what was staged.

    ``links_from_source``: write relative links as seen from the staged file's folder, for an
    engine that rewrites them as it would a Markdown link (Zensical), not from the page's URL.
    ``site_name`` and ``site_url`` (mkdocs.yml's) title the Atom feed and make its links
    absolute. With a ``cache``, a page whose render inputs were rendered before is not
    rendered again; ``in_memory`` (a preview, which stages on every edit) keeps them in this
    process too. ``on_page`` gets each page the search index holds (URL from the site's
    root, HTML, chapter) as soon as it is composed."""
    folder = stage_folder(root, drafts)
    urls = {src: render.page_url(src, directory_urls) for src in plan.pages}
    if tags_page:
        urls[site.TAGS_PAGE] = render.page_url(site.TAGS_PAGE, directory_urls)
    files_linked = {**urls, feed.FEED: feed.FEED}  # pages may link to the feed too
    cached = _Renders(renderer, files_linked, cache, in_memory) if cache is not None else None
    pages: dict[str, StagedPage] = {}
    unpublished: list[tuple[str, str]] = []
    # Two passes: every body is rendered first, so each chapter page can list the chapters
    # that link to it ("referenced by") when it is composed.
    bases = {src: render.page_url(src, False) if links_from_source else urls[src]
             for src in plan.pages}
    rendered = {src: (cached.render(planned.markdown, src, bases[src]) if cached is not None
                      else renderer.render(planned.markdown, src, bases[src], files_linked.get))
                for src, planned in plan.pages.items()}
    referenced_by = _referenced_by(plan, rendered)
    for src, planned in plan.pages.items():
        url, out = bases[src], rendered[src]

        def resolve(target: str, url: str = url) -> str | None:
            found = urls.get(target)
            return None if found is None else render.relative_url(found, url)

        unpublished += [(src, target) for target in out.unpublished]
        if planned.view is not None:
            title_id = _free_id(slugify(planned.title, "-") or "title",
                                {h.id for h in out.headings})
            refs = referenced_by.get(src, [])
            body = site.chapter_html(planned, out.html, resolve, permalink, title_id, refs,
                                     cached.comments if cached is not None else None)
            headings = [render.Heading(1, title_id, planned.title),
                        *(render.Heading(max(h.level, 2), h.id, h.title) for h in out.headings),
                        *(render.Heading(2, i, t)
                          for i, t in site.chapter_headings(planned, bool(refs)))]
        else:
            body = out.html + (SEARCH_MOUNT if src == site.SEARCH_PAGE else "")
            headings = out.headings
        if src != "index.md":  # the home page's own text links them
            body += site.site_links(src, resolve)
        pages[src] = staged = StagedPage(src, urls[src], planned.title, planned.description,
                                         planned.tags, body, headings=headings,
                                         chapter=planned.chapter, links_from=url,
                                         indexed=site.indexed(planned))
        if on_page is not None:
            index_page(on_page, staged)
    if tags_page:
        pages[site.TAGS_PAGE] = StagedPage(site.TAGS_PAGE, urls[site.TAGS_PAGE], "Tags",
                                           markdown="# Tags\n\n<!-- material/tags -->\n")
    files = {src: _page_file(page) for src, page in pages.items()}
    search_url = urls.get(site.SEARCH_PAGE, "")
    files[SEARCH_SCRIPT] = (_WEB / "search.js").read_bytes().replace(
        b'"__BOK_SEARCH_PAGE__"', json.dumps(search_url).encode())
    files[STYLESHEET] = (_WEB / "bok.css").read_bytes()
    files[feed.FEED] = feed.atom(plan.news, urls, site_name, site_url)
    written = write_tree(folder, files)
    if cache is not None:
        cache.prune(_RENDER)
    if cached is not None:
        cached.forget_unused()
        cached.save_comments()
    return Stage(folder, pages, _nav(plan), set(files), unpublished, written)


def _referenced_by(plan: site.SitePlan, rendered: dict[str, render.Rendered]
                   ) -> dict[str, list[tuple[str, str]]]:
    """For each chapter page, the (src, title) of the other chapter pages that link to it,
    by title."""
    found: dict[str, set[str]] = {}
    for src, out in rendered.items():
        if plan.pages[src].view is None:
            continue
        for target in out.links:
            page = plan.pages.get(target)
            if target != src and page is not None and page.view is not None:
                found.setdefault(target, set()).add(src)
    return {target: sorted(((s, plan.pages[s].title) for s in sources),
                           key=lambda item: (item[1].casefold(), item[0]))
            for target, sources in found.items()}


_RENDER, _COMMENTS = "render", "comments"
#: The pages a preview (``bok serve``) rendered, by the same keys as the cache's: it stages
#: the book again on every edit, and need not read them back from disk each time.
_RENDERED: dict[str, render.Rendered] = {}
_Rendered = render.Rendered


class _Renders:
    """Renders through the cache: the key is everything the rendered HTML depends on."""

    def __init__(self, renderer: render.Renderer, urls: dict[str, str], cache: caching.Cache,
                 in_memory: bool = False):
        self.renderer, self.urls, self.cache = renderer, urls, cache
        self.in_memory = in_memory and cache.folder is not None
        self.used: set[str] = set()
        self.comments_context = caching.code_fingerprint([site, sanitize])
        self._comments: dict[str, str] | None = None
        self._comments_before: dict[str, str] = {}
        self._comments_used: dict[str, str] = {}
        self.context = caching.digest(
            caching.code_fingerprint([render, sanitize]),
            caching.config_fingerprint(renderer.settings),
            json.dumps(urls, sort_keys=True))

    def render(self, markdown: str, src: str, url: str) -> render.Rendered:
        key = caching.digest(self.context, src, url, markdown)
        self.used.add(key)
        if self.in_memory and key in _RENDERED:
            self.cache.used.setdefault(_RENDER, set()).add(key)  # kept on disk too
            return _RENDERED[key]
        out = self._render(key, markdown, src, url)
        if self.in_memory:
            _RENDERED[key] = out
        return out

    def comments(self, text: str) -> str:
        """A reviewer's comments as HTML (:func:`bok.site.comments_html`), from one cache
        entry for the book: Markdown costs about a millisecond a comment, and a book has
        three records a chapter."""
        if self._comments is None:
            found = self.cache.get(_COMMENTS, "all")
            self._comments = found if isinstance(found, dict) else {}
            self._comments_before = dict(self._comments)
        key = caching.digest(self.comments_context, text)
        html = self._comments.get(key)
        if not isinstance(html, str):
            html = self._comments[key] = site.comments_html(text)
        self._comments_used[key] = html
        return html

    def save_comments(self) -> None:
        if self._comments is not None and self._comments_used != self._comments_before:
            self.cache.put(_COMMENTS, "all", self._comments_used)

    def forget_unused(self) -> None:
        """Keep in memory only this staging's pages (one book's worth)."""
        if self.in_memory:
            for key in set(_RENDERED) - self.used:
                del _RENDERED[key]

    def _render(self, key: str, markdown: str, src: str, url: str) -> _Rendered:
        found = self.cache.get(_RENDER, key)
        if found is not None:
            try:
                return render.Rendered(found["html"], [render.Heading(*h) for h in
                                                       found["headings"]], found["unpublished"],
                                       found["links"])
            except (KeyError, TypeError):
                pass  # not an entry of this format: rendered again
        out = self.renderer.render(markdown, src, url, self.urls.get)
        self.cache.put(_RENDER, key, {"html": out.html, "unpublished": out.unpublished,
                                      "links": out.links,
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
    front = document.front_matter(meta)
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
        if before.get(rel) == digest and _holds(target, data):
            continue  # the manifest is a hint only: a committed one could claim any file
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


def _holds(target: Path, data: bytes) -> bool:
    """Does ``target`` hold exactly ``data`` (a regular file, not a link)?"""
    if target.is_symlink() or not target.is_file():
        return False
    try:
        return target.read_bytes() == data
    except OSError:
        return False


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
