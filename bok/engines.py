"""The engines that lay a staged book out as a site: MkDocs (with Material) and Zensical.

bok does the part that decides what readers get on every engine alike: it stages the endorsed,
sanitized pages (:func:`bok.building.stage_book`), indexes the chapters with Pagefind, and
checks the engine's output against what it staged (:mod:`bok.verify`) before the site is
swapped in (:func:`bok.publish.build_site`). The engine only adds its theme.

* ``mkdocs`` runs MkDocs in process; the bok plugin stages the book in ``on_config`` and hands
  MkDocs bok's HTML, table of contents and navigation (:mod:`bok.plugin`).
* ``zensical`` (``pip install 'bok[zensical]'``) runs ``zensical build`` in a process of its
  own, with a configuration bok writes (``.bok/zensical.yml``): the book's ``mkdocs.yml``
  with bok's staged folder, navigation, stylesheet and search script, Zensical's own search
  off (Pagefind replaces it), no Markdown extension beyond Zensical's two built-in ones (the
  pages are finished HTML) and no plugin but ``tags``: Zensical runs its own versions of some
  MkDocs plugins (``macros``, ``markdown-exec``, ``include-markdown``) that would run code or
  include files no one reviewed. Zensical rewrites relative links as it does Markdown links (from
  the staged file's folder), so bok stages them that way for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

from . import building, model, render, site, siteconfig, stage, verify
from .errors import BokError
from .trees import WorkTree

ENGINES = model.ENGINES
DEFAULT = model.DEFAULT_ENGINE
#: Where the Zensical engine writes its configuration and cache (inside the book's .bok/).
ZENSICAL_CONFIG = ".bok/zensical.yml"
#: What the Zensical engine leaves in .bok/, kept out of Git by a .gitignore there that
#: ignores itself too (bok init's .gitignore names only the staged folders).
_IGNORED = "/.gitignore\n/zensical.yml\n/.cache/\n/.zensical-site/\n"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_LOCATION = re.compile(r"╭─\[\s*(.+?)\s*\]")


@dataclass
class Built:
    """What an engine built: bok's plan of the site, and the warnings to show."""

    plan: site.SitePlan | None
    warnings: list[str] = field(default_factory=list)
    #: Run once the site is swapped in at its folder (the MkDocs plugin records its pages).
    swapped: Callable[[Path], None] | None = None


def read_config(root: Path) -> siteconfig.SiteConfig:
    """The book's mkdocs.yml, strictly; a :class:`BokError` names its first error."""
    config, findings = siteconfig.load_site_config(WorkTree(root))
    if config is None:
        raise BokError(f"{root / 'mkdocs.yml'} not found; a book needs an mkdocs.yml "
                       "(bok init writes one)")
    for finding in findings:
        if finding.is_error:
            raise BokError(str(finding))
    if siteconfig.plugin_options(config.data, "bok") is None:
        raise BokError("mkdocs.yml does not enable the bok plugin, so the site would publish "
                       "chapters nobody endorsed; add 'plugins: [bok]'")
    return config


def configured(root: Path) -> str:
    """The engine the book's mkdocs.yml names (``engine:`` under the bok plugin), or mkdocs.

    A mkdocs.yml that cannot be read names none: the MkDocs engine then reports its error."""
    try:
        options = siteconfig.plugin_options(read_config(root).data, "bok") or {}
    except BokError:
        return DEFAULT
    return str(options.get("engine", DEFAULT))


def zensical_missing() -> str | None:
    """Why the Zensical engine cannot run here, or None if it can."""
    if find_spec("zensical") is None:
        return ("Zensical is not installed; install it with pip install 'bok[zensical]' "
                "(or build with --engine mkdocs)")
    return None


def settings_from(data: dict, history: bool, links_from_source: bool) -> building.Settings:
    """The staging settings from mkdocs.yml's data, as the MkDocs plugin reads them from
    MkDocs' configuration (its built-in Markdown extensions first)."""
    extensions = render.Extensions.from_config(data.get("markdown_extensions"))
    names, configs = list(extensions.names), dict(extensions.configs)
    plugins = [name for name, _ in siteconfig.named(data.get("plugins"))]
    options = siteconfig.plugin_options(data, "bok") or {}
    return building.Settings(
        names, configs, permalink=building.permalink(configs.get("toc", {}).get("permalink")),
        repo_url=building.http_url(data.get("repo_url")),
        directory_urls=data.get("use_directory_urls", True) is not False,
        tags="tags" in plugins or "material/tags" in plugins,
        history=history and options.get("history", True) is not False,
        links_from_source=links_from_source,
        site_name=str(data.get("site_name") or ""),
        site_url=building.http_url(data.get("site_url")),
        cache=options.get("cache", True) is not False)


def zensical_config(root: Path, data: dict, staged: stage.Stage, site_dir: Path,
                    tags: bool) -> dict:
    """The configuration Zensical builds with: the book's, with bok's folder, navigation and
    assets; only the plugins and extensions a finished page needs (see the module's text)."""
    config = {key: value for key, value in data.items()
              if key not in ("INHERIT", "hooks", "plugins", "markdown_extensions", "nav")}
    work = (root / ZENSICAL_CONFIG).parent  # Zensical panics on absolute paths: relative ones
    config.update(docs_dir=os.path.relpath(staged.folder, work),
                  site_dir=os.path.relpath(site_dir, work), nav=staged.nav,
                  markdown_extensions=[], strict=False,
                  plugins=[{"search": {"enabled": False}}, *(["tags"] if tags else [])])
    for key, name in (("extra_css", stage.STYLESHEET), ("extra_javascript",
                                                          stage.SEARCH_SCRIPT)):
        items = list(config.get(key) or [])
        config[key] = items if name in [str(item) for item in items] else [*items, name]
    theme = dict(config.get("theme") or {})
    if isinstance(theme.get("custom_dir"), str):
        theme["custom_dir"] = str((root / theme["custom_dir"]).resolve())
    config["theme"] = theme
    return config


def build_zensical(root: Path, out: Path, drafts: bool, with_history: bool,
                   strict: bool, previous: Path | None = None) -> Built:
    """Stage the book, lay it out with ``zensical build`` into ``out`` (an empty folder),
    index it with Pagefind (or take the index of ``previous``, the site it replaces, when no
    indexed page changed) and check the output; raise :class:`BokError` on any failure."""
    missing = zensical_missing()
    if missing:
        raise BokError(missing)
    data = read_config(root).data
    building.check_docs_dir(root, Path(str(data.get("docs_dir", "docs"))),
                            stage.stage_folder(root, False))
    settings = settings_from(data, with_history, links_from_source=True)
    language = building.language((data.get("theme") or {}).get("language")
                                 if isinstance(data.get("theme"), dict) else None)
    # Pagefind indexes on another core while bok stages and Zensical lays the site out
    search = building.search_for(root, out, language, previous, settings.cache).start()
    try:
        book = building.stage_book(root, settings, drafts, search)
        warnings = list(book.warnings)
        warnings += _run_zensical(root, book.stage, data, settings.tags, out, strict)
        verify.ensure(out, book.stage)
        search.finish()
    finally:
        search.close()
    return Built(book.plan, warnings, swapped=lambda site: building.save_search(
        root, site, search) if settings.cache else None)


def _run_zensical(root: Path, staged: stage.Stage, data: dict, tags: bool, out: Path,
                  strict: bool) -> list[str]:
    """Run ``zensical build`` and move its site into ``out``; return its warnings.

    Zensical wants ``docs_dir`` and ``site_dir`` inside the folder of its configuration file,
    so it builds into a folder of ``.bok/`` (its cache stays there too, for the next build)."""
    work = (root / ZENSICAL_CONFIG).parent
    # one name, always: Zensical's cache is keyed by its configuration, site_dir included
    built = work / ".zensical-site"
    shutil.rmtree(built, ignore_errors=True)
    config_file = root / ZENSICAL_CONFIG
    ignore = work / ".gitignore"
    if not ignore.exists() and not ignore.is_symlink():
        ignore.write_text(_IGNORED, encoding="utf-8")
    config = zensical_config(root, data, staged, built, tags)
    config_file.write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n",
                           encoding="utf-8")
    command = [sys.executable, "-m", "zensical", "build", "-f", str(config_file)]
    try:
        done = subprocess.run(command + (["--strict"] if strict else []), cwd=work,
                              capture_output=True, text=True, errors="replace", check=False)
        printed = _ANSI.sub("", done.stdout + done.stderr)
        if done.returncode != 0 or not built.is_dir():
            lines = [line.strip() for line in printed.splitlines() if line.strip()]
            detail = "; ".join(lines[-3:]) or f"exit status {done.returncode}"
            raise BokError(f"the site build failed: zensical: {detail}")
        for entry in built.iterdir():
            shutil.move(str(entry), str(out / entry.name))
    finally:
        shutil.rmtree(built, ignore_errors=True)
    return _warnings(printed)


def _warnings(printed: str) -> list[str]:
    """Zensical's warnings, one line each, with the staged file and line they are about."""
    found: list[str] = []
    located = True
    for line in printed.splitlines():
        text = line.strip()
        if text.startswith("Warning:"):
            found.append(f"zensical: {text.removeprefix('Warning:').strip()}")
            located = False
        elif not located and (match := _LOCATION.search(text)):
            found[-1] += f" ({stage.STAGE}/{match.group(1)})"
            located = True
    return found

