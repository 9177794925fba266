"""Where a book's files come from: the working tree, or a Git revision.

The loader reads through this small interface so that the same rules judge the working tree
(``bok check``) and a base revision (``bok check --base REV`` reads its registry and policy
from REV). Neither source ever follows a symbolic link: a link is reported, not read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import git

FILE, LINK, OTHER = "file", "link", "other"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO in the book must not block the read


@dataclass(frozen=True)
class Entry:
    path: str  # relative, with forward slashes
    kind: str  # FILE, LINK or OTHER


class WorkTree:
    """The files on disk under a book's root."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def walk(self, top: str) -> Iterator[Entry]:
        """Every entry under ``top``, folder by folder (links to folders first, then the
        other entries, by name), from the directory entries alone: no ``stat`` per file.
        A ``top`` reached through a link (itself, or a folder on its way) is that link."""
        if self.kind(top) == LINK:
            yield Entry(top, LINK)
            return
        yield from self._walk(top)

    def _walk(self, rel: str) -> Iterator[Entry]:
        try:
            with os.scandir(self.root / rel) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        folders = []
        for entry in entries:  # a link to a folder, as os.walk lists it among the folders
            if entry.is_symlink() and entry.is_dir():
                yield Entry(f"{rel}/{entry.name}", LINK)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not entry.name.startswith("."):
                    folders.append(entry.name)
            elif entry.is_symlink():
                if not entry.is_dir():
                    yield Entry(f"{rel}/{entry.name}", LINK)
            else:
                kind = FILE if entry.is_file(follow_symlinks=False) else OTHER
                yield Entry(f"{rel}/{entry.name}", kind)
        for name in folders:
            yield from self._walk(f"{rel}/{name}")

    def files(self, top: str) -> list[str]:
        """The regular files under ``top``, as :meth:`walk` finds them, listed fast: from the
        directory entries alone, with no ``stat`` per file (for rules on the tree's listing)."""
        found: list[str] = []
        pending = [] if (self.root / top).is_symlink() else [top]
        while pending:
            folder = pending.pop()
            try:
                entries = list(os.scandir(self.root / folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                if entry.is_symlink():
                    continue
                if entry.is_dir() and not entry.name.startswith("."):
                    pending.append(f"{folder}/{entry.name}")
                elif entry.is_file():
                    found.append(f"{folder}/{entry.name}")
        return sorted(found)

    def read(self, path: str) -> bytes | None:
        """The bytes of the regular file at ``path``; None for a link, a folder or nothing
        (one ``open`` that refuses a link, then ``fstat``: a book has thousands of files)."""
        if not _NOFOLLOW and (self.root / path).is_symlink():
            return None  # no O_NOFOLLOW here (Windows): ask first
        try:
            fd = os.open(self.root / path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            with os.fdopen(fd, "rb") as file:
                fd = -1
                return file.read()
        finally:
            if fd >= 0:
                os.close(fd)

    def exists(self, path: str) -> bool:
        return (self.root / path).is_file() and not (self.root / path).is_symlink()

    def kind(self, path: str) -> str | None:
        """FILE, LINK (the file or a folder on its way is a link), OTHER, or None if absent."""
        full = self.root
        for part in path.split("/"):
            full = full / part
            if full.is_symlink():
                return LINK
        if full.is_file():
            return FILE
        return OTHER if full.exists() else None


class GitTree:
    """The files of one revision, read with two Git processes whatever the book's size.

    Paths are relative to ``repo`` (the book's root), which may be a folder of a larger
    repository; every process goes through :mod:`bok.git`.
    """

    def __init__(self, repo: Path, rev: str):
        self.repo = Path(repo)
        self.rev = rev
        self.commit = git.resolve_commit(self.repo, rev)
        self.blobs: dict[str, str] = {}  # path -> blob id
        self.kinds: dict[str, str] = {}
        for entry in git.ls_tree(self.repo, self.commit):
            self.blobs[entry.path] = entry.oid
            self.kinds[entry.path] = (LINK if entry.mode == "120000"
                                      else FILE if entry.mode.startswith("100") else OTHER)
        self._cache: dict[str, bytes] = {}

    def walk(self, top: str) -> Iterator[Entry]:
        prefix = top.rstrip("/") + "/"
        for path in sorted(self.blobs):
            if path.startswith(prefix):
                yield Entry(path, self.kinds[path])

    def read(self, path: str) -> bytes | None:
        if self.kinds.get(path) != FILE:
            return None
        if path not in self._cache:
            self.prefetch([path])
        return self._cache.get(path)

    def exists(self, path: str) -> bool:
        return self.kinds.get(path) == FILE

    def kind(self, path: str) -> str | None:
        return self.kinds.get(path)

    def changes(self, tops: tuple[str, ...] = ("content", "reviews")) -> dict[str, str]:
        """What the working tree changes against this revision: path -> 'A', 'M' or 'D'."""
        return git.changes(self.repo, self.commit, tops)

    def prefetch(self, paths: list[str]) -> None:
        """Read many blobs with one ``git cat-file --batch``."""
        wanted = [p for p in paths if p in self.blobs and p not in self._cache]
        found = self.read_blobs([self.blobs[p] for p in wanted])
        for path in wanted:
            if self.blobs[path] not in found:
                # listed by ls-tree, so only a damaged or partial clone lacks it
                raise git.GitError(f"cannot read {path} of base revision {self.rev!r} (object "
                                   f"{self.blobs[path]}) in {self.repo}; the gate fails closed. "
                                   "Fetch the base revision in full: git fetch origin "
                                   f"{self.rev}.")
            self._cache[path] = found[self.blobs[path]]

    def read_blobs(self, ids: list[str]) -> dict[str, bytes]:
        """The contents of blobs by id, with one ``git cat-file --batch`` (a blob Git does
        not have is left out)."""
        wanted = list(dict.fromkeys(ids))
        answers = git.cat_file(self.repo, [blob.encode("ascii") for blob in wanted])
        return {blob: answer[1] for blob, answer in zip(wanted, answers, strict=True)
                if answer is not None}

    def past_versions(self, pathspecs: list[str]) -> list[tuple[str, str]]:
        """(path, blob id) of every version of the files matching ``pathspecs`` in the history
        up to this revision (see :func:`bok.git.past_versions`)."""
        return git.past_versions(self.repo, self.commit, pathspecs)
