"""Tests for bok.history against real git repositories built in tmp_path.

Commits are made with pinned author/committer dates passed through the subprocess
environment, and with the user's git config switched off, so every sha-independent
expectation below is exact.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bok.history import (
    History,
    Revision,
    blob_at,
    blob_id,
    blobs_at,
    is_shallow,
    read_history,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

ADA = ("Ada Lovelace", "ada@example.org")
GRACE = ("Grace Hopper", "grace@example.org")

#: Keeps the machine's git config out of the repositories the tests build.
ISOLATED_GIT = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


class Repo:
    """A throwaway repository with deterministic commits."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._day = 0
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, date: str | None = None) -> str:
        env = {**os.environ, **ISOLATED_GIT}
        if date is not None:
            env["GIT_AUTHOR_DATE"] = date
            env["GIT_COMMITTER_DATE"] = date
        proc = subprocess.run(
            ["git", *args], cwd=self.root, env=env, check=True, capture_output=True
        )
        return proc.stdout.decode("utf-8", "surrogateescape")

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def commit(
        self, subject: str, *, date: str | None = None, author: tuple[str, str] = ADA
    ) -> str:
        """Commit everything in the work tree; dates default to one day apart."""
        if date is None:
            self._day += 1
            date = f"2024-01-{self._day:02d}T12:00:00+00:00"
        self.git("add", "-A")
        self.git(
            "-c",
            f"user.name={author[0]}",
            "-c",
            f"user.email={author[1]}",
            "commit",
            "-q",
            "-m",
            subject,
            date=date,
        )
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "book")


@pytest.fixture
def count_spawns(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Record every process started through subprocess (run() goes through Popen)."""
    spawned: list[list[str]] = []
    real_popen = subprocess.Popen

    class CountingPopen(real_popen):  # type: ignore[misc, valid-type]
        def __init__(self, args, *a, **kw):  # type: ignore[no-untyped-def]
            spawned.append(list(args))
            super().__init__(args, *a, **kw)

    monkeypatch.setattr(subprocess, "Popen", CountingPopen)
    yield spawned


def subjects(revisions: list[Revision]) -> list[str]:
    return [r.subject for r in revisions]


def test_commits_of_one_file_newest_first_with_metadata(repo: Repo) -> None:
    repo.write("content/intro.md", "one\n")
    c1 = repo.commit("Start the intro", date="2024-03-01T09:15:00+02:00", author=ADA)
    repo.write("content/intro.md", "one\ntwo\n")
    c2 = repo.commit("Expand the intro", date="2024-03-02T10:00:00-05:00", author=GRACE)
    repo.write("content/intro.md", "one\ntwo\nthree\n")
    c3 = repo.commit("Polish the intro", date="2024-03-03T11:30:45+00:00", author=ADA)

    history = read_history(repo.root)

    revs = history.of("content/intro.md")
    assert [r.commit for r in revs] == [c3, c2, c1]
    assert subjects(revs) == ["Polish the intro", "Expand the intro", "Start the intro"]
    assert [r.status for r in revs] == ["M", "M", "A"]
    assert [r.path for r in revs] == ["content/intro.md"] * 3
    assert [(r.author_name, r.author_email) for r in revs] == [ADA, GRACE, ADA]
    assert revs[1].date == datetime(2024, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert revs[1].date.utcoffset() == timedelta(hours=-5)
    assert revs[2].date == datetime(2024, 3, 1, 9, 15, tzinfo=timezone(timedelta(hours=2)))
    assert all(r.commit.startswith(r.short) and len(r.short) < len(r.commit) for r in revs)
    assert history.head == c3
    assert history.shallow is False
    assert not is_shallow(repo.root)
    assert list(history.revisions) == ["content/intro.md"]
    assert history.of("content/nope.md") == []
    assert history.of(Path("content/intro.md")) == revs


def test_rename_chain_keeps_all_history_under_the_current_name(repo: Repo) -> None:
    body = "".join(f"line {i}\n" for i in range(20))
    repo.write("content/a.md", body)
    c1 = repo.commit("create a")
    repo.write("content/a.md", body + "more\n")
    c2 = repo.commit("edit a")
    repo.git("mv", "content/a.md", "content/b.md")
    c3 = repo.commit("rename a to b")
    repo.write("content/b.md", body + "more\nand more\n")
    c4 = repo.commit("edit b")
    repo.git("mv", "content/b.md", "content/c.md")
    repo.write("content/c.md", body + "more\nand more\nrenamed with an edit\n")
    c5 = repo.commit("rename b to c")

    history = read_history(repo.root)

    revs = history.of("content/c.md")
    assert [r.commit for r in revs] == [c5, c4, c3, c2, c1]
    assert [(r.status, r.path) for r in revs] == [
        ("R", "content/c.md"),
        ("M", "content/b.md"),
        ("R", "content/b.md"),
        ("M", "content/a.md"),
        ("A", "content/a.md"),
    ]
    assert history.of("content/a.md") == []
    assert history.of("content/b.md") == []
    assert list(history.revisions) == ["content/c.md"]
    # Revision.path is what is needed to fetch the old text after renames.
    assert blob_at(repo.root, revs[3].commit, revs[3].path) == (body + "more\n").encode()


def test_each_revision_carries_its_blob_id(repo: Repo) -> None:
    """The one git log also gives every revision's blob id, renames included; it equals
    blob_id() of the content, so a revision holding some content is found without reading."""
    body = "".join(f"line {i}\n" for i in range(20))
    versions = [body, body + "more\n", body + "more\n", body + "more\nrenamed and edited\n"]
    repo.write("content/a.md", versions[0])
    repo.commit("create a")
    repo.write("content/a.md", versions[1])
    repo.commit("edit a")
    repo.git("mv", "content/a.md", "content/b.md")
    repo.commit("rename a to b")
    repo.git("mv", "content/b.md", "content/c.md")
    repo.write("content/c.md", versions[3])
    repo.commit("rename b to c with an edit")

    history = read_history(repo.root)

    revs = history.of("content/c.md")
    assert [r.blob for r in revs] == [blob_id(v.encode()) for v in reversed(versions)]
    for rev in revs:
        assert rev.blob == repo.git("rev-parse", f"{rev.commit}:{rev.path}").strip()
    assert history.object_format == "sha1"
    assert blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git hash-object


def test_old_name_reused_after_rename_starts_fresh(repo: Repo) -> None:
    repo.write("content/a.md", "original a\n" * 5)
    c1 = repo.commit("create a")
    repo.git("mv", "content/a.md", "content/b.md")
    c2 = repo.commit("rename a to b")
    repo.write("content/a.md", "a brand new chapter\n")
    c3 = repo.commit("new a")

    history = read_history(repo.root)

    assert [r.commit for r in history.of("content/a.md")] == [c3]
    assert [r.commit for r in history.of("content/b.md")] == [c2, c1]


def test_deleted_file_disappears_and_readded_file_starts_fresh(repo: Repo) -> None:
    repo.write("content/gone.md", "gone\n")
    repo.write("content/back.md", "first life\n")
    repo.commit("add both")
    repo.write("content/back.md", "first life, edited\n")
    repo.commit("edit back")
    (repo.root / "content/gone.md").unlink()
    (repo.root / "content/back.md").unlink()
    repo.commit("delete both")
    repo.write("content/back.md", "second life\n")
    c4 = repo.commit("bring back")
    repo.write("content/back.md", "second life, edited\n")
    c5 = repo.commit("edit the new back")

    history = read_history(repo.root)

    assert list(history.revisions) == ["content/back.md"]
    assert [r.commit for r in history.of("content/back.md")] == [c5, c4]
    assert [r.status for r in history.of("content/back.md")] == ["M", "A"]
    assert history.of("content/gone.md") == []


def test_two_files_in_one_commit(repo: Repo) -> None:
    repo.write("content/one.md", "1\n")
    repo.write("reviews/one.yaml", "verdict: ok\n")
    c1 = repo.commit("chapter and its review")
    repo.write("content/one.md", "1\n1\n")
    c2 = repo.commit("edit chapter only")

    history = read_history(repo.root)

    assert [r.commit for r in history.of("content/one.md")] == [c2, c1]
    assert [r.commit for r in history.of("reviews/one.yaml")] == [c1]
    both = history.of("content/one.md")[1], history.of("reviews/one.yaml")[0]
    assert [r.path for r in both] == ["content/one.md", "reviews/one.yaml"]
    assert both[0].subject == both[1].subject == "chapter and its review"


def test_files_outside_content_and_reviews_are_ignored(repo: Repo) -> None:
    repo.write("README.md", "readme\n")
    repo.write("docs/x.md", "docs\n")
    repo.write("contentious/x.md", "shares a prefix with content\n")
    repo.write("content/x.md", "x\n")
    repo.write("reviews/x.yaml", "r\n")
    c1 = repo.commit("everything")
    repo.write("README.md", "readme, edited\n")
    repo.write("contentious/x.md", "edited\n")
    repo.commit("outside only")

    history = read_history(repo.root)

    assert sorted(history.revisions) == ["content/x.md", "reviews/x.yaml"]
    assert [r.commit for r in history.of("content/x.md")] == [c1]
    assert history.of("README.md") == []
    assert history.of("contentious/x.md") == []

    only_content = read_history(repo.root, paths_under=("content/",))
    assert list(only_content.revisions) == ["content/x.md"]

    # Prefixes are literal directory names, not glob patterns.
    repo.write("notes[ab]/n.md", "n\n")
    repo.write("notesa/n.md", "a\n")
    repo.commit("notes")
    literal = read_history(repo.root, paths_under=("notes[ab]/",))
    assert list(literal.revisions) == ["notes[ab]/n.md"]


def test_unicode_file_names_and_subjects(repo: Repo) -> None:
    names = [
        "content/café – ñandú.md",
        "content/日本語/章 1.md",
        "content/quote\"apos'back\\slash.md",
        "content/tab\tand\nnewline.md",
        "content/-leading-dash.md",
    ]
    subject = 'Füße & <b>"quotes"</b> 100% %s %x00 \x1e{} 📚'
    for name in names:
        repo.write(name, f"{name}\n")
    c1 = repo.commit(
        subject + "\n\nBody line\nsecond body line", author=("Zoë Łukasz", "zoë@例え.jp")
    )
    repo.git("mv", names[0], "content/überarbeitet – ñandú.md")
    c2 = repo.commit("Umbenennung → neu")

    history = read_history(repo.root)

    assert sorted(history.revisions) == sorted([*names[1:], "content/überarbeitet – ñandú.md"])
    for name in names[1:]:
        (rev,) = history.of(name)
        assert (rev.commit, rev.path, rev.subject) == (c1, name, subject)
        assert (rev.author_name, rev.author_email) == ("Zoë Łukasz", "zoë@例え.jp")
    renamed = history.of("content/überarbeitet – ñandú.md")
    assert [(r.commit, r.status, r.path) for r in renamed] == [
        (c2, "R", "content/überarbeitet – ñandú.md"),
        (c1, "A", names[0]),
    ]
    assert renamed[0].subject == "Umbenennung → neu"
    missing = (c1, "content/no\nsuch.md")
    got = blobs_at(repo.root, [(c1, n) for n in names] + [missing])
    assert got == {(c1, n): f"{n}\n".encode() for n in names} | {missing: None}


@pytest.mark.skipif(sys.platform != "linux", reason="needs byte file names")
def test_file_name_that_is_not_utf8(repo: Repo) -> None:
    name = os.fsdecode(b"content/latin1-caf\xe9.md")
    (repo.root / "content").mkdir()
    (repo.root / name).write_bytes(b"old bytes\n")
    c1 = repo.commit("add a latin-1 name")

    history = read_history(repo.root)

    assert [r.commit for r in history.of(name)] == [c1]
    assert blob_at(repo.root, c1, name) == b"old bytes\n"


def test_merge_commits_do_not_confuse_the_parser(repo: Repo) -> None:
    repo.write("content/main.md", "main\n")
    repo.write("content/side.md", "side\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("content/side.md", "side, edited on the branch\n")
    c_side = repo.commit("edit on side")
    repo.git("checkout", "-q", "main")
    repo.write("content/main.md", "main, edited\n")
    c_main = repo.commit("edit on main")
    repo.git(
        "-c",
        "user.name=Merger",
        "-c",
        "user.email=merger@example.org",
        "merge",
        "-q",
        "--no-ff",
        "side",
        "-m",
        "Merge side",
        date="2024-02-01T00:00:00+00:00",
    )
    merge_sha = repo.git("rev-parse", "HEAD").strip()
    repo.write("content/side.md", "side, edited after the merge\n")
    c_after = repo.commit("after merge", date="2024-02-02T00:00:00+00:00")

    history = read_history(repo.root)

    side = history.of("content/side.md")
    assert subjects(side) == ["after merge", "edit on side", "base"]
    assert [r.commit for r in side[:2]] == [c_after, c_side]
    assert subjects(history.of("content/main.md")) == ["edit on main", "base"]
    assert history.of("content/main.md")[0].commit == c_main
    every = [r.commit for revs in history.revisions.values() for r in revs]
    assert merge_sha not in every


def test_not_a_repository_or_no_commits_gives_empty_history(tmp_path: Path) -> None:
    # bok drops GIT_CEILING_DIRECTORIES with the caller's other Git variables, so this needs
    # outside any repository.
    if subprocess.run(["git", "-C", str(tmp_path), "rev-parse"], capture_output=True,
                      env={**os.environ, **ISOLATED_GIT}).returncode == 0:
        pytest.skip("the temporary folder is inside a Git repository")
    plain = tmp_path / "plain"
    (plain / "content").mkdir(parents=True)
    (plain / "content/x.md").write_text("x\n")

    for root in (plain, tmp_path / "does-not-exist"):
        history = read_history(root)
        assert isinstance(history, History)
        assert history.revisions == {}
        assert history.of("content/x.md") == []
        assert history.head is None
        assert not is_shallow(root)
        assert blob_at(root, "HEAD", "content/x.md") is None

    empty = Repo(tmp_path / "empty")
    empty.write("content/x.md", "staged but never committed\n")
    empty.git("add", "-A")
    history = read_history(empty.root)
    assert history.revisions == {}
    assert history.head is None


def test_shallow_clone_is_detected(repo: Repo, tmp_path: Path) -> None:
    repo.write("content/x.md", "1\n")
    repo.commit("first")
    repo.write("content/x.md", "2\n")
    repo.commit("second")
    repo.write("content/x.md", "3\n")
    c3 = repo.commit("third")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone)],
        check=True,
        env={**os.environ, **ISOLATED_GIT},
    )

    history = read_history(clone)

    assert history.shallow is True
    assert is_shallow(clone)
    # Only the boundary commit is present, and git reports it as adding the file.
    assert [(r.commit, r.status) for r in history.of("content/x.md")] == [(c3, "A")]
    assert read_history(repo.root).shallow is False


def _book(repo: Repo, files: int, commits: int) -> None:
    for i in range(files):
        repo.write(f"content/ch{i:03}.md", f"chapter {i}\n")
        repo.write(f"reviews/ch{i:03}.yaml", f"review {i}\n")
    repo.commit("initial")
    for c in range(commits):
        for i in range(c % files, files, 3):
            repo.write(f"content/ch{i:03}.md", f"chapter {i}, revision {c}\n")
        repo.commit(f"revision {c}")


def test_git_processes_do_not_grow_with_the_number_of_files(
    tmp_path: Path, count_spawns: list[list[str]]
) -> None:
    small, large = Repo(tmp_path / "small"), Repo(tmp_path / "large")
    _book(small, files=2, commits=3)
    _book(large, files=30, commits=10)

    count_spawns.clear()
    h_small = read_history(small.root)
    spawned_small = len(count_spawns)
    count_spawns.clear()
    h_large = read_history(large.root)
    spawned_large = len(count_spawns)

    assert len(h_small.revisions) == 4
    assert len(h_large.revisions) == 60
    assert all(cmd[0] == "git" for cmd in count_spawns)
    assert h_small.git_processes == spawned_small
    assert h_large.git_processes == spawned_large
    assert spawned_small == spawned_large <= 3
    assert sum(1 for cmd in count_spawns if "log" in cmd) == 1


def test_blobs_at_returns_old_content_and_none_for_missing(
    repo: Repo, count_spawns: list[list[str]]
) -> None:
    repo.write("content/x.md", "version one\n")
    repo.write("content/y.md", "")
    c1 = repo.commit("one")
    repo.write("content/x.md", "version two\n")
    c2 = repo.commit("two")
    (repo.root / "content/y.md").unlink()
    c3 = repo.commit("delete y")

    count_spawns.clear()
    got = blobs_at(
        repo.root,
        [
            (c1, "content/x.md"),
            (c2, "content/x.md"),
            (c1, "content/y.md"),
            (c3, "content/y.md"),
            (c1, "content/missing.md"),
            ("0" * 40, "content/x.md"),
            (c1, "content"),
            (c2, "content/x.md"),  # duplicate
        ],
    )

    assert len(count_spawns) == 1
    assert got == {
        (c1, "content/x.md"): b"version one\n",
        (c2, "content/x.md"): b"version two\n",
        (c1, "content/y.md"): b"",
        (c3, "content/y.md"): None,
        (c1, "content/missing.md"): None,
        ("0" * 40, "content/x.md"): None,
        (c1, "content"): None,
    }
    assert blob_at(repo.root, c1, "content/x.md") == b"version one\n"
    assert blob_at(repo.root, c3, "content/x.md") == b"version two\n"
    assert blob_at(repo.root, c3, "content/y.md") is None
    assert blobs_at(repo.root, []) == {}


def test_repo_root_may_be_a_subdirectory_of_the_repository(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "mono")
    repo.write("book/content/x.md", "in the book\n")
    repo.write("content/x.md", "not in the book\n")
    c1 = repo.commit("add")

    history = read_history(repo.root / "book")

    assert list(history.revisions) == ["content/x.md"]
    assert [(r.commit, r.path) for r in history.of("content/x.md")] == [(c1, "content/x.md")]
    assert blob_at(repo.root / "book", c1, "content/x.md") == b"in the book\n"


def test_hostile_user_config_does_not_change_the_result(
    repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write("content/a.md", "a\n" * 10)
    repo.commit("créer a")
    repo.git("mv", "content/a.md", "content/b.md")
    repo.commit("renommer a → b")
    repo.write("content/b.md", "a\n" * 10 + "b\n")
    repo.commit("modifier b")
    expected = read_history(repo.root, paths_under=("content/",)).revisions
    expected_one = read_history(repo.root, paths_under=("content/b.md",)).revisions

    config = tmp_path / "hostile.gitconfig"
    config.write_text(
        "[color]\n\tui = always\n"
        "[log]\n\tshowSignature = true\n\tfollow = true\n\tshowRoot = false\n"
        "[diff]\n\trelative = true\n\trenames = false\n"
        "[i18n]\n\tlogOutputEncoding = ISO-8859-1\n"
        "[core]\n\tquotepath = true\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "somewhere-else"))

    hostile = read_history(repo.root, paths_under=("content/",)).revisions
    hostile_one = read_history(repo.root, paths_under=("content/b.md",)).revisions

    assert subjects(expected["content/b.md"]) == ["modifier b", "renommer a → b", "créer a"]
    assert hostile == expected
    assert subjects(expected_one["content/b.md"]) == ["modifier b", "renommer a → b"]
    assert hostile_one == expected_one
