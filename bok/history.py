"""Revision history of every chapter, read from Git in one pass.

Per-file history plugins run several ``git`` processes for every page (each one
costs ~15 ms even on a small repository), which adds up to seconds or minutes per
build for a book of a few hundred chapters. This module reads history
with a constant number of git processes however many chapters there are, all
started through :mod:`bok.git` (the one module that runs Git):

1. ``git rev-parse`` answers "is this a repository, is it shallow, where is HEAD".
2. ``git ls-tree`` lists the chapters that exist at HEAD (the keys of the result).
3. ``git log -M --raw -z`` lists every relevant commit with its changes and the
   blob id of each changed file (so callers can tell which revision holds some exact
   content without reading any file); renames are followed back in Python rather
   than with ``--follow`` (which only works for a single path).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path, PurePath

from . import git

__all__ = [
    "History",
    "HistoryParseError",
    "Revision",
    "blob_at",
    "blob_id",
    "blobs_at",
    "is_shallow",
    "read_history",
]

logger = logging.getLogger(__name__)

#: Marks the start of each commit header in ``git log`` output. Headers are only
#: ever looked for where a status letter could stand, and a status is never
#: ``\x1e``, so file names or subjects containing it cannot confuse the parser.
_COMMIT_MARK = b"\x1e"
#: Full sha, strict ISO author date, author name/email (through .mailmap, so a
#: contributor with two addresses is shown once), subject. No ``%h``: ``--no-abbrev``
#: (for full blob ids) would make it the full sha too, so short shas are made here.
_LOG_FORMAT = "%x1e%H%x00%aI%x00%aN%x00%aE%x00%s"
_HEADER_FIELDS = 5
#: Git's shortest abbreviation; longer when two commits of the history share a prefix.
_MIN_ABBREV = 7
#: One ``--raw`` entry before its path(s): ``:<old mode> <new mode> <old id> <new id> <status>``.
_RAW_RE = re.compile(rb":[0-7]+ [0-7]+ [0-9a-f]+ ([0-9a-f]+) ([A-Z])[0-9]*")

class HistoryParseError(RuntimeError):
    """``git log`` printed something the parser does not understand.

    Raised rather than guessed around: a silently wrong history (revisions
    attributed to the wrong chapter) is worse than a failed build.
    """


@dataclass(frozen=True)
class Revision:
    """One commit that touched a chapter.

    ``path`` is the chapter's path *as of that commit*, which differs from the
    current path for commits made before a rename; it is what :func:`blob_at`
    needs to show that older version. ``blob`` is the Git object id of the file as
    that commit left it (compare it with :func:`blob_id` of some content to know
    whether this revision holds exactly that content, without reading the blob).
    """

    commit: str
    short: str
    date: datetime
    author_name: str
    author_email: str
    subject: str
    path: str
    status: str
    blob: str = ""


@dataclass
class History:
    """Revisions of every chapter present at HEAD, newest first.

    ``shallow`` tells callers the history is truncated (e.g. a CI checkout with
    ``fetch-depth: 1``), so the oldest revision shown is not really the
    chapter's creation. ``git_processes`` counts the git processes spawned; it
    does not grow with the number of chapters, which the benchmark checks.
    """

    revisions: dict[str, list[Revision]] = field(default_factory=dict)
    shallow: bool = False
    git_processes: int = 0
    #: Commit the history was read at, or None for an empty history.
    head: str | None = None
    #: The repository's hash ("sha1", or "sha256" for SHA-256 repositories), for :func:`blob_id`.
    object_format: str = "sha1"

    def of(self, path: str | PurePath) -> list[Revision]:
        """Revisions of the chapter currently at ``path`` (relative to the repo root).

        Unknown paths give an empty list, so a page that is not committed yet
        simply has no history instead of breaking the build.
        """
        key = path.as_posix() if isinstance(path, PurePath) else path
        while key.startswith("./"):
            key = key[2:]
        return self.revisions.get(key, [])


@dataclass
class _Change:
    status: str
    path: str
    old_path: str | None = None
    blob: str = ""


def blob_id(data: bytes, object_format: str = "sha1") -> str:
    """The id Git gives a file holding ``data`` (``git hash-object``), without running git."""
    return hashlib.new(object_format, b"blob %d\0" % len(data) + data).hexdigest()


def _decode_path(raw: bytes) -> str:
    # surrogateescape round-trips names that are not valid UTF-8 back to the
    # same bytes, so blob_at() can still find them.
    return raw.decode("utf-8", "surrogateescape")


def _decode_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def _pathspecs(paths_under: Sequence[str]) -> list[str]:
    """Turn ``("content/", "reviews/")`` into pathspecs; empty means the whole tree."""
    specs = [p.strip("/") or "." for p in paths_under]
    return ["--", *specs] if specs else ["--"]


def _parse_log(out: bytes) -> list[tuple[list[bytes], list[_Change]]]:
    """Split ``git log -z --raw`` output into (header fields, changes).

    With ``-z`` every header field, raw entry and path is NUL-terminated; a commit's
    file list starts with ``\\n``; each change is ``:<modes> <old id> <new id>
    <status>`` followed by its path, or by the old and the new path for a rename or a
    copy. Merge commits have no file list. Fields are consumed by position, so names
    and subjects may contain any byte git allows.
    """
    tokens = out.split(b"\0")
    commits: list[tuple[list[bytes], list[_Change]]] = []
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if not tok:  # the empty string after the final NUL
            i += 1
            continue
        if not tok.startswith(_COMMIT_MARK) or i + _HEADER_FIELDS > n:
            raise HistoryParseError(f"expected a commit header, got {tok[:80]!r}")
        header = [tok[1:], *tokens[i + 1 : i + _HEADER_FIELDS]]
        i += _HEADER_FIELDS
        changes: list[_Change] = []
        if i < n and tokens[i].startswith(b"\n"):
            tokens[i] = tokens[i][1:]
            while i < n and tokens[i] and not tokens[i].startswith(_COMMIT_MARK):
                raw = _RAW_RE.fullmatch(tokens[i])
                if raw is None:
                    raise HistoryParseError(f"bad change {tokens[i][:80]!r} in {header[0]!r}")
                blob = raw.group(1).decode("ascii")
                letter = raw.group(2).decode("ascii")
                if letter in "RC":  # rename/copy: old path, new path
                    if i + 2 >= n:
                        raise HistoryParseError(f"truncated rename in {header[0]!r}")
                    changes.append(_Change(letter, _decode_path(tokens[i + 2]),
                                           _decode_path(tokens[i + 1]), blob))
                    i += 3
                else:
                    if i + 1 >= n:
                        raise HistoryParseError(f"truncated change in {header[0]!r}")
                    changes.append(_Change(letter, _decode_path(tokens[i + 1]), None, blob))
                    i += 2
        commits.append((header, changes))
    return commits


def _abbrev_length(shas: Sequence[bytes]) -> int:
    """The shortest length, from 7, at which every commit of the history has its own prefix."""
    length, unique = _MIN_ABBREV, set(shas)
    while length < 40 and len({sha[:length] for sha in unique}) < len(unique):
        length += 1
    return length


def _follow(
    head_paths: Iterable[str], commits: list[tuple[list[bytes], list[_Change]]]
) -> dict[str, list[Revision]]:
    """Attribute each change to the chapter it belongs to at HEAD.

    Walks commits newest first keeping ``tracking``: the name each current
    chapter had just after the commit being looked at. A rename moves that name
    back to the old path (so chains a -> b -> c all end up under c); an add ends
    it, so a path that was deleted and re-added starts fresh and older commits
    of a reused name are not mixed in. Changes to paths nobody tracks (deleted
    files) are ignored. Updates of one commit are applied together, so a commit
    that swaps or rotates names is handled too.
    """
    revisions: dict[str, list[Revision]] = {p: [] for p in head_paths}
    tracking: dict[str, str] = {p: p for p in revisions}
    abbrev = _abbrev_length([header[0] for header, _ in commits])
    for header, changes in commits:
        if not changes or not tracking:
            continue
        sha, date, name, email, subject = header
        base: Revision | None = None
        ended: list[str] = []
        moved: dict[str, str] = {}
        for change in changes:
            key = tracking.get(change.path)
            # A deletion of a tracked name can only come from a side branch whose
            # deletion lost in a merge; the chapter lived on, so skip it.
            if key is None or change.status == "D":
                continue
            if base is None:  # decode lazily: most commits touch no tracked chapter
                base = Revision(
                    commit=_decode_text(sha),
                    short=_decode_text(sha[:abbrev]),
                    date=datetime.fromisoformat(_decode_text(date)),
                    author_name=_decode_text(name),
                    author_email=_decode_text(email),
                    subject=_decode_text(subject),
                    path="",
                    status="",
                )
            revisions[key].append(
                replace(base, path=change.path, status=change.status, blob=change.blob)
            )
            if change.status in ("A", "C"):
                ended.append(change.path)
            elif change.status == "R" and change.old_path is not None:
                ended.append(change.path)
                moved[change.old_path] = key
        for path in ended:
            tracking.pop(path, None)
        for old_path, key in moved.items():
            tracking.setdefault(old_path, key)
    return revisions


#: The last history read in this process, by repository, HEAD, paths and .mailmap: a preview
#: rebuilds on every edit, and the commits it reads are the same until HEAD moves. Callers
#: share the History returned: nothing changes it.
_LAST: list = [None, None]


def read_history(repo_root: Path, paths_under: Sequence[str] = ("content/", "reviews/")) -> History:
    """Read the history of every file under ``paths_under`` at HEAD, in one ``git log``.

    Paths are relative to ``repo_root``, which may also be a subdirectory of a
    larger repository. A directory that is not a git repository, or one without
    commits, gives an empty :class:`History` rather than an error so a fresh
    book still builds. An empty ``paths_under`` means the whole tree. A
    failing ``git log`` in a real repository raises :class:`bok.git.GitError`.

    Known approximations: a file moved into ``paths_under`` from outside looks
    like it was added then (git only pairs renames within the pathspec), and
    merge commits are not listed (without ``-m`` git shows no files for them);
    the commits on the merged branches are.
    """
    repo_root = Path(repo_root)
    history = History()
    # 1. Repository? Shallow? HEAD? One process; --verify -q HEAD exits 1 with
    #    no sha when there are no commits yet.
    proc = git.run(
        repo_root, "rev-parse", "--is-shallow-repository", "--show-prefix", "--verify", "-q", "HEAD"
    )
    if proc is None:
        return history
    history.git_processes += 1
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    if proc.returncode not in (0, 1) or not lines:
        _log_not_a_repo(repo_root, proc.stderr)
        return history
    history.shallow = lines[0].strip() == "true"
    if proc.returncode != 0 or len(lines) < 3:
        return history  # a repository without commits
    head = lines[-1].strip()
    memo_key = (str(repo_root.resolve()), head, lines[0], lines[1], tuple(paths_under),
                _mailmap(repo_root))
    if _LAST[0] == memo_key and _LAST[1] is not None:
        return _LAST[1]  # committed history does not change while HEAD stays (bok serve)
    history.head = head
    history.object_format = "sha256" if len(head) == 64 else "sha1"
    pathspecs = _pathspecs(paths_under)

    # 2. Which chapters exist at HEAD: only these become keys, so deleted files
    #    and names that only existed in side branches never show up.
    head_paths = [entry.path for entry in git.ls_tree(repo_root, head, paths_under)]
    history.git_processes += 1

    # 3. Every commit touching those directories, newest first. --date-order
    #    never shows a parent before its children, which _follow() relies on.
    proc = git.run(
        repo_root,
        "log",
        "-M",
        "--raw",
        "--no-abbrev",
        "-z",
        "--relative",
        "--date-order",
        "--no-color",
        "--encoding=UTF-8",
        f"--format={_LOG_FORMAT}",
        head,
        *pathspecs,
    )
    if proc is None:
        return history
    history.git_processes += 1
    if proc.returncode != 0:
        raise git.GitError(f"git log failed in {repo_root}: {_decode_text(proc.stderr)}")
    history.revisions = _follow(head_paths, _parse_log(proc.stdout))
    _LAST[0], _LAST[1] = memo_key, history
    return history


def _mailmap(repo_root: Path) -> bytes:
    """The working tree's .mailmap, which the log's author names follow: an edit to it is a
    new history even while HEAD stays."""
    for folder in (repo_root, *repo_root.resolve().parents):
        path = folder / ".mailmap"
        if (folder / ".git").exists() or path.exists():
            try:
                return path.read_bytes()
            except OSError:
                return b""
    return b""


def _log_not_a_repo(repo_root: Path, stderr: bytes) -> None:
    message = _decode_text(stderr).strip()
    # "not a git repository" is the normal case for a fresh book; anything else
    # (e.g. "dubious ownership" in a CI container) deserves the user's attention.
    level = logging.DEBUG if "not a git repository" in message else logging.WARNING
    logger.log(level, "no git history for %s: %s", repo_root, message)


def is_shallow(repo_root: Path) -> bool:
    """True if ``repo_root`` is a shallow clone, i.e. its history is truncated."""
    return git.is_shallow(Path(repo_root))


def blobs_at(
    repo_root: Path, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], bytes | None]:
    """Contents of many ``(commit, path)`` pairs through ONE ``git cat-file --batch``.

    ``path`` is relative to ``repo_root`` (as in :attr:`Revision.path`). Pairs
    that do not name a file at that commit (missing commit or path, a
    directory, a submodule) map to None, as does everything if ``repo_root``
    is not a repository.
    """
    wanted = list(dict.fromkeys(pairs))
    result: dict[tuple[str, str], bytes | None] = dict.fromkeys(wanted)
    asked: list[tuple[tuple[str, str], bytes]] = []
    for commit, path in wanted:
        if not commit or not path or "\0" in commit + path or "\n" in commit:
            continue
        # "./" makes the path relative to the working directory (repo_root),
        # like Revision.path, even when repo_root is a subdirectory of the repo.
        asked.append(((commit, path), f"{commit}:./{path}".encode("utf-8", "surrogateescape")))
    answers = git.cat_file(Path(repo_root), [request for _, request in asked])
    for (pair, _), answer in zip(asked, answers, strict=True):
        # Trees (directories) and submodules are not files.
        if answer is not None and answer[0] == "blob":
            result[pair] = answer[1]
    return result


def blob_at(repo_root: Path, commit: str, path: str) -> bytes | None:
    """Content of ``path`` at ``commit``, e.g. to show an older endorsed revision.

    For more than one file use :func:`blobs_at`, which needs a single process.
    """
    return blobs_at(repo_root, [(commit, path)])[(commit, path)]
