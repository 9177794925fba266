"""Where inside a book bok may write a file: a path that stays in the book, reached through
real folders only.

Every command that writes into the book (``init``, ``new``, ``mv``, the review commands,
``codeowners``) asks here first, so a path such as ``brakes/../../x`` or a folder that is a
symbolic link to somewhere else can never make it write outside the book.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import BokError

_DRIVE = re.compile(r"^[A-Za-z]:")


def relative(path: str, given: str | None = None) -> str:
    """``path`` if it is relative and ``/``-separated without ``.``, ``..`` or empty parts
    (errors name it as the user ``given`` it)."""
    shown = path if given is None else given
    if path.startswith("/") or _DRIVE.match(path):
        raise BokError(f"{shown}: give the path relative to the book, without a leading '/'")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise BokError(f"{shown}: a path in the book has no '.', '..' or empty parts; "
                       "name the file as it is in the book, e.g. content/brakes/abs.md")
    return path


def writable(root: Path, path: str) -> Path:
    """``root / path``, refusing a symbolic link there or at any folder on the way (bok never
    writes through one: it would write wherever the link points)."""
    here = root
    for part in relative(path).split("/"):
        here = here / part
        if here.is_symlink():
            shown = here.relative_to(root).as_posix()
            raise BokError(f"{path}: {shown} is a symbolic link and bok never writes through "
                           "one; replace the link with a real folder or file")
    return root / path


def taken(path: Path) -> bool:
    """Whether anything is at ``path``: a file, a folder, or a link, even a dangling one."""
    return os.path.lexists(path)
