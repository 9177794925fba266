"""No command destroys a user's files: every refusal through the real CLI on a real book, with
the whole tree (book, .git, an uncommitted chapter, folders beside it) compared byte for byte
before and after.

Every test runs from inside its temporary book (``monkeypatch.chdir``), so that even a bok
that resolved a relative path against the working directory could only harm the test's own
files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bok import sitedir

from .test_site import MKDOCS

ABS = "content/brakes/abs.md"
UNCOMMITTED = "content/brakes/unsaved.md"


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder`` (links not followed): its kind, mode and bytes."""
    seen: dict[str, tuple] = {}
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(top) / name
            info = path.lstat()
            rel = path.relative_to(folder).as_posix()
            if stat.S_ISLNK(info.st_mode):
                seen[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                seen[rel] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                seen[rel] = ("file", stat.S_IMODE(info.st_mode), path.read_bytes())
    return seen


def refused(result, *words: str) -> None:
    """Exit status 1, one line, no traceback, naming what it must."""
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for word in words:
        assert word in lines[0], result.output


@pytest.fixture
def book(repo, monkeypatch, tmp_path):
    """A buildable book with an endorsed chapter, a chapter nobody committed, and a home
    folder of its own beside it; bok runs from inside the book."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(repo.root)
    repo.write("mkdocs.yml", MKDOCS)
    repo.chapter(ABS, title="ABS")
    repo.endorse_fully(ABS)
    repo.commit("abs")
    repo.chapter(UNCOMMITTED, title="Not saved anywhere else")
    return repo


# -- bok build --site-dir ----------------------------------------------------------------------

@pytest.mark.parametrize("site_dir,words", [
    ("content", ["book's content/"]),
    (".", ["the book itself"]),
    ("..", ["holds the book"]),
    ("reviews", ["book's reviews/"]),
    (".git", ["book's .git/"]),
    ("content/site", ["inside the book's content/"]),
    ("reviews/brakes/site", ["inside the book's reviews/"]),
    (".git/site", ["inside the book's .git/"]),
    ("mkdocs.yml", ["mkdocs.yml", "is a file"]),
    (".github", [".github", "files bok did not build"]),
    ("../notes", ["files bok did not build (notes.txt)"]),
    ("../home", ["your home folder"]),
    ("../link-to-book", ["a link to .", "the book itself"]),
    ("../link-to-home", ["link-to-home", "your home folder"]),
    ("../link-to-content", ["link-to-content", "book's content/"]),
])
def test_build_refuses_a_site_dir_it_must_not_replace(book, tmp_path, site_dir, words):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.txt").write_text("mine\n")
    (tmp_path / "link-to-book").symlink_to(book.root)
    (tmp_path / "link-to-home").symlink_to(tmp_path / "home")
    (tmp_path / "link-to-content").symlink_to(book.root / "content")
    book.write(".github/workflows/x.yml", "on: push\n")
    before = snapshot(tmp_path)
    result = book.bok("build", "--site-dir", site_dir)
    refused(result, "refusing to build the site into", *words)
    assert snapshot(tmp_path) == before


def test_build_refuses_a_site_an_earlier_bok_built_without_its_mark(book, tmp_path):
    assert book.bok("build").exit_code == 0
    (book.root / "site" / sitedir.MARK).unlink()
    before = snapshot(tmp_path)
    refused(book.bok("build"), "earlier bok built", "delete it once by hand")
    assert snapshot(tmp_path) == before


def test_a_mark_does_not_make_the_book_replaceable(book, tmp_path):
    sitedir.mark(book.root)
    sitedir.mark(book.root / "content")
    before = snapshot(tmp_path)
    refused(book.bok("build", "--site-dir", "."), "the book itself")
    refused(book.bok("build", "--site-dir", "content"), "book's content/")
    assert snapshot(tmp_path) == before


def test_a_forged_or_linked_mark_is_no_mark(book, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "page.html").write_text("mine\n")
    (other / sitedir.MARK).write_text("not bok's\n")
    (tmp_path / "real-mark").write_text('{"generator": "bok"}\n')
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / sitedir.MARK).symlink_to(tmp_path / "real-mark")
    before = snapshot(tmp_path)
    refused(book.bok("build", "--site-dir", str(other)), "files bok did not build")
    refused(book.bok("build", "--site-dir", str(linked)), "files bok did not build")
    assert snapshot(tmp_path) == before


def test_second_build_replaces_the_first_and_leaves_nothing_behind(book, tmp_path):
    assert book.bok("build").exit_code == 0
    site = book.root / "site"
    assert sitedir.is_bok_site(site)
    (site / "stale.html").write_text("from an older build\n")
    result = book.bok("build")
    assert result.exit_code == 0, result.output
    assert not (site / "stale.html").exists() and (site / "brakes/abs/index.html").is_file()
    assert sitedir.is_bok_site(site)
    leftovers = [p.name for p in book.root.iterdir() if p.name.startswith(".site.")]
    assert leftovers == []


@pytest.mark.parametrize("site_dir", ["empty", "missing/deeper"])
def test_build_into_an_empty_or_missing_folder_beside_the_book(book, tmp_path, monkeypatch,
                                                               site_dir):
    (tmp_path / "empty").mkdir()
    (tmp_path / "elsewhere" / "deeper").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "elsewhere" / "deeper")
    result = book.bok("build", "--site-dir", f"../{site_dir}")
    assert result.exit_code == 0, result.output
    # relative to the book (-C), not to the folder bok was started in
    assert (tmp_path / site_dir / "brakes/abs/index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {"book", "home", "empty", "elsewhere", site_dir.split("/")[0]})


def test_build_through_a_link_replaces_the_folder_it_points_to(book, tmp_path):
    real = tmp_path / "www" / "v1"
    real.mkdir(parents=True)
    (tmp_path / "www" / "current").symlink_to(real)
    result = book.bok("build", "--site-dir", str(tmp_path / "www" / "current"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "www" / "current").is_symlink()
    assert (real / "brakes/abs/index.html").is_file()
    assert sorted(p.name for p in (tmp_path / "www").iterdir()) == ["current", "v1"]


@pytest.mark.parametrize("umask,folders,files", [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)])
def test_site_has_the_usual_permissions(book, umask, folders, files):
    saved = os.umask(umask)
    try:
        result = book.bok("build")
    finally:
        os.umask(saved)
    assert result.exit_code == 0, result.output
    site = book.root / "site"
    modes = {stat.S_IMODE(p.lstat().st_mode) for p in [site, *site.rglob("*")] if p.is_dir()}
    assert modes == {folders}
    modes = {stat.S_IMODE(p.lstat().st_mode) for p in site.rglob("*") if p.is_file()}
    assert modes == {files}


def test_failed_build_leaves_the_previous_site_and_nothing_else(book, tmp_path):
    assert book.bok("build").exit_code == 0
    book.write("mkdocs.yml", MKDOCS.replace("name: material", "name: no-such-theme"))
    before = snapshot(tmp_path)
    refused(book.bok("build"), "the previous site is untouched")
    assert snapshot(tmp_path) == before


def test_a_site_dir_that_changes_during_the_build_is_kept(book, tmp_path):
    """A folder that was bok's when the build began but holds someone's file when the build
    ends is never deleted."""
    assert book.bok("build").exit_code == 0
    hook = book.write("hook.py", (
        "from pathlib import Path\n"
        "def on_post_build(config):\n"
        f"    Path({str(book.root / 'site' / 'mine.txt')!r}).write_text('mine')\n"
        f"    Path({str(book.root / 'site' / sitedir.MARK)!r}).unlink()\n"))
    book.write("mkdocs.yml", MKDOCS + f"hooks:\n  - {hook}\n")
    refused(book.bok("build"), "changed during the build")
    assert (book.root / "site" / "mine.txt").read_text() == "mine"
    assert not [p.name for p in book.root.iterdir() if p.name.startswith(".site.")]
