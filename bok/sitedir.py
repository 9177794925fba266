"""Where a site may be written: the one rule that keeps ``bok build`` from destroying files.

A build replaces its target folder as a whole, so bok replaces only a folder that is missing,
empty, or a site bok built (it leaves a mark, :data:`MARK`, in every site it builds). The book
itself, any folder holding it, ``content/``, ``reviews/``, ``.git``, ``.bok`` and the user's
home are refused whatever they hold, and so is anything inside the first four.
The checks run on the real path (symbolic links resolved), since that is what a build
replaces.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from . import __version__
from .errors import BokError
from .model import CONTENT, REVIEWS

MARK = ".bok-site"
GENERATOR = "bok"
_PROTECTED = (CONTENT, REVIEWS, ".git", ".bok")  # .bok: the staged book, templates, schemas


def check_target(root: Path, target: Path) -> None:
    """Refuse, with a one-line error naming the fix, a ``target`` a build must not replace."""
    root = root.resolve()
    real = target.resolve()
    shown = _shown(root, target, real)
    refuse = f"refusing to build the site into {shown}"
    fix = "pass --site-dir a new or empty folder, such as site/ in the book"
    if root.is_relative_to(real):
        what = "is the book itself" if real == root else "holds the book"
        raise BokError(f"{refuse}: it {what}, which the build would replace; {fix}")
    for name in _PROTECTED:
        guarded = (root / name).resolve()
        if real.is_relative_to(guarded) or guarded.is_relative_to(real):
            what = ("is" if real == guarded else "is inside" if real.is_relative_to(guarded)
                    else "holds")
            raise BokError(f"{refuse}: it {what} the book's {name}/, which a site must never "
                           f"replace or mix with; {fix}")
    home = _home()
    if home is not None and home.is_relative_to(real):
        what = "is" if real == home else "holds"
        raise BokError(f"{refuse}: it {what} your home folder; {fix}")
    if replaceable(real):
        return
    if not real.is_dir():
        raise BokError(f"{refuse}: it is a file, not a folder; {fix}")
    if (real / "index.html").is_file() and (real / "pagefind").is_dir():
        raise BokError(f"{refuse}: it looks like a site an earlier bok built, without the "
                       f"{MARK} mark bok now leaves; delete it once by hand (rm -r {real}), "
                       "and later builds will replace it")
    raise BokError(f"{refuse}: it holds files bok did not build ({_sample(real)}); {fix}, or "
                   "empty that one yourself")


def replaceable(folder: Path) -> bool:
    """Whether a build may replace ``folder`` as a whole: it is missing, empty, or bok's."""
    if not os.path.lexists(folder):
        return True
    if folder.is_symlink() or not folder.is_dir():
        return False
    return is_bok_site(folder) or is_empty(folder)


def is_bok_site(folder: Path) -> bool:
    """Whether ``folder`` carries bok's mark: a regular file naming bok as its generator."""
    path = folder / MARK
    if path.is_symlink() or not path.is_file():
        return False
    try:
        data = json.loads(path.read_text(encoding="utf-8")[:1000])
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("generator") == GENERATOR


def is_empty(folder: Path) -> bool:
    with os.scandir(folder) as entries:
        return next(entries, None) is None


def mark(folder: Path) -> None:
    """Mark a built site as bok's, so the next build may replace it."""
    text = json.dumps({"generator": GENERATOR, "version": __version__,
                       "note": "bok build replaces this folder as a whole"})
    (folder / MARK).write_text(text + "\n", encoding="utf-8")


def fresh_folder(beside: Path, kind: str) -> Path:
    """A new, empty folder next to ``beside`` (same file system, so renames are atomic), named
    ``.NAME.KIND-PID-RANDOM``; made with the usual permissions (0777 less the umask), unlike
    ``tempfile.mkdtemp``'s 0700, since it becomes the published site."""
    while True:
        path = _beside(beside, kind)
        try:
            path.mkdir(mode=0o777)
        except FileExistsError:
            continue
        return path


def unused_name(beside: Path, kind: str) -> Path:
    """A name next to ``beside`` that nothing uses, for the retired site during a swap."""
    while True:
        path = _beside(beside, kind)
        if not os.path.lexists(path):
            return path


def _beside(path: Path, kind: str) -> Path:
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):
        return None


def _shown(root: Path, given: Path, real: Path) -> str:
    """The target as the user knows it: relative to the book when inside it; through which
    link, when one was followed."""
    name = real.relative_to(root).as_posix() if real.is_relative_to(root) else str(real)
    linked = Path(os.path.normpath(os.path.abspath(given))) != real
    return f"{given} (a link to {name})" if linked else name


def _sample(folder: Path) -> str:
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries)
    return ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
