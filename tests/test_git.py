"""bok.git, the one module that runs Git: a caller's environment cannot redirect it, no other
module starts git, and a base revision that cannot be read says why. Real repositories."""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import bok
from bok import git
from bok.cli import cli

from .conftest import findings, state_of
from .test_site import MKDOCS

ABS = "content/brakes/abs.md"
NEW = "content/brakes/new.md"


def _other_repository(tmp_path: Path) -> Path:
    """The repository a Git hook's environment would point at: a 'main' of its own."""
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", "-b", "main", str(other)], check=True)
    (other / "content").mkdir()
    (other / "content/elsewhere.md").write_text("# Another repository\n")
    subprocess.run(["git", "-C", str(other), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(other), "-c", "user.name=x", "-c", "user.email=x@x.invalid",
                    "commit", "-q", "-m", "other"], check=True)
    return other


def _hook_environment(monkeypatch: pytest.MonkeyPatch, other: Path) -> None:
    """What git exports to a hook (GIT_DIR, GIT_INDEX_FILE...) and worse, all for ``other``."""
    for name, value in {
        "GIT_DIR": str(other / ".git"),
        "GIT_WORK_TREE": str(other),
        "GIT_INDEX_FILE": str(other / ".git/index"),
        "GIT_OBJECT_DIRECTORY": str(other / ".git/objects"),
        "GIT_NAMESPACE": "hook",
        "GIT_CONFIG_PARAMETERS": "'core.bare'='true'",
        "GIT_GLOB_PATHSPECS": "1",
    }.items():
        monkeypatch.setenv(name, value)


def test_a_hook_environment_does_not_redirect_check_status_or_build(repo, tmp_path,
                                                                      monkeypatch):
    repo.write("mkdocs.yml", MKDOCS)
    repo.chapter(ABS, title="ABS v1", body="The endorsed procedure.\n")
    repo.endorse_fully(ABS)
    repo.commit("v1 endorsed")
    repo.chapter(ABS, title="ABS v2", body="An unreviewed rewrite.\n")
    main = repo.commit("v2 pushed past the gate")
    repo.git("checkout", "-q", "-b", "change")
    repo.chapter(NEW, title="New")
    _hook_environment(monkeypatch, _other_repository(tmp_path))

    result = repo.bok("check", "--base", "main", "--format", "json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.output)
    assert data["base_commit"] == main
    assert findings(data, "not-endorsed", NEW)[0]["severity"] == "error"

    result = repo.bok("status", "--format", "json")
    assert state_of(json.loads(result.output), ABS) == "pending"  # history of the book's repo

    result = repo.bok("build")
    assert result.exit_code == 0, result.output
    html = (repo.root / "site/brakes/abs/index.html").read_text(encoding="utf-8")
    assert "The endorsed procedure." in html and main[:7] in html  # the book's own history
    assert "unreviewed rewrite" not in html


def test_init_in_a_hook_environment_makes_its_own_repository(tmp_path, monkeypatch):
    other = _other_repository(tmp_path)
    _hook_environment(monkeypatch, other)
    target = tmp_path / "book"
    result = CliRunner().invoke(cli, ["init", str(target)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (target / ".git/HEAD").is_file()  # not GIT_DIR's repository initialised again


def test_environment_drops_what_git_calls_repository_local():
    """``git rev-parse --local-env-vars`` lists what Git itself clears for another repository."""
    local = subprocess.run(["git", "rev-parse", "--local-env-vars"], capture_output=True,
                           text=True, check=True).stdout.split()
    hostile = [*local, "GIT_NAMESPACE", "GIT_CEILING_DIRECTORIES", "GIT_GLOB_PATHSPECS",
               "GIT_ATTR_SOURCE", "GIT_DISCOVERY_ACROSS_FILESYSTEM"]
    assert "GIT_DIR" in local and "GIT_INDEX_FILE" in local
    with pytest.MonkeyPatch.context() as patch:
        for name in hostile:
            patch.setenv(name, "x")
        patch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
        env = git.environment()
    assert not set(hostile) & set(env)
    assert env["GIT_CONFIG_GLOBAL"] == "/dev/null"  # the user's own config files still count


def _modules() -> list[Path]:
    """The installed package's modules (not the source tree's)."""
    return sorted(Path(bok.__file__).parent.rglob("*.py"))


#: Modules that start processes, and the program each runs. Git belongs in bok.git only.
PROCESSES = {"git.py": "git", "sshsig.py": "ssh-keygen", "pagefind.py": "pagefind",
             "engines.py": "zensical"}


def test_only_the_git_module_starts_git():
    starters = []
    for module in _modules():
        tree = ast.parse(module.read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree)
                    if isinstance(node, (ast.Import, ast.ImportFrom))
                    for alias in node.names} | {node.module for node in ast.walk(tree)
                                                if isinstance(node, ast.ImportFrom)}
        if imported & {"subprocess", "pty", "multiprocessing"}:
            starters.append(module.name)
        runs_os = [node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                   and isinstance(node.value, ast.Name) and node.value.id == "os"
                   and node.attr in ("system", "popen", "execv", "execvp", "spawnv",
                                     "posix_spawn", "posix_spawnp")]
        assert not runs_os, f"{module.name} starts a process with os.{runs_os[0]}"
        if module.name != "git.py":
            says_git = [node.lineno for node in ast.walk(tree)
                        if isinstance(node, ast.Constant) and node.value == "git"]
            assert not says_git, f"{module.name}:{says_git[0]} names the git program"
    assert sorted(starters) == sorted(PROCESSES), "a new module starts processes"


def test_missing_base_not_a_repository(tmp_path, keys):
    from .conftest import BookRepo
    root = tmp_path / "plain"
    root.mkdir()
    if subprocess.run(["git", "-C", str(root), "rev-parse"], capture_output=True).returncode == 0:
        pytest.skip("the temporary folder is inside a Git repository")
    book = BookRepo(root, keys)
    book.members()
    book.domain("brakes")
    result = book.bok("check", "--base", "main")
    assert result.exit_code == 1
    assert "is not in a Git repository" in result.output and "fails closed" in result.output
    assert "Traceback" not in result.output and "fetch" not in result.output.lower()


def test_missing_base_names_the_branches_there_are(repo):
    repo.git("branch", "-m", "main", "master")
    result = repo.bok("check", "--base", "main")
    assert result.exit_code == 1
    assert "no branch 'main'; branches here: master;" in result.output
    assert "shallow" not in result.output
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD")
    assert "Did you mean 'origin/main'?" in repo.bok("check", "--base", "main").output
    result = repo.bok("check", "--base", "HEAD^{tree}")
    assert result.exit_code == 1 and "names a tree, not a commit" in result.output


def test_missing_base_in_a_shallow_clone_says_fetch(repo, tmp_path, keys):
    from .conftest import BookRepo
    first = repo.git("rev-parse", "HEAD")
    repo.chapter(ABS)
    repo.commit("second")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone)],
                   check=True, env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"})
    result = BookRepo(clone, keys).bok("check", "--base", first)
    assert result.exit_code == 1
    assert f"base revision '{first}' is not in this shallow clone" in result.output
    assert f"git fetch origin {first}" in result.output and "fetch-depth: 0" in result.output


def test_a_base_blob_that_cannot_be_read_fails_closed(repo):
    """A damaged or partial clone: the base's registry is listed but its object is gone."""
    blob = repo.git("rev-parse", "HEAD:reviews/members.yml")
    (repo.root / ".git/objects" / blob[:2] / blob[2:]).unlink()
    result = repo.bok("check", "--base", "HEAD")
    assert result.exit_code == 1
    assert "cannot read reviews/members.yml of base revision 'HEAD'" in result.output
    assert "fails closed" in result.output and "Traceback" not in result.output


def test_check_base_in_a_book_that_is_a_folder_of_a_larger_repository(tmp_path, keys):
    from .conftest import BookRepo
    top = tmp_path / "monorepo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(top)], check=True)
    (top / "README.md").write_text("other things\n")
    book = BookRepo(top / "handbook", keys)
    book.members()
    book.domain("brakes")
    book.chapter(ABS)
    book.endorse_fully(ABS)
    book.commit("the handbook")
    book.git("checkout", "-q", "-b", "change")
    book.chapter(NEW, title="New")
    data = book.check_json("--base", "main")
    assert [c["path"] for c in data["chapters"]] == [NEW]
    assert findings(data, "not-endorsed", NEW)[0]["severity"] == "error"
    assert not findings(data, "registry-signoff-missing")
