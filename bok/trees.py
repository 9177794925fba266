"""Where a book's files come from: the working tree, or a Git revision.

The loader reads through this small interface so that the same rules judge the working tree
(``bok check``) and a base revision (``bok check --base REV`` reads its registry and policy
from REV). Neither source ever follows a symbolic link: a link is reported, not read.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import BokError

FILE, LINK, OTHER = "file", "link", "other"


@dataclass(frozen=True)
class Entry:
    path: str  # relative, with forward slashes
    kind: str  # FILE, LINK or OTHER


class WorkTree:
    """The files on disk under a book's root."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def walk(self, top: str) -> Iterator[Entry]:
        base = self.root / top
        if base.is_symlink():
            yield Entry(top, LINK)
            return
        for folder, dirs, files in os.walk(base, followlinks=False):
            rel = Path(folder).relative_to(self.root).as_posix()
            for name in sorted(dirs):
                if (Path(folder) / name).is_symlink():
                    yield Entry(f"{rel}/{name}", LINK)
            dirs[:] = sorted(d for d in dirs if not (Path(folder) / d).is_symlink()
                             and not d.startswith("."))
            for name in sorted(files):
                full = Path(folder) / name
                kind = LINK if full.is_symlink() else FILE if full.is_file() else OTHER
                yield Entry(f"{rel}/{name}", kind)

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
        full = self.root / path
        if full.is_symlink() or not full.is_file():
            return None
        return full.read_bytes()

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
    """The files of one revision, read with two Git processes whatever the book's size."""

    def __init__(self, repo: Path, rev: str):
        self.repo = Path(repo)
        self.rev = rev
        self.commit = self._resolve(rev)
        self.blobs: dict[str, str] = {}  # path -> blob id
        self.kinds: dict[str, str] = {}
        listing = self._git("ls-tree", "-r", "-z", "--full-tree", self.commit)
        for item in listing.split(b"\0"):
            if not item:
                continue
            meta, path = item.split(b"\t", 1)
            mode, _type, blob = meta.decode().split()
            name = path.decode("utf-8", "surrogateescape")
            self.blobs[name] = blob
            kind = LINK if mode == "120000" else FILE if mode.startswith("100") else OTHER
            self.kinds[name] = kind
        self._cache: dict[str, bytes] = {}

    def _git(self, *args: str) -> bytes:
        result = subprocess.run(["git", "-C", str(self.repo), *args], capture_output=True)
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip()
            raise BokError(f"git {args[0]} failed: {detail}")
        return result.stdout

    def _resolve(self, rev: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(self.repo), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
            capture_output=True, text=True,
        )
        if result.returncode != 0:
            raise BokError(
                f"base revision {rev!r} cannot be read from {self.repo}; the gate fails closed. "
                "Fetch it first (actions/checkout with fetch-depth: 0, or git fetch origin REV)."
            )
        return result.stdout.strip()

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
        """What the working tree changes against this revision: path -> 'A', 'M' or 'D'.

        Two Git processes (``diff`` against the working tree, ``ls-files`` for new files),
        whatever the size of the book; Git's clean filters make line endings not count.
        """
        out = self._git("-c", "core.quotepath=off", "diff", "--no-renames", "--name-status",
                        "-z", self.commit, "--", *tops)
        fields = out.split(b"\0")
        changes = {}
        for status, path in zip(fields[0::2], fields[1::2], strict=False):
            if status:
                changes[path.decode("utf-8", "surrogateescape")] = status.decode()[:1]
        untracked = self._git("ls-files", "-z", "--others", "--exclude-standard", "--", *tops)
        for path in untracked.split(b"\0"):
            if path:
                changes[path.decode("utf-8", "surrogateescape")] = "A"
        return changes

    def prefetch(self, paths: list[str]) -> None:
        """Read many blobs with one ``git cat-file --batch``."""
        wanted = [p for p in paths if p in self.blobs and p not in self._cache]
        found = self.read_blobs([self.blobs[p] for p in wanted])
        for path in wanted:
            self._cache[path] = found[self.blobs[path]]

    def read_blobs(self, ids: list[str]) -> dict[str, bytes]:
        """The contents of blobs by id, with one ``git cat-file --batch``."""
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        request = "".join(f"{blob}\n" for blob in wanted).encode()
        out = subprocess.run(["git", "-C", str(self.repo), "cat-file", "--batch"],
                             input=request, capture_output=True, check=True).stdout
        found, offset = {}, 0
        for blob in wanted:
            header_end = out.index(b"\n", offset)
            size = int(out[offset:header_end].split()[2])
            found[blob] = out[header_end + 1 : header_end + 1 + size]
            offset = header_end + 1 + size + 1
        return found

    def past_versions(self, pathspecs: list[str]) -> list[tuple[str, str]]:
        """(path, blob id) of every version of the files matching ``pathspecs`` (Git pathspecs,
        such as ``:(glob)reviews/brakes/**/bob.md``) in the history up to this revision.

        One ``git log``, whose output follows the files asked for, not the size of the book.
        """
        if not pathspecs:
            return []
        out = self._git("-c", "core.quotepath=off", "log", "--format=", "--raw", "--no-abbrev",
                        "--no-renames", "-z", self.commit, "--", *pathspecs)
        tokens = [t.lstrip(b"\n") for t in out.split(b"\0")]
        versions = []
        for meta, path in zip(tokens[0::2], tokens[1::2], strict=False):
            fields = meta.split()
            if len(fields) == 5 and fields[4] != b"D":
                versions.append((path.decode("utf-8", "surrogateescape"), fields[3].decode()))
        return versions
