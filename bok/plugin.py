"""The MkDocs plugin: thin glue between MkDocs' build events and :mod:`bok.site`.

* ``on_config``: load the book, verify its records, read the Git history once (while the
  book loads), plan the site; switch Material's own search off and load bok's search script
  and stylesheet instead.
* ``on_files``: replace every Markdown file under content/ by the planned pages (so the site
  never sees a chapter that is not endorsed, nor front matter parsed by another parser), and
  drop anything reached through a symbolic link; start Pagefind.
* ``on_page_markdown``: give the theme the page's title, description and tags, escaped.
* ``on_page_content``: sanitize the rendered HTML; no script reaches a reader. Then add bok's
  own blocks around a chapter's body (escaped HTML made from data, see
  :func:`bok.site.chapter_html`), and the search box's mount point on the search page.
  The chapter is then final, so it goes to Pagefind, which indexes it on another core.
* ``on_env`` (every page's content is done): Pagefind writes the index into the site's
  ``pagefind/`` while MkDocs renders the templates; ``on_post_build`` waits for it.

Search. The site is searched with `Pagefind <https://pagefind.app>`_, not with Material's
``search`` plugin: Pagefind splits its index into small chunks, so a reader's first query
downloads about 200 KB whatever the size of the book, where Material's search fetches one
index of every page (6 MB at 1,000 chapters). Only chapter pages are indexed, and of them only
the region bok marks ``data-pagefind-body`` (title, banners, attribution, body, review notes;
not the revision history, nor the navigation); pages bok does not publish do not exist, so
they cannot be found. Every build indexes, ``bok build``, ``bok serve`` and ``mkdocs build``
alike (in ``bok build`` into the staging folder, before the new site replaces the old one).
The search page (``search/``) mounts Pagefind's UI with filters for domain, type, author and
state, and a search box in the header leads there ("/" focuses it). A book whose mkdocs.yml
still lists ``search`` builds as before: bok switches Material's search plugin off
(``enabled: false``) rather than fail, since two searches would double the indexing work and
the reader would get Material's 6 MB index. (MkDocs' own ``search`` plugin, for other themes,
has no such switch and is left alone.)
"""

from __future__ import annotations

import html
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from markdown.extensions.toc import slugify
from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import File, Files
from mkdocs.structure.toc import AnchorLink
from mkdocs.utils import get_relative_url

from . import clock, history, publish, sanitize, site
from .errors import BokError
from .gate import evaluate_book
from .loading import load_book, rules_problems
from .revisions import earlier_endorsed
from .trees import LINK, WorkTree

log = get_plugin_logger(__name__)

SHALLOW_FIX = ("this is a shallow clone, so revision history, dates and authors would be wrong. "
               "Fetch the whole history (actions/checkout with fetch-depth: 0, or "
               "'git fetch --unshallow'), or build without history (bok build --no-history, "
               "or 'history: false' under the bok plugin in mkdocs.yml)")


# Chapters have always been rendered with these (bok's own blocks are HTML now, but a
# book's chapters may use admonitions, attribute lists, HTML blocks and tables); toc gives ids.
REQUIRED_EXTENSIONS = ("admonition", "attr_list", "md_in_html", "tables", "toc")
#: bok's own files in the site: the search script and the stylesheet (the theme loads them on
#: every page), and the folder Pagefind writes its index to.
SEARCH_SCRIPT = "assets/bok/search.js"
STYLESHEET = "assets/bok/bok.css"
PAGEFIND_DIR = "pagefind/"
_LANG = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")
_ASSETS = Path(__file__).parent / "templates" / "web"
#: Where the search page's box goes; the search script replaces the text inside.
SEARCH_MOUNT = ('<div id="bok-search" class="bok-search" data-pagefind-ignore="all">'
                '<p class="bok-search__note">Search needs JavaScript, and the index that '
                "<code>bok build</code> makes.</p></div>\n")


class BokConfig(base.Config):
    drafts = c.Type(bool, default=False)
    """Include chapters that are not endorsed, under a 'draft, not endorsed' banner."""
    history = c.Type(bool, default=True)
    """Show each chapter's revision history, read from Git; false builds without it."""


class BokPlugin(BasePlugin[BokConfig]):
    supports_multiple_instances = False

    def __init__(self) -> None:
        self.plan: site.SitePlan | None = None
        self.root: Path | None = None
        self.permalink: str | None = None
        self.search: publish.SearchIndex | None = None
        self.language = "en"  # the pages' <html lang>, which Pagefind indexes by

    def on_config(self, config):
        self.root = Path(config.config_file_path).resolve().parent
        content = (self.root / "content").resolve()
        if Path(config.docs_dir).resolve() != content:
            raise PluginError(f"bok: mkdocs.yml must set 'docs_dir: content' "
                              f"(it is {config.docs_dir})")
        for extension in REQUIRED_EXTENSIONS:
            if extension not in config.markdown_extensions:
                config.markdown_extensions.append(extension)
        self.permalink = _permalink(config.mdx_configs.get("toc", {}).get("permalink"))
        self.language = _language(config)
        _material_search_off(config)
        if SEARCH_SCRIPT not in [str(s) for s in config.extra_javascript]:
            config.extra_javascript.append(SEARCH_SCRIPT)
        if STYLESHEET not in config.extra_css:
            config.extra_css.append(STYLESHEET)
        drafts = self.config.drafts or os.environ.get("BOK_DRAFTS") == "1"
        with_history = self.config.history and os.environ.get("BOK_NO_HISTORY") != "1"
        today = clock.today()
        # Git reads the history while Python loads the book: the two overlap.
        with ThreadPoolExecutor(max_workers=1) as pool:
            reading = pool.submit(history.read_history, self.root) if with_history else None
            book = load_book(WorkTree(self.root))
            hist = reading.result() if reading is not None else None
        for finding in rules_problems(book)[:1]:  # nothing can be judged: stop, with the cause
            raise PluginError(f"bok: {finding}")
        for finding in book.findings:
            if finding.is_error:
                log.warning(str(finding))
        if hist is not None and hist.shallow:
            raise PluginError(f"bok: {SHALLOW_FIX}")
        statuses, verifications = evaluate_book(book, today, earlier=earlier_endorsed(self.root))
        self.plan = site.plan_site(self.root, book, statuses, verifications, hist, today,
                                   drafts=drafts, repo_url=config.repo_url)
        return config

    def on_files(self, files: Files, config) -> Files:
        assert self.plan is not None and self.root is not None
        docs = WorkTree(Path(config.docs_dir))
        ours = {SEARCH_SCRIPT, STYLESHEET}
        for file in list(files):
            if file.generated_by:
                continue
            if (file.src_uri.endswith(".md") or docs.kind(file.src_uri) == LINK
                    or file.src_uri in ours or file.src_uri.startswith(PAGEFIND_DIR)):
                files.remove(file)
        for page in self.plan.pages.values():
            files.append(File.generated(config, page.src_uri, content=page.markdown))
        if "material/tags" in config.plugins or "tags" in config.plugins:
            files.append(File.generated(config, site.TAGS_PAGE,
                                        content="# Tags\n\n<!-- material/tags -->\n"))
        search_page = files.get_file_from_path(site.SEARCH_PAGE)
        script = (_ASSETS / "search.js").read_text(encoding="utf-8").replace(
            '"__BOK_SEARCH_PAGE__"', json.dumps(search_page.url if search_page else ""))
        files.append(File.generated(config, SEARCH_SCRIPT, content=script))
        files.append(File.generated(config, STYLESHEET,
                                    abs_src_path=str(_ASSETS / "bok.css")))
        self._stop_search()
        try:
            self.search = publish.SearchIndex()
        except BokError as exc:
            raise PluginError(f"bok: {exc.message}") from None
        return files

    def on_page_markdown(self, markdown, page, config, files):
        planned = self.plan.pages.get(page.file.src_uri) if self.plan else None
        if planned is not None:
            page.meta = {"title": sanitize.clean_text(planned.title)}
            if planned.description:
                page.meta["description"] = sanitize.clean_text(planned.description)
            if planned.tags:
                page.meta["tags"] = [sanitize.clean_text(t) for t in planned.tags]
        return markdown

    def on_page_content(self, html, page, config, files):
        for item in _walk_toc(page.toc):
            item.title = sanitize.clean_text(_strip_tags(item.title))
        content = sanitize.clean_html(html)
        # Added after sanitising: made here from escaped data, never from authored HTML.
        planned = self.plan.pages.get(page.file.src_uri) if self.plan else None
        if planned is None:
            return content
        if planned.src_uri == site.SEARCH_PAGE:
            return content + SEARCH_MOUNT
        if planned.view is None:
            return content
        title_id = _free_id(slugify(planned.title, "-") or "title",
                            {item.id for item in _walk_toc(page.toc)})
        content = site.chapter_html(planned, content, _resolver(page, files), self.permalink,
                                    title_id)
        _chapter_toc(page.toc, (title_id, planned.title), site.chapter_headings(planned))
        if self.search is not None:  # final: the theme only wraps it; Pagefind indexes it now
            self.search.add("/" + page.url, f'<!DOCTYPE html><html lang="{self.language}">'
                                            f"<head></head><body>{content}</body></html>")
        return content

    def on_env(self, env, config, files):
        """Every page's content is ready: Pagefind writes the index while MkDocs renders."""
        if self.search is not None:
            self.search.write(Path(config.site_dir) / PAGEFIND_DIR)
        return env

    def on_post_build(self, config):
        if self.search is None:
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


def _resolver(page, files: Files) -> site.Resolve:
    """Links from ``page`` to other pages, by their path under content/; any URL style."""
    def resolve(target: str) -> str | None:
        file = files.get_file_from_path(target)
        return None if file is None else get_relative_url(file.url, page.url)
    return resolve


def _free_id(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted_1``, ``wanted_2``... if a heading of the body has it already."""
    ident, n = wanted, 0
    while ident in taken:
        n += 1
        ident = f"{wanted}_{n}"
    return ident


def _chapter_toc(toc, title: tuple[str, str], headings: list[tuple[str, str]]) -> None:
    """The title (level 1) over the body's sections and bok's own, as the theme expects."""
    top = AnchorLink(html.escape(title[1]), title[0], 1)
    top.children = [*toc.items, *(AnchorLink(html.escape(t), i, 2) for i, t in headings)]
    toc.items = [top]


def _walk_toc(items):
    for item in items:
        yield item
        yield from _walk_toc(item.children)


def _strip_tags(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", value))
