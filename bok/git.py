"""Every Git process bok starts: one runner, one environment, one ``cat-file --batch`` parser.

bok reads the repository that holds the book's root and nothing else. Inside a Git hook, or
under a caller that exports ``GIT_DIR``, ``GIT_INDEX_FILE``, ``GIT_OBJECT_DIRECTORY`` and the
like, an unguarded ``git`` would read another repository (or another index) and judge the wrong
files. So every process gets :func:`environment` (the caller's variables without Git's, except
the few that only choose the user's own config files or tracing) and :data:`CONFIG_OVERRIDES`
(settings that would change output bok parses).

Plain :mod:`subprocess`, not GitPython: measured on a 1,000-chapter book, ``import git`` costs
about 84 ms (bok's whole CLI imports in 30 ms), its persistent ``cat-file`` object database read
the book's 4,336 blobs no faster than one ``cat-file --batch`` (0.2-0.4 s both), its config
reader ignored ``GIT_CONFIG_GLOBAL``, and its commands inherit ``GIT_INDEX_FILE`` (in a hook-like
environment ``repo.git.ls_files()`` listed no file at all), so it would need this same guard.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import BokError

__all__ = [
    "CONFIG_OVERRIDES",
    "GitError",
    "TreeEntry",
    "cat_file",
    "changes",
    "config_get",
    "environment",
    "init",
    "is_shallow",
    "ls_tree",
    "resolve_commit",
    "run",
    "tracked_under",
]

logger = logging.getLogger(__name__)

#: Settings from the user's or system's git config that would change the output bok parses.
CONFIG_OVERRIDES = (
    "core.quotepath=off",
    "color.ui=never",
    "log.showSignature=false",
    "log.follow=false",  # would apply when a pathspec is a single file
    "log.showRoot=true",
    "diff.relative=false",  # bok asks for --relative where it wants it
)

#: The only GIT_* variables passed on: they choose the user's own config files, tracing, and
#: where Git's helpers live (Git sets GIT_EXEC_PATH for hooks). Every other one goes: Git reads
#: dozens, and those that relocate the repository (GIT_DIR, GIT_WORK_TREE, GIT_COMMON_DIR,
#: GIT_INDEX_FILE, GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES, GIT_NAMESPACE,
#: GIT_CEILING_DIRECTORIES, GIT_SHALLOW_FILE...), inject config (GIT_CONFIG_PARAMETERS,
#: GIT_CONFIG_COUNT) or change pathspecs (GIT_GLOB_PATHSPECS) would change what bok reads.
_KEPT_ENV = ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM", "GIT_EXEC_PATH")
_KEPT_PREFIXES = ("GIT_TRACE",)

#: A full or abbreviated object id: a revision that looks like one is a commit to fetch.
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{4,64}")
#: How many branch names a "no such revision" message lists.
_LISTED = 10


class GitError(BokError):
    """A Git command failed where bok cannot go on (e.g. the base revision of the gate)."""


@dataclass(frozen=True)
class TreeEntry:
    """One file of ``git ls-tree -r``: mode (``100644``, ``120000``...), type, object id."""

    mode: str
    type: str
    oid: str
    path: str


def environment() -> dict[str, str]:
    """The caller's environment, minus every Git variable that could redirect what bok reads."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GIT_") or k in _KEPT_ENV or k.startswith(_KEPT_PREFIXES)}
    env["GIT_OPTIONAL_LOCKS"] = "0"  # read-only commands must not race a user's git for the index
    env["GIT_TERMINAL_PROMPT"] = "0"  # never wait for a password
    return env


def _command(args: Sequence[str], literal: bool = True) -> list[str]:
    cmd = ["git"]
    for setting in CONFIG_OVERRIDES:
        cmd += ["-c", setting]
    if literal:
        cmd.append("--literal-pathspecs")  # bok's paths are names, never glob patterns
    cmd.extend(args)
    return cmd


def run(repo: Path, *args: str, stdin: bytes | None = None, literal: bool = True
        ) -> subprocess.CompletedProcess[bytes] | None:
    """Run one git command in ``repo``; None if git or the directory is missing. Pathspecs
    are names, unless ``literal`` is False (then bok's own ``:(glob)`` patterns work)."""
    try:
        return subprocess.run(_command(args, literal), cwd=repo, env=environment(), input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, check=False)
    except OSError as exc:  # git not installed, repo missing or not a directory
        logger.warning("cannot run git in %s: %s", repo, exc)
        return None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").strip()


def _path(raw: bytes) -> str:
    # surrogateescape round-trips names that are not valid UTF-8 back to the same bytes.
    return raw.decode("utf-8", "surrogateescape")


def _output(repo: Path, *args: str, literal: bool = True) -> bytes:
    """The output of a git command that must succeed."""
    proc = run(repo, *args, literal=literal)
    if proc is None:
        raise GitError(f"cannot run git in {repo}: is Git installed and {repo} a directory?")
    if proc.returncode != 0:
        raise GitError(f"git {args[0]} failed in {repo}: {_text(proc.stderr)}")
    return proc.stdout


def cat_file(repo: Path, requests: Sequence[bytes]) -> list[tuple[str, bytes] | None]:
    """``(type, content)`` of each object named in ``requests``, through ONE ``cat-file --batch``.

    A request is an object id or ``<rev>:<path>``; names Git does not know (or finds
    ambiguous) give None, as does everything when ``repo`` is not a repository. Only a name
    holding a newline needs NUL-terminated input (``-z``, git >= 2.38; older gits answer None).
    """
    answers: list[tuple[str, bytes] | None] = [None] * len(requests)
    if not requests:
        return answers
    nul = any(b"\n" in r for r in requests)
    sep = b"\0" if nul else b"\n"
    args = ("cat-file", "--batch", "-z") if nul else ("cat-file", "--batch")
    proc = run(repo, *args, stdin=b"".join(r + sep for r in requests))
    if proc is None or proc.returncode != 0:
        return answers
    out, pos = proc.stdout, 0
    for i, request in enumerate(requests):
        # Unknown names are echoed back as "<request> missing" (or "ambiguous"); matching the
        # exact echo keeps us in step even if the name has a newline.
        echo = next((e for e in (request + b" missing\n", request + b" ambiguous\n")
                     if out.startswith(e, pos)), None)
        if echo is not None:
            pos += len(echo)
            continue
        end = out.find(b"\n", pos)
        parts = out[pos:end].split(b" ") if end >= 0 else []
        if len(parts) != 3 or not parts[2].isdigit():  # "<oid> <type> <size>"
            raise GitError(f"unexpected git cat-file answer {out[pos : pos + 80]!r} in {repo}")
        size = int(parts[2])
        answers[i] = (parts[1].decode("ascii"), out[end + 1 : end + 1 + size])
        pos = end + 1 + size + 1  # the content is followed by a newline
    return answers


def ls_tree(repo: Path, commit: str, paths: Sequence[str] = ()) -> list[TreeEntry]:
    """Every file of ``commit`` under ``repo`` (or under ``paths``), relative to ``repo``."""
    pathspecs = [p.strip("/") or "." for p in paths]
    out = _output(repo, "ls-tree", "-r", "-z", commit, "--", *pathspecs)
    entries = []
    for item in out.split(b"\0"):
        if item:
            meta, path = item.split(b"\t", 1)
            mode, kind, oid = meta.decode("ascii").split()
            entries.append(TreeEntry(mode, kind, oid, _path(path)))
    return entries


def changes(repo: Path, commit: str, tops: Sequence[str]) -> dict[str, str]:
    """What the working tree changes under ``tops`` against ``commit``: path -> A, M or D.

    Two processes (``diff`` against the working tree, ``ls-files`` for new files) whatever
    the size of the book; Git's clean filters make line endings not count.
    """
    out = _output(repo, "diff", "--no-renames", "--relative", "--name-status", "-z", commit,
                  "--", *tops)
    fields = out.split(b"\0")
    found = {}
    for status, path in zip(fields[0::2], fields[1::2], strict=False):
        if status:
            found[_path(path)] = status.decode("ascii")[:1]
    untracked = _output(repo, "ls-files", "-z", "--others", "--exclude-standard", "--", *tops)
    for path in untracked.split(b"\0"):
        if path:
            found[_path(path)] = "A"
    return found


def past_versions(repo: Path, commit: str, pathspecs: Sequence[str]) -> list[tuple[str, str]]:
    """(path, blob id) of every version of the files matching ``pathspecs`` (bok's own
    patterns, such as ``:(glob)reviews/brakes/**/bob.md``) in the history up to ``commit``.

    One ``git log``, whose output follows the files asked for, not the size of the book.
    """
    if not pathspecs:
        return []
    out = _output(repo, "log", "--format=", "--raw", "--no-abbrev", "--no-renames", "-z",
                  commit, "--", *pathspecs, literal=False)
    tokens = [t.lstrip(b"\n") for t in out.split(b"\0")]
    versions = []
    for meta, path in zip(tokens[0::2], tokens[1::2], strict=False):
        fields = meta.split()
        if len(fields) == 5 and fields[4] != b"D":
            versions.append((_path(path), fields[3].decode()))
    return versions


def is_shallow(repo: Path) -> bool:
    """True if ``repo`` is a shallow clone, i.e. its history is truncated."""
    proc = run(repo, "rev-parse", "--is-shallow-repository")
    return proc is not None and proc.returncode == 0 and proc.stdout.strip() == b"true"


def config_get(repo: Path, key: str) -> str | None:
    """A value of ``git config``, or None (also when Git or the repository is missing)."""
    proc = run(repo, "config", "--get", key)
    if proc is None or proc.returncode != 0:
        return None
    return _text(proc.stdout) or None


def init(target: Path, branch: str) -> None:
    """``git init`` in ``target`` on ``branch`` (never in a repository a caller's GIT_DIR
    names)."""
    _output(target, "init", "-q", "-b", branch)


def answer(repo: Path, *args: str) -> str | None:
    """What a git command that may fail prints (stripped), or None if it failed or printed
    nothing."""
    proc = run(repo, *args)
    if proc is None or proc.returncode != 0:
        return None
    return _text(proc.stdout) or None


def tracked(repo: Path, paths: Sequence[str]) -> set[str]:
    """Which of ``paths`` Git tracks (none when ``repo`` is not a Git repository)."""
    proc = run(repo, "ls-files", "-z", "--", *paths)
    if proc is None or proc.returncode != 0:
        return set()
    return {_path(p) for p in proc.stdout.split(b"\0") if p} & set(paths)


def tracked_under(repo: Path, tops: Sequence[str]) -> list[str]:
    """The files Git tracks under the folders ``tops`` (none when ``repo`` is not a Git
    repository): one ``ls-files``, however many files the book has elsewhere."""
    proc = run(repo, "ls-files", "-z", "--", *tops)
    if proc is None or proc.returncode != 0:
        return []
    return sorted(_path(p) for p in proc.stdout.split(b"\0") if p)


def tracks_anything_under(repo: Path, top: str) -> bool:
    """Whether Git tracks any file under the folder ``top`` (False outside a repository)."""
    proc = run(repo, "ls-files", "-z", "--", top)
    return proc is not None and proc.returncode == 0 and bool(proc.stdout.strip(b"\0"))


def stage(repo: Path, paths: Sequence[str]) -> str | None:
    """``git add --all`` of ``paths`` (a move: the new paths and the old, gone ones); what
    went wrong, or None."""
    proc = run(repo, "add", "--all", "--", *paths)
    if proc is None:
        return "Git did not run"
    if proc.returncode != 0:
        return _text(proc.stderr) or "git add failed"
    return None


def current_branch(repo: Path) -> str | None:
    """The branch checked out in ``repo``, or None (detached, or not a repository)."""
    proc = run(repo, "symbolic-ref", "--quiet", "--short", "HEAD")
    if proc is None or proc.returncode != 0:
        return None
    return _text(proc.stdout) or None


def resolve_commit(repo: Path, rev: str) -> str:
    """The commit ``rev`` names in ``repo``, or a :class:`GitError` that says why not."""
    proc = run(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if proc is not None and proc.returncode == 0:
        return proc.stdout.decode("ascii").strip()
    raise GitError(missing_revision(repo, rev))


def _branches(repo: Path) -> list[str]:
    """Local branches, then remote-tracking ones (``origin/main``), without ``origin/HEAD``."""
    proc = run(repo, "for-each-ref", "--format=%(refname)", "refs/heads", "refs/remotes")
    names = []
    for ref in _text(proc.stdout).splitlines() if proc is not None else []:
        name = ref.removeprefix("refs/heads/").removeprefix("refs/remotes/")
        if name != ref and not name.endswith("/HEAD"):
            names.append(name)
    return names


def missing_revision(repo: Path, rev: str) -> str:
    """Why ``rev`` cannot be read: not a repository, a shallow clone, or no such revision."""
    closed = "the gate fails closed"
    proc = run(repo, "rev-parse", "--is-shallow-repository")
    if proc is None or proc.returncode != 0:
        detail = (_text(proc.stderr).removeprefix("fatal: ") if proc is not None
                  else "Git could not be started")
        # Anything but "not a git repository" (e.g. "dubious ownership") is worth showing.
        where = (f"{repo} is not in a Git repository" if "not a git repository" in detail
                 else f"Git cannot read {repo} ({detail})")
        return (f"base revision {rev!r} cannot be read: {where}; {closed}. "
                "Run bok check --base in a clone of the book.")
    kind = run(repo, "cat-file", "-t", "--end-of-options", rev)
    if kind is not None and kind.returncode == 0:
        return (f"base revision {rev!r} names a {_text(kind.stdout)}, not a commit; {closed}. "
                "Pass a branch, a tag or a commit id.")
    names = _branches(repo)
    shown = ", ".join(names[:_LISTED]) + (f" and {len(names) - _LISTED} more"
                                          if len(names) > _LISTED else "")
    here = f"branches here: {shown}" if names else "no branches here yet"
    if proc.stdout.strip() == b"true":
        return (f"base revision {rev!r} is not in this shallow clone of {repo} ({here}); "
                f"{closed}. Fetch it: git fetch origin {rev} (or git fetch --unshallow; "
                "actions/checkout with fetch-depth: 0).")
    if _OBJECT_ID.fullmatch(rev):
        return (f"base revision {rev!r}: no such commit in {repo} ({here}); {closed}. "
                f"Fetch it (git fetch origin {rev}) or check the id.")
    meant = [n for n in names if n.rsplit("/", 1)[-1] == rev]
    hint = f" Did you mean {' or '.join(repr(n) for n in meant)}?" if meant else ""
    return (f"base revision {rev!r} does not exist: no branch {rev!r}; {here}; {closed}."
            f"{hint} Pass an existing revision, or fetch it: git fetch origin {rev}.")
