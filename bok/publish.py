"""Building the site atomically, and previewing it.

MkDocs cleans ``site_dir`` first and writes pages in place, so a failed build would leave a
half-written site (or none). bok builds into a fresh folder beside the target and swaps it in
only when the whole build succeeded, search index included (the search index is
:mod:`bok.pagefind`'s, written into the staging folder during the build).
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import siteconfig, sitedir
from .errors import BokError
from .model import SITE_CONFIG
from .trees import WorkTree


class _Errors(logging.Handler):
    """Collects MkDocs' messages: its exceptions only say 'Aborted with a BuildError!' or
    'Aborted with 2 warnings in strict mode!', never which."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        target = self.errors if record.levelno >= logging.ERROR else self.warnings
        target.append(record.getMessage().strip())


@contextmanager
def _mkdocs_errors():
    """Turn any MkDocs failure into one BokError carrying MkDocs' own messages."""
    from mkdocs import exceptions
    handler = _Errors()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        yield handler
    except exceptions.MkDocsException as exc:
        detail = "; ".join(handler.errors or handler.warnings) or str(exc)
        raise BokError(f"the site build failed: {detail}") from None
    finally:
        logger.removeHandler(handler)


@contextmanager
def _environment(drafts: bool, with_history: bool):
    saved = {k: os.environ.get(k) for k in ("BOK_DRAFTS", "BOK_NO_HISTORY")}
    os.environ["BOK_DRAFTS"] = "1" if drafts else "0"
    os.environ["BOK_NO_HISTORY"] = "0" if with_history else "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _load_config(root: Path, **overrides):
    """MkDocs' configuration, from the very bytes of mkdocs.yml that bok judged: a linked or
    missing mkdocs.yml, one that breaks a rule of :mod:`bok.siteconfig`, or another engine's
    configuration beside it stops the build before MkDocs reads anything (its hooks and
    plugins run as the configuration loads)."""
    from mkdocs.config import load_config
    config_file = root / SITE_CONFIG
    tree = WorkTree(root)
    if tree.kind(SITE_CONFIG) is None:
        raise BokError(f"{config_file} not found; a book needs an mkdocs.yml (bok init writes one)")
    raw, refused = siteconfig.build_refusals(tree)
    if refused:
        more = f" ({len(refused) - 1} more: run bok check)" if len(refused) > 1 else ""
        raise BokError(f"{refused[0]}{more}")
    try:
        with _mkdocs_errors():
            config = load_config(io.BytesIO(raw), config_file_path=str(config_file),
                                 **overrides)
    except BokError as exc:
        raise BokError(f"mkdocs.yml: {exc.message}") from None
    if "bok" not in config.plugins:
        raise BokError("mkdocs.yml does not enable the bok plugin, so the site would publish "
                       "chapters nobody endorsed; add 'plugins: [bok]'")
    return config


def _docs_dir(root: Path, drafts: bool) -> dict[str, str]:
    """Where the plugin stages the book: it must exist before MkDocs reads its configuration.
    A drafts preview is staged apart from the published book (``.bok/preview/``), so an
    engine run in the book never lays out a preview."""
    from .stage import stage_folder
    folder = stage_folder(root, drafts)
    if not folder.is_symlink():
        folder.mkdir(parents=True, exist_ok=True)
    return {"docs_dir": str(folder)} if drafts else {}


@dataclass
class BuildReport:
    """What a build published, for the one-paragraph summary ``bok build`` ends with."""

    site: Path
    chapters: int = 0
    left_out: dict[str, list[str]] = field(default_factory=dict)  # state -> chapter paths
    warnings: list[str] = field(default_factory=list)  # MkDocs' and bok's, in order


def build_site(root: Path, site_dir: Path | None = None, drafts: bool = False,
               with_history: bool = True, strict: bool = False,
               engine: str | None = None) -> BuildReport:
    """Build the book at ``root`` into ``site_dir`` (relative to the book) with ``engine``
    (default: the one mkdocs.yml names, else mkdocs); the old site stays if anything fails,
    and only a folder :mod:`bok.sitedir` allows is ever replaced."""
    from . import engines

    root = root.resolve()
    engine = engine or engines.configured(root)
    if engine not in engines.ENGINES:
        raise BokError(f"unknown engine {engine!r}; expected one of {', '.join(engines.ENGINES)}")
    given = root / (site_dir or "site")
    sitedir.check_target(root, given)
    target = given.resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = sitedir.fresh_folder(target, "building")
    except OSError as exc:
        raise BokError(f"cannot write beside {target} (bok builds there, then swaps the "
                       f"site in): {exc.strerror or exc}") from None
    try:
        if engine == "zensical":
            built = engines.build_zensical(root, staging, drafts, with_history, strict,
                                           previous=target if target.is_dir() else None)
        else:
            built = _build_mkdocs(root, staging, drafts, with_history, strict,
                                  previous=target if target.is_dir() else None)
        sitedir.mark(staging)
    except BokError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BokError(f"{exc.message} (the previous site is untouched)") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap(staging, target)
    if built.swapped is not None:
        built.swapped(target)
    report = BuildReport(target, warnings=built.warnings)
    if built.plan is not None:
        report.chapters = len(built.plan.published)
        report.left_out = built.plan.left_out
    return report


def _build_mkdocs(root: Path, out: Path, drafts: bool, with_history: bool, strict: bool,
                  previous: Path | None = None):
    """MkDocs builds into ``out``, the bok plugin staging the book and reusing the unchanged
    pages of ``previous`` (the site it replaces, :mod:`bok.pagereuse`); then the output is
    checked against what bok staged (:mod:`bok.verify`)."""
    from mkdocs.commands.build import build

    from . import engines, verify
    with _environment(drafts, with_history):
        config = _load_config(root, site_dir=str(out), strict=strict, **_docs_dir(root, drafts))
        plugin = config.plugins.get("bok")
        if plugin is not None and hasattr(plugin, "previous_site"):
            plugin.previous_site = previous
            plugin.finish_search_later = True
        try:
            with _mkdocs_errors() as messages:
                build(config)
            staged = getattr(plugin, "staged", None)
            if staged is not None:  # while Pagefind writes the index
                verify.ensure(out, staged, getattr(plugin, "reused", ()))
            if plugin is not None and hasattr(plugin, "finish_search"):
                with _mkdocs_errors():
                    plugin.finish_search()
        finally:
            if plugin is not None and hasattr(plugin, "stop_search"):
                plugin.stop_search()
                plugin.finish_search_later = False
    return engines.Built(getattr(plugin, "plan", None), list(messages.warnings),
                         swapped=getattr(plugin, "save_manifest", None))


def _swap(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with two renames; never leave neither in place, and
    delete the retired site only if it is bok's (checked before the build, and again here in
    case it changed meanwhile)."""
    try:
        if not sitedir.replaceable(target):
            raise BokError(f"{target} changed during the build and now holds files bok did "
                           "not build; it is left as it is: build into another folder")
        if not os.path.lexists(target):
            os.replace(staging, target)
            return
        retired = sitedir.unused_name(target, "old")
        os.replace(target, retired)
        try:
            os.replace(staging, target)
        except BaseException:
            os.replace(retired, target)
            raise
    except OSError as exc:
        raise BokError(f"cannot replace {target}: {exc.strerror or exc} (the previous site is "
                       "untouched)") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already unless the swap failed
    if not sitedir.replaceable(retired):
        raise BokError(f"built the site into {target}, but the folder it replaced changed "
                       f"during the build; its files are kept in {retired}")
    shutil.rmtree(retired, ignore_errors=True)


def serve(root: Path, drafts: bool, address: str) -> None:
    """Preview with live reload, rebuilding on any change to content/, reviews/ or mkdocs.yml.

    Every rebuild is indexed for search too, so the search page works in the preview. A
    rebuild renders only changed pages (:mod:`bok.cache`) and lays out only the pages whose
    staged file changed, unless the navigation or mkdocs.yml changed.
    """
    from mkdocs.commands import serve as mkdocs_serve
    docs_dir: dict = _docs_dir(root, drafts)
    _load_config(root, **docs_dir)
    _check_address(address)  # before the first build, which takes minutes in a big book
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.addHandler(console)
    logger.setLevel(logging.INFO)  # "Serving on http://...", rebuilds, warnings
    quiet = _NotDirtyWarning()
    logging.getLogger("mkdocs.commands.build").addFilter(quiet)
    try:
        with _environment(drafts, True), _mkdocs_errors():
            # dirty: a rebuild lays out only the pages whose staged file changed (the plugin
            # makes it a full one when the navigation or mkdocs.yml changed)
            mkdocs_serve.serve(str(root / "mkdocs.yml"), livereload=True, build_type="dirty",
                               dev_addr=address, **docs_dir)
    except OSError as exc:
        raise BokError(f"cannot serve on {address}: {exc.strerror or exc}; "
                       "pass another address with -a IP:PORT") from None
    finally:
        logger.removeHandler(console)
        logging.getLogger("mkdocs.commands.build").removeFilter(quiet)


class _NotDirtyWarning(logging.Filter):
    """MkDocs warns that a dirty build may leave navigation stale; bok's is not (see
    :meth:`bok.plugin.BokPlugin.on_config`), so the warning would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'dirty' build" not in record.getMessage()


def _check_address(address: str) -> None:
    """Fail now if ``address`` cannot be served on (a port in use, a bad address), the way
    MkDocs' server would bind it (SO_REUSEADDR), then let go of it."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise BokError(f"cannot serve on {address}: expected IP:PORT, such as "
                       "127.0.0.1:8000") from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, number))
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise BokError(f"cannot serve on {address}: {reason}; "
                       "pass another address with -a IP:PORT") from None
