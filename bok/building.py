"""From the book to the staged tree: what every engine runs before it lays out a page.

The MkDocs plugin (``on_config``) and the Zensical engine call :func:`stage_book` with the
settings each reads from ``mkdocs.yml`` (:class:`Settings`), so both publish the same pages:
the book loaded strictly, its records verified, its history read once, the site planned
(:mod:`bok.site`) and rendered, sanitized and staged (:mod:`bok.stage`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache as caching
from . import clock, history, model, pagefind, render, site, stage
from .errors import BokError
from .loading import Remembered, load_book, remembering, rules_problems
from .policy import evaluate_book
from .revisions import earlier_endorsed
from .trees import LINK, WorkTree

SHALLOW_FIX = ("this is a shallow clone, so revision history, dates and authors would be wrong. "
               "Fetch the whole history (actions/checkout with fetch-depth: 0, or "
               "'git fetch --unshallow'), or build without history (bok build --no-history, "
               "or 'history: false' under the bok plugin in mkdocs.yml)")

_LANG = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")


@dataclass(frozen=True)
class Settings:
    """What staging needs of the site's configuration, whichever engine read it."""

    extensions: list[Any]  # the Markdown extensions, as MkDocs lists them (names or objects)
    extension_configs: dict[str, Any]
    permalink: str | None = None  # the toc extension's heading anchor symbol
    repo_url: str | None = None  # http(s) only
    directory_urls: bool = True
    tags: bool = False  # the theme's tags plugin is on: stage its index page
    history: bool = True
    #: Relative links as the engine reads them: from the page's URL (MkDocs, which hands bok's
    #: HTML to the theme untouched) or from the staged file's folder (Zensical rewrites them).
    links_from_source: bool = False
    site_name: str = ""  # mkdocs.yml's: the Atom feed's title
    site_url: str | None = None  # http(s) only: the feed's links are absolute with it
    cache: bool = True  # keep rendered pages and checked signatures in .bok/cache/
    preview: bool = False  # a preview process (bok serve), which stages on every edit


@dataclass
class StagedBook:
    plan: site.SitePlan
    stage: stage.Stage
    warnings: list[str] = field(default_factory=list)


def stage_book(root: Path, settings: Settings, drafts: bool,
               search: pagefind.SearchBuild | None = None) -> StagedBook:
    """Load, judge, plan, render and stage the book at ``root``, giving ``search`` each page
    to index as it is composed; raise :class:`BokError` when nothing can be judged (the
    registry or policy does not load), in a shallow clone with history, or when the staged
    folder is not bok's."""
    refused = render.refused(settings.extensions)
    if refused:
        name, why = refused[0]
        raise BokError(f"mkdocs.yml: markdown extension '{name}' cannot be used: {why}. "
                       "Remove it from markdown_extensions.")
    renderer = render.Renderer(settings.extensions, settings.extension_configs)
    today = clock.today()
    # Git reads the history while Python loads the book: the two overlap.
    with ThreadPoolExecutor(max_workers=1) as pool:
        reading = pool.submit(history.read_history, root) if settings.history else None
        cache = caching.open_cache(root) if settings.cache else caching.Cache(None)
        with remembering(Remembered.from_kept(cache.get(_SCAN, _LOADED))) as memory:
            book = load_book(WorkTree(root))
        cache.put(_SCAN, _LOADED, memory.kept())
        hist = reading.result() if reading is not None else None
    for finding in rules_problems(book)[:1]:  # nothing can be judged: stop, with the cause
        raise BokError(str(finding))
    warnings = [str(f) for f in book.findings if f.is_error]
    if hist is not None and hist.shallow:
        raise BokError(SHALLOW_FIX)
    signer = caching.CachedSigner(cache)
    statuses, verifications = evaluate_book(book, today, earlier=earlier_endorsed(root, hist),
                                            signer=signer)
    signer.save()
    plan = site.plan_site(root, book, statuses, verifications, hist, today, drafts=drafts,
                          repo_url=settings.repo_url, theme_tags=settings.tags)
    staged = stage.stage_site(root, plan, renderer, drafts, settings.directory_urls,
                              settings.permalink, settings.tags,
                              links_from_source=settings.links_from_source,
                              site_name=settings.site_name, site_url=settings.site_url,
                              cache=cache, in_memory=settings.preview,
                              on_page=search.add if search is not None else None)
    if search is not None:
        search.done()
    warnings += [f"content/{page}: the link to '{target}' reaches no published page; readers "
                 "see its text without a link" for page, target in staged.unpublished_links]
    return StagedBook(plan, staged, warnings)


_SCAN, _LOADED = "scan", "loaded"
_SEARCH, _INPUTS = "search", "inputs"


def search_recorded(root: Path, site: Path | None) -> pagefind.Recorded | None:
    """What the search index of ``site`` was built from (recorded by :func:`save_search`),
    so a rebuild of the same pages copies it."""
    if site is None:
        return None
    found = caching.open_cache(root).get(_SEARCH, caching.digest("site", str(site)))
    if isinstance(found, list) and len(found) == 2 and all(isinstance(x, str) for x in found):
        return (found[0], found[1])
    return None


def search_earlier(root: Path) -> pagefind.Earlier:
    """The pages the last build of this book indexed, with the digests of their sources."""
    found = caching.open_cache(root).get(_SEARCH, _INPUTS)
    if not isinstance(found, dict):
        return {}
    return {url: (entry[0], entry[1], entry[2]) for url, entry in found.items()
            if isinstance(entry, list) and len(entry) == 3
            and all(isinstance(part, str) for part in entry)}


def save_search(root: Path, site: Path, search: pagefind.SearchBuild) -> None:
    """Record what the search index swapped in at ``site`` was built from, for the next
    build (see :class:`bok.pagefind.SearchBuild`)."""
    if search.recorded is not None:
        caching.open_cache(root).put(_SEARCH, caching.digest("site", str(site)),
                                     list(search.recorded))


def _keep_inputs(root: Path) -> Callable[[pagefind.Earlier], None]:
    def keep(inputs: pagefind.Earlier) -> None:
        if inputs:
            caching.open_cache(root).put(_SEARCH, _INPUTS,
                                         {url: list(entry) for url, entry in inputs.items()})
    return keep


def search_for(root: Path, site: Path, language: str, previous: Path | None,
               cache: bool = True) -> pagefind.SearchBuild:
    """The search index of a build of the book at ``root`` into ``site``, which replaces
    ``previous``: it starts with the pages of the last build whose sources did not change,
    and takes the previous index when no page changed (with ``cache`` false, neither)."""
    if not cache:
        return pagefind.SearchBuild(site, language)
    return pagefind.SearchBuild(site, language, previous, search_recorded(root, previous),
                                search_earlier(root), sources(root), _keep_inputs(root))


def sources(root: Path) -> pagefind.Sources:
    """The digest of a chapter's sources as they are now: its file and its records (what a
    chapter page is made of, besides the registry, the policy and the rest of the book,
    which the search index checks page by page anyway)."""
    tree = WorkTree(root)

    def digest(chapter: str) -> str:
        folder = model.record_path(chapter, "x").rsplit("/", 1)[0]
        if LINK in (tree.kind(chapter), tree.kind(folder)):
            return "a link"  # never followed; the loader reports it, and no guess matches
        h = caching.Digest()
        h.update(chapter, tree.read(chapter) or b"")
        for entry in tree.walk(folder):
            h.update(entry.path, tree.read(entry.path) or b"")
        return h.hexdigest()

    return digest


def check_docs_dir(root: Path, docs_dir: Path, expected: Path) -> None:
    """The engine must read bok's staged folder, never ``content/``."""
    docs = (root / docs_dir).resolve()
    if docs != expected.resolve():
        shown = docs.relative_to(root) if docs.is_relative_to(root) else docs
        raise BokError(f"mkdocs.yml must set 'docs_dir: {stage.STAGE}' (it is {shown}): bok "
                       "stages the endorsed book there; an engine pointed at content/ would "
                       "publish chapters nobody endorsed")


def language(value) -> str:
    """The language the pages declare (``<html lang>``), as Pagefind indexes them: ``value``
    if it is a language tag, else ``en``."""
    value = str(value or "en")
    return value if _LANG.fullmatch(value) else "en"


def http_url(url: str | None) -> str | None:
    """Only an http(s) URL may reach a page (a 'javascript:' repo_url would be a link)."""
    return url if isinstance(url, str) and url.lower().startswith(("https://", "http://")) \
        else None


def permalink(setting) -> str | None:
    """The symbol the toc extension puts after headings (its ``permalink``), or None."""
    if setting is True:
        return "¶"
    return setting if isinstance(setting, str) and setting else None
