"""Building the site atomically, and previewing it.

MkDocs cleans ``site_dir`` first and writes pages in place, so a failed build would leave a
half-written site (or none). bok builds into a fresh folder beside the target and swaps it in
only when the whole build succeeded.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import BokError


class _Errors(logging.Handler):
    """Collects MkDocs' error messages: its exceptions only say 'Aborted with a BuildError!'."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _mkdocs_errors():
    """Turn any MkDocs failure into one BokError carrying MkDocs' own messages."""
    from mkdocs import exceptions
    handler = _Errors()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        yield
    except exceptions.MkDocsException as exc:
        detail = "; ".join(handler.messages) or str(exc)
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
    from mkdocs.config import load_config
    config_file = root / "mkdocs.yml"
    if not config_file.is_file():
        raise BokError(f"{config_file} not found; a book needs an mkdocs.yml (bok init writes one)")
    try:
        with _mkdocs_errors():
            config = load_config(str(config_file), **overrides)
    except BokError as exc:
        raise BokError(f"mkdocs.yml: {exc.message}") from None
    if "bok" not in config.plugins:
        raise BokError("mkdocs.yml does not enable the bok plugin, so the site would publish "
                       "chapters nobody endorsed; add 'plugins: [bok, search]'")
    return config


def build_site(root: Path, site_dir: Path | None = None, drafts: bool = False,
               with_history: bool = True, strict: bool = False) -> Path:
    """Build the book at ``root`` into ``site_dir``; the old site stays if anything fails."""
    from mkdocs.commands.build import build

    root = root.resolve()
    target = (site_dir or root / "site").resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
    try:
        with _environment(drafts, with_history):
            config = _load_config(root, site_dir=str(staging), strict=strict)
            with _mkdocs_errors():
                build(config)
    except BokError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BokError(f"{exc.message} (the previous site is untouched)") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap(staging, target)
    return target


def _swap(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with two renames; never leave neither in place."""
    if target.exists():
        retired = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, retired)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target)


def serve(root: Path, drafts: bool, address: str) -> None:
    """Preview with live reload, rebuilding on any change to content/, reviews/ or mkdocs.yml."""
    from mkdocs.commands import serve as mkdocs_serve
    _load_config(root)
    with _environment(drafts, True):
        mkdocs_serve.serve(str(root / "mkdocs.yml"), livereload=True,
                           watch=[str(root / "reviews")], dev_addr=address)
