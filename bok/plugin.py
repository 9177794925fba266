"""The MkDocs plugin: thin glue between MkDocs' build events and bok's staged book.

* ``on_config``: load the book, verify its records, read the Git history once (while the book
  loads), plan the site (:mod:`bok.site`), render and stage it (:mod:`bok.stage`) into the
  ``docs_dir`` (``.bok/stage/``), and give MkDocs the navigation bok decided. Material's own
  search is switched off; bok's search script and stylesheet (staged files) are loaded instead.
* ``on_files``: keep only the files this staging wrote and the theme's own assets (nothing
  else of the repository is ever in the site).
* ``on_page_markdown`` / ``on_page_content``: a staged page's content is finished HTML, so
  MkDocs renders nothing: the page gets bok's HTML, title, description, tags and table of
  contents, all escaped or sanitized by bok.
* ``on_serve``: a preview watches ``content/`` and ``reviews/`` (not the staged folder, which
  bok writes). Its rebuilds are dirty (``bok serve``): rendered pages and checked signatures
  come from :mod:`bok.cache`, staged files are rewritten only when their bytes change, and
  MkDocs lays out only the pages whose staged file changed, unless the navigation or
  ``mkdocs.yml`` changed (then every page). Its search index is written after the pages.
* the search index (:class:`bok.pagefind.SearchBuild`) is started in ``on_config``, before
  the book is staged: Pagefind indexes each chapter page as it is composed (the unchanged
  pages of the last build even before), on another core, while bok stages and MkDocs lays
  the pages out; ``on_post_build`` (or ``bok build``, once it has checked the pages) waits
  for it and moves it into the site's ``pagefind/``.

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

import functools
import html
import os
import shutil
import sys
import threading
from pathlib import Path

import jinja2
import jinja2.bccache
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import Files
from mkdocs.structure.toc import AnchorLink, TableOfContents

from . import (
    building,
    model,
    pagefind,
    pagereuse,
    render,
    sanitize,
    site,
    siteconfig,
    stage,
)
from . import cache as caching
from .errors import BokError
from .model import SITE_CONFIG
from .trees import WorkTree

log = get_plugin_logger(__name__)

class BokConfig(base.Config):
    history = c.Type(bool, default=True)
    """Show each chapter's revision history, read from Git; false builds without it."""
    engine = c.Choice(model.ENGINES, default=model.DEFAULT_ENGINE)
    """The engine ``bok build`` lays the site out with (``bok build --engine`` overrides it);
    read by bok, not by MkDocs: the plugin runs only where MkDocs (or ProperDocs) builds."""
    cache = c.Type(bool, default=True)
    """Keep rendered pages and checked signatures in .bok/cache/, so a rebuild redoes only
    what changed (and takes unchanged laid-out pages from the site it replaces); false
    renders, verifies and lays out everything on every build."""
    drafts = c.Deprecated(message="'drafts' under the bok plugin is no longer read: a drafts "
                                  "preview is 'bok build --drafts' or 'bok serve --drafts', "
                                  "never the published site's configuration")


class BokPlugin(BasePlugin[BokConfig]):
    supports_multiple_instances = False

    def __init__(self) -> None:
        self.plan: site.SitePlan | None = None
        self.staged: stage.Stage | None = None
        self.root: Path | None = None
        self.search: pagefind.SearchBuild | None = None
        self._search_recorded: pagefind.Recorded | None = None  # the last build's index
        self._finished_search: pagefind.SearchBuild | None = None
        #: Set by ``bok build``, which calls :meth:`finish_search` after checking the pages.
        self.finish_search_later = False
        self.language = "en"  # the pages' <html lang>, which Pagefind indexes by
        self.dirty = False  # a serve that rebuilds only the pages whose staged file changed
        self.layout: str | None = None  # what every page shows besides its own content
        #: Set by ``bok build``: the site this build replaces, whose unchanged pages are
        #: reused (:mod:`bok.pagereuse`); None lays out every page.
        self.previous_site: Path | None = None
        self.manifest: pagereuse.Manifest | None = None  # this build's, saved once swapped in
        self._previous: pagereuse.Manifest | None = None
        self._reused: dict[str, str] = {}  # src_uri -> the previous output of the page
        self._digests: dict[str, str] = {}  # src_uri -> page digest

    def on_startup(self, *, command, dirty: bool) -> None:
        self.dirty = dirty

    def on_config(self, config):
        self.root = Path(config.config_file_path).resolve().parent
        if Path(config.config_file_path).name in (SITE_CONFIG, *siteconfig.ENGINE_CONFIGS):
            # run directly (mkdocs build): the rules bok build applies before MkDocs reads
            # anything (hooks have run by now; the gate keeps them off main)
            stops = siteconfig.build_refusals(WorkTree(self.root))[1]
            if stops:
                raise PluginError(f"bok: {stops[0]}")
        drafts = os.environ.get("BOK_DRAFTS") == "1"
        try:
            building.check_docs_dir(self.root, Path(config.docs_dir),
                                    stage.stage_folder(self.root, drafts))
        except BokError as exc:
            raise PluginError(f"bok: {exc.message}") from None
        self.language = _language(config)
        _material_search_off(config)
        if self.dirty:  # a preview needs no sitemap, which lists every page on each rebuild
            config.theme.static_templates.discard("sitemap.xml")
        for extra, name in ((config.extra_javascript, stage.SEARCH_SCRIPT),
                            (config.extra_css, stage.STYLESHEET)):
            if name not in [str(item) for item in extra]:
                extra.append(name)
        settings = building.Settings(
            config.markdown_extensions, config.mdx_configs,
            permalink=building.permalink(config.mdx_configs.get("toc", {}).get("permalink")),
            repo_url=building.http_url(config.repo_url),
            directory_urls=config.use_directory_urls,
            tags="material/tags" in config.plugins or "tags" in config.plugins,
            history=self.config.history and os.environ.get("BOK_NO_HISTORY") != "1",
            site_name=config.site_name or "", site_url=building.http_url(config.site_url),
            cache=self.config.cache, preview=self.dirty)
        self.stop_search()
        if not self.dirty:  # a preview's index is started once its pages are written
            previous = self.previous_site if self.config.cache else None
            self.search = building.search_for(self.root, Path(config.site_dir), self.language,
                                              previous, self.config.cache).start()
        try:
            staged = building.stage_book(self.root, settings, drafts, self.search)
        except BokError as exc:
            self.stop_search()
            raise PluginError(f"bok: {exc.message}") from None
        except BaseException:
            self.stop_search()
            raise
        for warning in staged.warnings:
            log.warning(warning)
        self.plan, self.staged = staged.plan, staged.stage
        config.nav = self.staged.nav
        self._dirty_or_clean(config)
        self._plan_reuse(config, drafts)
        return config

    def _plan_reuse(self, config, drafts: bool) -> None:
        """Which pages of the previous site can be taken as they are (:mod:`bok.pagereuse`)."""
        self.manifest, self._previous, self._reused, self._digests = None, None, {}, {}
        if self.dirty or self.staged is None or not self.config.cache \
                or not pagereuse.eligible(config):
            return
        assert self.root is not None
        cache = caching.open_cache(self.root)
        if cache.folder is None:
            return
        layout = pagereuse.layout_digest(config, self.staged.pages, self.staged.nav, drafts,
                                         [pagereuse, stage, sys.modules[__name__]])
        self.manifest = pagereuse.Manifest(layout)
        if self.previous_site is not None:
            self._previous = pagereuse.Manifest.load(cache, self.previous_site)
        for src_uri, staged in self.staged.pages.items():
            if staged.html is not None:  # not the tags index, which the engine renders
                self._digests[src_uri] = pagereuse.page_digest(staged)

    def _reuse(self, page) -> None:
        """A page whose previous output is still right is laid out by an empty template and
        given those bytes in on_post_page."""
        src_uri = page.file.src_uri
        if self._previous is None or src_uri not in self._digests or self.manifest is None:
            return
        old = self._previous.reusable(self.manifest.layout, src_uri, self._digests[src_uri],
                                      Path(self.previous_site or ".") / page.file.dest_uri)
        if old is not None:
            self._reused[src_uri] = old
            page.meta["template"] = pagereuse.TEMPLATE

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
        theme_dirs = {os.path.realpath(folder) for folder in config.theme.dirs}
        for file in list(files):
            # only what this staging wrote is published, with the theme's own assets
            if file.src_uri not in self.staged.files and (
                    file.src_dir is None or os.path.realpath(file.src_dir) not in theme_dirs):
                files.remove(file)
        return files

    def _staged(self, page) -> stage.StagedPage | None:
        return self.staged.pages.get(page.file.src_uri) if self.staged else None

    def on_page_read_source(self, page, config):
        """A finished page is not read back: bok hands MkDocs its content and metadata in
        the events below (MkDocs would parse the staged file's front matter for nothing)."""
        staged = self._staged(page)
        return "" if staged is not None and staged.html is not None else None

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
        self._reuse(page)
        if staged.html is None:
            return markdown
        # a finished page: MkDocs has nothing to render (on_page_content puts it in), so it
        # need not set up Markdown with every extension for it either
        page.render = functools.partial(_rendered_by_bok, page)
        return ""

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
        if self.dirty:  # a preview compiles the theme's templates once, not on every edit
            env.bytecode_cache = _TEMPLATES
        if self._reused:
            env.loader = jinja2.ChoiceLoader(
                [jinja2.DictLoader({pagereuse.TEMPLATE: ""}), env.loader])
        return env

    def on_post_page(self, output, page, config):
        src_uri = page.file.src_uri
        output = self._reused.get(src_uri, output)
        if self.manifest is not None and src_uri in self._digests:
            self.manifest.pages[src_uri] = (self._digests[src_uri],
                                            pagereuse.output_digest(output))
        return output

    def save_manifest(self, site_dir: Path) -> None:
        """Record the pages and the search index of the site just swapped in at
        ``site_dir``, for the next build."""
        if self.manifest is not None and self.root is not None:
            self.manifest.save(caching.open_cache(self.root), site_dir)
        if self.config.cache and self.root is not None and self._finished_search is not None:
            building.save_search(self.root, site_dir, self._finished_search)

    @property
    def reused(self) -> set[str]:
        """The pages taken from the previous site in this build (by ``src_uri``): their bytes
        passed :mod:`bok.verify` when that site was built, from the same staged page."""
        return set(self._reused)

    def on_post_build(self, config):
        if self._reused:
            log.info(f"{len(self._reused)} unchanged pages taken from the site this build "
                     "replaces")
        if self.dirty and self.staged is not None:
            # a preview: its pages are served now, the search index follows a few seconds
            # later; the next rebuild (or the end of the preview) stops it if it is not done
            self.stop_search()
            self.search = pagefind.SearchBuild(Path(config.site_dir), self.language,
                                               Path(config.site_dir),
                                               self._search_recorded).start()
            for page in self.staged.search_pages():
                stage.index_page(self.search.add, page)
            self.search.done()
            threading.Thread(target=self._finish_quietly, args=(self.search,), daemon=True,
                             name="bok-search-preview").start()
            return
        if not self.finish_search_later:
            self.finish_search()

    def finish_search(self) -> None:
        """Wait for the search index and put it into the site (``bok build`` calls this once
        it has checked the pages, while Pagefind still writes)."""
        search, self.search = self.search, None
        if search is None:
            return
        try:
            search.finish()
        except BokError as exc:
            raise PluginError(f"bok: {exc.message}") from None
        finally:
            search.close()
        self._search_recorded = search.recorded
        self._finished_search = search

    def _finish_quietly(self, search: pagefind.SearchBuild) -> None:
        try:
            search.finish()
        except BokError as exc:  # stopped by a newer rebuild, or failed: the preview goes on
            log.info(f"the preview's search index was not written: {exc.message}")
        else:
            self._search_recorded = search.recorded

    def on_build_error(self, error):
        self.stop_search()

    def on_shutdown(self):
        self.stop_search()

    def stop_search(self) -> None:
        if self.search is not None:
            self.search.close()
            self.search = None


class _CompiledTemplates(jinja2.BytecodeCache):
    """The theme's templates as Jinja compiled them, in this process, by template and source
    digest (Jinja compares the digest of the source before it uses an entry)."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _CompiledTemplates()


def _rendered_by_bok(page, config, files) -> None:
    """What MkDocs' ``Page.render`` makes of the empty Markdown bok hands it for a finished
    page, without a Markdown instance per page (about 1.5 ms each)."""
    page.content, page.toc = "", TableOfContents([])
    page._title_from_render = None
    page.present_anchor_ids = set()


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
    return building.language(value or config.theme.get("language") or config.theme.get("locale"))
