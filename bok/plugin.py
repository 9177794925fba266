"""The MkDocs plugin: thin glue between MkDocs' build events and bok's staged book.

* ``on_config``: load the book, verify its records, read the Git history once (while the book
  loads), plan the site (:mod:`bok.site`), render and stage it (:mod:`bok.stage`) into the
  ``docs_dir`` (``.bok/stage/``), and give MkDocs the navigation bok decided. Material's own
  search is switched off; bok's search script and stylesheet (staged files) are loaded instead.
* ``on_files``: keep only the files this staging wrote (nothing else of the repository is ever
  in the site); start Pagefind and give it every chapter page, which it indexes on another
  core while MkDocs lays the pages out.
* ``on_page_markdown`` / ``on_page_content``: a staged page's content is finished HTML, so
  MkDocs renders nothing: the page gets bok's HTML, title, description, tags and table of
  contents, all escaped or sanitized by bok.
* ``on_serve``: a preview watches ``content/`` and ``reviews/`` (not the staged folder, which
  bok writes). Its rebuilds are dirty (``bok serve``): rendered pages and checked signatures
  come from :mod:`bok.cache`, staged files are rewritten only when their bytes change, and
  MkDocs lays out only the pages whose staged file changed, unless the navigation or
  ``mkdocs.yml`` changed (then every page). Its search index is written after the pages.
* ``on_env`` (every page's content is done): Pagefind writes the index into the site's
  ``pagefind/`` while MkDocs renders the templates; ``on_post_build`` waits for it.

Search. The site is searched with `Pagefind <https://pagefind.app>`_, not with Material's
``search`` plugin: Pagefind splits its index into small chunks, so a reader's first query
downloads about 200 KB whatever the size of the book, where Material's search fetches one
index of every page (6 MB at 1,000 chapters). Only chapter pages are indexed, and of them only
the region bok marks ``data-pagefind-body`` (title, banners, body, review notes; not the
attribution's text, the revision history, nor the navigation); pages bok does not publish do
not exist, so they cannot be found. The search page (``search/``) mounts Pagefind's UI with
filters for domain, type, author and state, and a search box in the header leads there ("/"
focuses it). A book whose mkdocs.yml still lists ``search`` builds as before: bok switches
Material's search plugin off (``enabled: false``) rather than fail.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import Files
from mkdocs.structure.toc import AnchorLink, TableOfContents

from . import cache as caching
from . import clock, history, publish, render, sanitize, site, stage
from .errors import BokError
from .gate import evaluate_book
from .loading import load_book, rules_problems
from .revisions import earlier_endorsed
from .trees import WorkTree

log = get_plugin_logger(__name__)

SHALLOW_FIX = ("this is a shallow clone, so revision history, dates and authors would be wrong. "
               "Fetch the whole history (actions/checkout with fetch-depth: 0, or "
               "'git fetch --unshallow'), or build without history (bok build --no-history, "
               "or 'history: false' under the bok plugin in mkdocs.yml)")
#: The folder Pagefind writes its index to, in the site.
PAGEFIND_DIR = "pagefind/"
_LANG = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")


class BokConfig(base.Config):
    history = c.Type(bool, default=True)
    """Show each chapter's revision history, read from Git; false builds without it."""
    cache = c.Type(bool, default=True)
    """Keep rendered pages and checked signatures in .bok/cache/, so a rebuild redoes only
    what changed; false renders and verifies everything on every build."""
    drafts = c.Deprecated(message="'drafts' under the bok plugin is no longer read: a drafts "
                                  "preview is 'bok build --drafts' or 'bok serve --drafts', "
                                  "never the published site's configuration")


class BokPlugin(BasePlugin[BokConfig]):
    supports_multiple_instances = False

    def __init__(self) -> None:
        self.plan: site.SitePlan | None = None
        self.staged: stage.Stage | None = None
        self.root: Path | None = None
        self.search: publish.SearchIndex | None = None
        self.language = "en"  # the pages' <html lang>, which Pagefind indexes by
        self.dirty = False  # a serve that rebuilds only the pages whose staged file changed
        self.layout: str | None = None  # what every page shows besides its own content

    def on_startup(self, *, command, dirty: bool) -> None:
        self.dirty = dirty

    def on_config(self, config):
        self.root = Path(config.config_file_path).resolve().parent
        drafts = os.environ.get("BOK_DRAFTS") == "1"
        expected = stage.stage_folder(self.root, drafts)
        docs = Path(config.docs_dir).resolve()
        if docs != expected.resolve():
            shown = docs.relative_to(self.root) if docs.is_relative_to(self.root) else docs
            raise PluginError(
                f"bok: mkdocs.yml must set 'docs_dir: {stage.STAGE}' (it is {shown}): bok "
                "stages the endorsed book there; an engine pointed at content/ would publish "
                "chapters nobody endorsed")
        refused = render.refused(config.markdown_extensions)
        if refused:
            name, why = refused[0]
            raise PluginError(f"bok: mkdocs.yml: markdown extension '{name}' cannot be used: "
                              f"{why}. Remove it from markdown_extensions.")
        renderer = render.Renderer(config.markdown_extensions, config.mdx_configs)
        permalink = _permalink(config.mdx_configs.get("toc", {}).get("permalink"))
        self.language = _language(config)
        _material_search_off(config)
        for extra, name in ((config.extra_javascript, stage.SEARCH_SCRIPT),
                            (config.extra_css, stage.STYLESHEET)):
            if name not in [str(item) for item in extra]:
                extra.append(name)
        with_history = self.config.history and os.environ.get("BOK_NO_HISTORY") != "1"
        today = clock.today()
        # Git reads the history while Python loads the book: the two overlap.
        with ThreadPoolExecutor(max_workers=1) as pool:
            reading = pool.submit(history.read_history, self.root) if with_history else None
            cache = caching.open_cache(self.root) if self.config.cache else caching.Cache(None)
            book = load_book(WorkTree(self.root))
            hist = reading.result() if reading is not None else None
        for finding in rules_problems(book)[:1]:  # nothing can be judged: stop, with the cause
            raise PluginError(f"bok: {finding}")
        for finding in book.findings:
            if finding.is_error:
                log.warning(str(finding))
        if hist is not None and hist.shallow:
            raise PluginError(f"bok: {SHALLOW_FIX}")
        statuses, verifications = evaluate_book(book, today,
                                                earlier=earlier_endorsed(self.root, hist),
                                                signer=caching.cached_signer(cache))
        cache.prune("signature")
        tags = "material/tags" in config.plugins or "tags" in config.plugins
        self.plan = site.plan_site(self.root, book, statuses, verifications, hist, today,
                                   drafts=drafts, repo_url=_http_url(config.repo_url),
                                   theme_tags=tags)
        try:
            self.staged = stage.stage_site(self.root, self.plan, renderer, drafts,
                                           config.use_directory_urls, permalink, tags, cache)
        except BokError as exc:
            raise PluginError(f"bok: {exc.message}") from None
        for page, target in self.staged.unpublished_links:
            log.warning(f"content/{page}: the link to '{target}' reaches no published page; "
                        "readers see its text without a link")
        config.nav = self.staged.nav
        self._dirty_or_clean(config)
        return config

    def _dirty_or_clean(self, config) -> None:
        """In a dirty serve, MkDocs rebuilds only pages whose staged file is newer than their
        output; that is right while the navigation and the configuration stay as they were.
        When either changed, every page shows it: the site is emptied, so all are rebuilt."""
        layout = caching.digest(repr(self.staged.nav if self.staged else None),
                                Path(config.config_file_path).read_bytes())
        if self.dirty and self.layout is not None and layout != self.layout:
            site_dir = Path(config.site_dir)
            for entry in site_dir.iterdir() if site_dir.is_dir() else ():
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        self.layout = layout

    def on_files(self, files: Files, config) -> Files:
        assert self.staged is not None
        for file in list(files):
            if file.src_uri not in self.staged.files:
                files.remove(file)  # only what this staging wrote is published
        self._stop_search()
        try:
            self.search = publish.SearchIndex()
        except BokError as exc:
            raise PluginError(f"bok: {exc.message}") from None
        # Every chapter page's content is final: Pagefind indexes them on another core while
        # MkDocs lays them out (a dirty rebuild lays out only some, the index needs all).
        for page in self.staged.pages.values():
            if page.chapter is not None and page.html is not None:
                self.search.add("/" + page.url, f'<!DOCTYPE html><html lang="{self.language}">'
                                                f"<head></head><body>{page.html}</body></html>")
        return files

    def _staged(self, page) -> stage.StagedPage | None:
        return self.staged.pages.get(page.file.src_uri) if self.staged else None

    def on_page_markdown(self, markdown, page, config, files):
        staged = self._staged(page)
        if staged is None:
            return markdown
        # the home page's <title> is the site's name alone (not "Home - Site")
        page.meta = {} if staged.src_uri == "index.md" else {
            "title": sanitize.clean_text(staged.title)}
        if staged.description:
            page.meta["description"] = sanitize.clean_text(staged.description)
        if staged.tags:
            page.meta["tags"] = [sanitize.clean_text(t) for t in staged.tags]
        # a finished page: MkDocs has nothing to render (on_page_content puts it in)
        return markdown if staged.html is None else ""

    def on_page_content(self, html, page, config, files):
        staged = self._staged(page)
        if staged is None or staged.html is None:
            return html
        page.toc = _toc(staged.headings)
        return staged.html

    def on_serve(self, server, config, builder):
        """Watch what bok stages from (content/, reviews/), not the staged folder: bok
        writes that folder itself, and a rebuild for each of its writes would never settle."""
        assert self.root is not None
        server.unwatch(config.docs_dir)
        for folder in ("content", "reviews"):
            if (self.root / folder).is_dir():
                server.watch(str(self.root / folder))
        return server

    def on_env(self, env, config, files):
        """Every page's content is ready: Pagefind writes the index while MkDocs renders."""
        if self.search is not None:
            self.search.write(Path(config.site_dir) / PAGEFIND_DIR)
        return env

    def on_post_build(self, config):
        if self.search is None:
            return
        if self.dirty:
            # a preview: its pages are served now, the search index follows a few seconds
            # later; the next rebuild (or the end of the preview) stops it if it is not done
            threading.Thread(target=_finish_quietly, args=(self.search,), daemon=True,
                             name="bok-search-preview").start()
            return
        search, self.search = self.search, None
        try:
            search.finish()
        except BokError as exc:
            raise PluginError(f"bok: {exc.message}") from None

    def on_build_error(self, error):
        self._stop_search()

    def on_shutdown(self):
        self._stop_search()

    def _stop_search(self) -> None:
        if self.search is not None:
            self.search.close()
            self.search = None


def _finish_quietly(search: publish.SearchIndex) -> None:
    try:
        search.finish()
    except BokError as exc:  # stopped by a newer rebuild, or failed: the preview goes on
        log.info(f"the preview's search index was not written: {exc.message}")


def _http_url(url: str | None) -> str | None:
    """Only an http(s) URL may reach a page (a 'javascript:' repo_url would be a link)."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _toc(headings: list[render.Heading]) -> TableOfContents:
    """The table of contents MkDocs' theme shows, from the headings bok rendered."""
    top: list[AnchorLink] = []
    stack: list[AnchorLink] = []
    for heading in headings:
        item = AnchorLink(html.escape(heading.title), heading.id, heading.level)
        while stack and stack[-1].level >= heading.level:
            stack.pop()
        (stack[-1].children if stack else top).append(item)
        stack.append(item)
    return TableOfContents(top)


def _material_search_off(config) -> None:
    """Switch off Material's search plugin if mkdocs.yml still lists it: Pagefind replaces it."""
    for name in ("material/search", "search"):
        plugin = config.plugins.get(name)
        if plugin is not None and "enabled" in plugin.config and plugin.config.enabled:
            plugin.config.enabled = False
            log.info("Material's search plugin is switched off: bok indexes the site with "
                     "Pagefind. Remove 'search' from the plugins in mkdocs.yml.")


def _language(config) -> str:
    """The language the theme writes in ``<html lang>``: Pagefind keeps an index per language
    and the search page asks for the one of its own ``lang``."""
    value = None
    if config.theme.name == "material":  # as Material's search plugin reads it
        try:
            template = config.theme.get_env().get_template("partials/language.html", None,
                                                           {"config": config})
            value = template.module.t("language")
        except Exception:  # a theme override without the partial: fall back below
            value = None
    value = str(value or config.theme.get("language") or config.theme.get("locale") or "en")
    return value if _LANG.fullmatch(value) else "en"


def _permalink(setting) -> str | None:
    """The symbol the toc extension puts after headings (its ``permalink``), or None."""
    if setting is True:
        return "¶"
    return setting if isinstance(setting, str) and setting else None
