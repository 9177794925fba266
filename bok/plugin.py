"""The MkDocs plugin: thin glue between MkDocs' build events and :mod:`bok.site`.

* ``on_config``: load the book, verify its records, read the Git history once, plan the site.
* ``on_files``: replace every Markdown file under content/ by the planned pages (so the site
  never sees a chapter that is not endorsed, nor front matter parsed by another parser), and
  drop anything reached through a symbolic link.
* ``on_page_markdown``: give the theme the page's title, description and tags, escaped.
* ``on_page_content``: sanitize the rendered HTML; no script reaches a reader.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import File, Files

from . import clock, history, sanitize, site
from .gate import evaluate_book
from .loading import load_book
from .revisions import earlier_endorsed
from .trees import WorkTree

log = get_plugin_logger(__name__)

SHALLOW_FIX = ("this is a shallow clone, so revision history, dates and authors would be wrong. "
               "Fetch the whole history (actions/checkout with fetch-depth: 0, or "
               "'git fetch --unshallow'), or build without history (bok build --no-history, "
               "or 'history: false' under the bok plugin in mkdocs.yml)")


# What the pages bok writes rely on: banners, attribution blocks, history tables, anchors.
REQUIRED_EXTENSIONS = ("admonition", "attr_list", "md_in_html", "tables", "toc")


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

    def on_config(self, config):
        self.root = Path(config.config_file_path).resolve().parent
        content = (self.root / "content").resolve()
        if Path(config.docs_dir).resolve() != content:
            raise PluginError(f"bok: mkdocs.yml must set 'docs_dir: content' "
                              f"(it is {config.docs_dir})")
        for extension in REQUIRED_EXTENSIONS:
            if extension not in config.markdown_extensions:
                config.markdown_extensions.append(extension)
        drafts = self.config.drafts or os.environ.get("BOK_DRAFTS") == "1"
        with_history = self.config.history and os.environ.get("BOK_NO_HISTORY") != "1"
        today = clock.today()
        book = load_book(WorkTree(self.root))
        for finding in book.findings:
            if finding.is_error:
                log.warning(str(finding))
        hist = None
        if with_history:
            hist = history.read_history(self.root)
            if hist.shallow:
                raise PluginError(f"bok: {SHALLOW_FIX}")
        statuses, verifications = evaluate_book(book, today, earlier=earlier_endorsed(self.root))
        self.plan = site.plan_site(self.root, book, statuses, verifications, hist, today,
                                   drafts=drafts, repo_url=config.repo_url)
        return config

    def on_files(self, files: Files, config) -> Files:
        assert self.plan is not None and self.root is not None
        docs = Path(config.docs_dir)
        for file in list(files):
            if file.generated_by:
                continue
            if file.src_uri.endswith(".md") or _through_link(docs, file.src_uri):
                files.remove(file)
        for page in self.plan.pages.values():
            files.append(File.generated(config, page.src_uri, content=page.markdown))
        if "material/tags" in config.plugins or "tags" in config.plugins:
            files.append(File.generated(config, site.TAGS_PAGE,
                                        content="# Tags\n\n<!-- material/tags -->\n"))
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
        return sanitize.clean_html(html)


def _through_link(docs: Path, src_uri: str) -> bool:
    """Is the file, or a folder on its way, a symbolic link? Then it is never published."""
    path = docs
    for part in src_uri.split("/"):
        path = path / part
        if path.is_symlink():
            return True
    return False


def _walk_toc(items):
    for item in items:
        yield item
        yield from _walk_toc(item.children)


def _strip_tags(value: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", value))
