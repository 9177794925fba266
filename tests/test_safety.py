"""No command destroys a user's files: every refusal through the real CLI on a real book, with
the whole tree (book, .git, an uncommitted chapter, folders beside it) compared byte for byte
before and after.

Every test runs from inside its temporary book (``monkeypatch.chdir``), so that even a bok
that resolved a relative path against the working directory could only harm the test's own
files.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from bok import sitedir
from bok.cli import cli

from .conftest import TODAY, git_env
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
    book.write("hooks/hook.py", (
        "from pathlib import Path\n"
        "def on_post_build(config):\n"
        f"    Path({str(book.root / 'site' / 'mine.txt')!r}).write_text('mine')\n"
        f"    Path({str(book.root / 'site' / sitedir.MARK)!r}).unlink()\n"))
    book.write("mkdocs.yml", MKDOCS + "hooks:\n  - hooks/hook.py\n")
    refused(book.bok("build"), "changed during the build")
    assert (book.root / "site" / "mine.txt").read_text() == "mine"
    assert not [p.name for p in book.root.iterdir() if p.name.startswith(".site.")]


# -- bok init ----------------------------------------------------------------------------------

def run_init(tmp_path: Path, target: Path):
    runner = CliRunner(env={"HOME": str(tmp_path / "home"), "GIT_CONFIG_NOSYSTEM": "1"})
    return runner.invoke(cli, ["init", str(target)], catch_exceptions=False)


@pytest.fixture
def place(tmp_path, monkeypatch):
    """An empty folder to run bok from, with a home of its own."""
    (tmp_path / "home").mkdir(exist_ok=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_refuses_a_file(place):
    (place / "notes").write_text("my notes\n")
    before = snapshot(place)
    refused(run_init(place, place / "notes"), "notes is a file, not a folder")
    assert snapshot(place) == before


def test_init_adds_to_a_folder_that_holds_files_and_overwrites_none(place):
    folder = place / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me\n")
    (folder / "README.md").write_text("# My notes\n\nMine.\n")
    (folder / ".gitignore").write_text("*.pyc")
    result = run_init(place, folder)
    assert result.exit_code == 0, result.output
    assert (folder / "notes.txt").read_text() == "keep me\n"
    assert (folder / "README.md").read_text().startswith("# My notes\n\nMine.\n\n")
    assert "bok check" in (folder / "README.md").read_text()
    assert (folder / ".gitignore").read_text() == ("*.pyc\nsite/\n.bok/stage/\n.bok/preview/\n"
                                                     ".bok/cache/\n")
    assert "extended README.md" in result.output and "created README.md" not in result.output
    assert "extended .gitignore" in result.output
    assert "created .git (git init, branch main)" in result.output and (folder / ".git").is_dir()


@pytest.mark.parametrize("link,points_to", [
    ("mkdocs.yml", "elsewhere.yml"),  # a dangling link: writing would create its target
    ("content", "elsewhere"),
    ("README.md", "elsewhere.md"),
])
def test_init_never_writes_through_a_link(place, link, points_to):
    folder = place / "mine"
    folder.mkdir()
    if points_to == "elsewhere":
        (place / "elsewhere").mkdir()
    elif link == "README.md":
        (place / points_to).write_text("# Someone else's\n")
    (folder / link).symlink_to(place / points_to)
    before = snapshot(place)
    refused(run_init(place, folder), link, "symbolic link")
    assert snapshot(place) == before


def test_init_in_a_folder_of_a_repository_does_not_nest_one(place):
    outer = place / "project"
    outer.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(outer)], check=True)
    (outer / "app.py").write_text("print('hi')\n")
    subprocess.run(["git", "-C", str(outer), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(outer), "commit", "-qm", "app"], check=True, env=git_env())
    head = subprocess.run(["git", "-C", str(outer), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout
    result = run_init(place, outer / "handbook")
    assert result.exit_code == 0, result.output
    assert not (outer / "handbook" / ".git").exists()
    assert f"kept the Git repository at {outer}" in result.output
    assert subprocess.run(["git", "-C", str(outer), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout == head
    check = CliRunner().invoke(cli, ["-C", str(outer / "handbook"), "check"])
    assert check.exit_code == 0, check.output


# -- bok new -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "../outside", "/tmp/outside", "content/../..", "brakes/../../../outside",
    "..\\..\\outside", "brakes/./x", "brakes//x", "C:/outside"])
def test_new_refuses_a_path_that_leaves_the_book(book, tmp_path, path):
    before = snapshot(tmp_path)
    refused(book.bok("new", path, "--title", "X", "--author", "alice"), path)
    assert snapshot(tmp_path) == before


def test_new_never_writes_through_a_linked_folder_or_file(book, tmp_path):
    (tmp_path / "outside").mkdir()
    (book.root / "content/brakes/sub").symlink_to(tmp_path / "outside")
    (book.root / "content/brakes/x.md").symlink_to(tmp_path / "outside.md")  # dangling
    before = snapshot(tmp_path)
    refused(book.bok("new", "brakes/sub/x", "--title", "X", "--author", "alice"),
            "content/brakes/sub is a symbolic link")
    refused(book.bok("new", "brakes/x", "--title", "X", "--author", "alice"),
            "content/brakes/x.md is a symbolic link")
    assert snapshot(tmp_path) == before


def test_new_refuses_an_existing_chapter(book, tmp_path):
    before = snapshot(tmp_path)
    refused(book.bok("new", UNCOMMITTED, "--title", "X", "--author", "alice"),
            "already exists")
    assert snapshot(tmp_path) == before


def test_review_never_writes_a_record_through_a_linked_folder(book, tmp_path):
    (tmp_path / "outside").mkdir()
    (book.root / "reviews/brakes/unsaved").symlink_to(tmp_path / "outside")
    before = snapshot(tmp_path)
    refused(book.bok("sign", UNCOMMITTED, "--as", "alice", "--key", str(book.keys["alice"])),
            "reviews/brakes/unsaved is a symbolic link")
    assert snapshot(tmp_path) == before


# -- bok mv ------------------------------------------------------------------------------------

def _folder_named_like_a_chapter(book, tmp_path):
    (book.root / "content/brakes/taken.md").mkdir()


def _record_at_the_destination(book, tmp_path):
    book.write("reviews/brakes/abs-new/dave.md", "a stale record\n")


def _linked_chapter(book, tmp_path):
    (book.root / "content/brakes/linked.md").symlink_to(book.root / ABS)


def _linked_folder(book, tmp_path):
    (tmp_path / "outside").mkdir()
    (book.root / "content/brakes/sub").symlink_to(tmp_path / "outside")


def _linked_records_folder(book, tmp_path):
    (tmp_path / "outside").mkdir()
    (book.root / "reviews/brakes/abs-new").symlink_to(tmp_path / "outside")


@pytest.mark.parametrize("setup,old,new,words", [
    (None, ABS, UNCOMMITTED, ["already exists"]),
    (_folder_named_like_a_chapter, ABS, "content/brakes/taken.md", ["already exists"]),
    (None, ABS, "content/brakes/../engines/x.md", ["'..'"]),
    (None, ABS, "../outside", ["'..'"]),
    (None, ABS, "/tmp/outside.md", ["leading '/'"]),
    (None, ABS, ABS, ["same path"]),
    (None, "brakes/abs", ABS, ["same path"]),
    (None, ABS, "content/engines/abs.md", ["within its domain"]),
    (_record_at_the_destination, ABS, "content/brakes/abs-new.md", ["already holds records"]),
    (_linked_chapter, "content/brakes/linked.md", "content/brakes/x.md", ["symbolic link"]),
    (_linked_folder, ABS, "content/brakes/sub/abs.md", ["content/brakes/sub is a symbolic"]),
    (_linked_records_folder, ABS, "content/brakes/abs-new.md", ["reviews/brakes/abs-new is"]),
])
def test_mv_refuses_what_could_lose_or_misplace_a_file(book, tmp_path, setup, old, new, words):
    if setup:
        setup(book, tmp_path)
    before = snapshot(tmp_path)
    refused(book.bok("mv", old, new), *words)
    assert snapshot(tmp_path) == before


def test_mv_is_all_or_nothing(book, tmp_path, monkeypatch):
    """The third rename (bob's record) fails: the chapter and alice's record go back."""
    real_replace = os.replace
    calls = []

    def failing(src, dst):
        calls.append(src)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    before = snapshot(tmp_path)
    monkeypatch.setattr(os, "replace", failing)
    result = book.bok("mv", ABS, "content/brakes/abs-new.md")
    monkeypatch.undo()
    refused(result, "No space left on device", "nothing was moved")
    assert len(calls) == 5  # three tried, two undone
    assert snapshot(tmp_path) == before


def test_mv_stages_the_move_like_git_mv(book):
    result = book.bok("mv", ABS, "content/brakes/abs-new.md")
    assert result.exit_code == 0, result.output
    assert "staged the move in Git" in result.output
    staged = book.git("diff", "--cached", "-M", "--name-status").splitlines()
    assert sorted(line.split("\t", 1)[1] for line in staged) == [
        "content/brakes/abs.md\tcontent/brakes/abs-new.md",
        "reviews/brakes/abs/alice.md\treviews/brakes/abs-new/alice.md",
        "reviews/brakes/abs/bob.md\treviews/brakes/abs-new/bob.md",
        "reviews/brakes/abs/carol.md\treviews/brakes/abs-new/carol.md"]
    assert all(line.startswith("R100") for line in staged)


def test_mv_of_an_untracked_chapter_stages_nothing(book):
    result = book.bok("mv", UNCOMMITTED, "content/brakes/saved.md")
    assert result.exit_code == 0, result.output
    assert "staged" not in result.output
    assert book.git("diff", "--cached", "--name-only") == ""
    assert book.git("status", "--porcelain") == "?? content/brakes/saved.md"


# -- bok codeowners ----------------------------------------------------------------------------

@pytest.mark.parametrize("output,words", [
    ("content/x.md", ["only a file named CODEOWNERS"]),
    ("reviews/members.yml", ["only a file named CODEOWNERS"]),
    ("mkdocs.yml", ["only a file named CODEOWNERS"]),
    ("content/CODEOWNERS", ["never from the book's content/"]),
    ("../CODEOWNERS", ["outside the book"]),
    ("ABSOLUTE", ["outside the book"]),
    ("linked/CODEOWNERS", ["linked is a symbolic link"]),
    (".github/CODEOWNERS", [".github/CODEOWNERS is a symbolic link"]),
])
def test_codeowners_refuses_to_write_over_other_files(book, tmp_path, output, words):
    (tmp_path / "elsewhere").mkdir()
    (book.root / "linked").symlink_to(tmp_path / "elsewhere")
    (book.root / ".github").mkdir()
    (book.root / ".github/CODEOWNERS").symlink_to(tmp_path / "elsewhere" / "stolen")
    if output == "ABSOLUTE":
        output = str(tmp_path / "elsewhere" / "CODEOWNERS")
    before = snapshot(tmp_path)
    refused(book.bok("codeowners", "--output", output), *words)
    assert snapshot(tmp_path) == before


def test_codeowners_writes_relative_to_the_book_and_says_where(book, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = book.bok("codeowners")
    assert result.exit_code == 0, result.output
    assert result.output == "wrote .github/CODEOWNERS\n"
    result = book.bok("codeowners", "--output", "CODEOWNERS")
    assert result.output == "wrote CODEOWNERS\n"
    assert (book.root / "CODEOWNERS").read_text() == book.read(".github/CODEOWNERS")
    assert not (tmp_path / "CODEOWNERS").exists()


# -- bok serve ---------------------------------------------------------------------------------

def test_serve_writes_only_into_a_temporary_folder_it_removes(book, tmp_path):
    temp = tmp_path / "tmp"
    temp.mkdir()
    before = snapshot(book.root)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TMPDIR": str(temp), "BOK_TODAY": TODAY}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("bok")), "-C", str(book.root),
                             "serve", "-a", f"127.0.0.1:{port}"], env=env,
                            stderr=subprocess.PIPE, text=True,
                            # a suite run in the background ignores SIGINT; serve must not
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in proc.stderr:
            if "Serving on" in line:
                break
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/brakes/abs/", timeout=30) as r:
            assert "ABS" in r.read().decode()
        served_from = [p.name for p in temp.iterdir()]
        assert any(name.startswith("mkdocs_") for name in served_from), served_from
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert list(temp.iterdir()) == []
    # besides its temporary site, serve writes only bok's own staged book (.bok/stage/) and
    # its cache (.bok/cache/)
    after = {path: entry for path, entry in snapshot(book.root).items()
             if path != ".bok" and not path.startswith((".bok/stage", ".bok/cache"))}
    assert after == before
