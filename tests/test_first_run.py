"""The first hour with bok: init on a plain Git, what init could not find, broken rules that
fail loudly with the cause first, and the errors a newcomer meets (a passphrase key, a bad
title, a busy port, a missing folder, an empty book).

Git runs with an isolated HOME and GIT_CONFIG_GLOBAL (no init.defaultBranch, no identity
unless a test sets one), passed to the real CLI through the runner's environment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bok.cli import cli
from bok.gate import check
from bok.report import github_summary

from .conftest import TODAY

ABS = "content/brakes/abs.md"
MKDOCS_YML = """site_name: Test Book
docs_dir: .bok/stage
theme:
  name: material
plugins:
  - bok
"""


class Newcomer:
    """Someone with a fresh HOME: their own ~/.gitconfig and ~/.ssh, nothing else."""

    def __init__(self, tmp_path: Path, name: str | None = "Mara Example",
                 email: str | None = "mara@example.invalid"):
        self.home = tmp_path / "home"
        (self.home / ".ssh").mkdir(parents=True)
        self.gitconfig = self.home / ".gitconfig"
        self.gitconfig.write_text("")
        self.env = {"HOME": str(self.home), "GIT_CONFIG_GLOBAL": str(self.gitconfig),
                    "GIT_CONFIG_NOSYSTEM": "1", "SSH_AUTH_SOCK": None, "BOK_TODAY": TODAY,
                    "GITHUB_STEP_SUMMARY": None, "XDG_CONFIG_HOME": str(self.home / ".config")}
        for key, value in (("user.name", name), ("user.email", email)):
            if value:
                self.git("config", "--global", key, value)

    def git(self, *args: str, cwd: Path | None = None) -> str:
        env = {**os.environ, **{k: v for k, v in self.env.items() if v is not None}}
        env.pop("SSH_AUTH_SOCK", None)
        for who in ("AUTHOR", "COMMITTER"):
            env[f"GIT_{who}_DATE"] = f"{TODAY}T12:00:00+00:00"
        result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True,
                                text=True, check=True)
        return result.stdout.strip()

    def keygen(self, name: str, key_type: str = "ed25519", passphrase: str = "") -> Path:
        path = self.home / ".ssh" / name
        subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", passphrase, "-C", name,
                        "-f", str(path)], check=True)
        return path

    def bok(self, *args: str):
        return CliRunner().invoke(cli, list(args), env=self.env, catch_exceptions=False)


# -- 4. the first run works as documented -----------------------------------------------------

def test_init_on_git_without_a_default_branch_makes_main_as_the_workflows_expect(tmp_path):
    me = Newcomer(tmp_path)
    assert subprocess.run(["git", "config", "--global", "init.defaultBranch"],
                          env={**os.environ, **{"HOME": str(me.home),
                                                "GIT_CONFIG_GLOBAL": str(me.gitconfig)}},
                          capture_output=True).returncode == 1  # Git would pick 'master'
    result = me.bok("init", str(tmp_path / "book"))
    assert result.exit_code == 0, result.output
    assert me.git("symbolic-ref", "--short", "HEAD", cwd=tmp_path / "book") == "main"
    publish = (tmp_path / "book/.github/workflows/publish.yml").read_text()
    assert "branches: [main]" in publish
    assert "created .git (git init, branch main)" in result.output


def test_init_in_a_repository_on_master_writes_workflows_for_master(tmp_path):
    me = Newcomer(tmp_path)
    me.git("init", "-q", str(tmp_path / "book"))  # Git 2.39 without init.defaultBranch
    assert me.git("symbolic-ref", "--short", "HEAD", cwd=tmp_path / "book") == "master"
    assert me.bok("init", str(tmp_path / "book")).exit_code == 0
    publish = (tmp_path / "book/.github/workflows/publish.yml").read_text()
    assert "branches: [master]" in publish and "[main]" not in publish


def test_init_without_a_git_identity_says_so_and_new_names_its_own_option(tmp_path):
    me = Newcomer(tmp_path, name=None, email=None)
    result = me.bok("init", str(tmp_path / "book"))
    assert result.exit_code == 0
    assert "warning: no Git identity (git config user.name and user.email)" in result.output
    assert "members: {}" in (tmp_path / "book/reviews/members.yml").read_text()
    new = me.bok("-C", str(tmp_path / "book"), "new", "handbook/x", "--title", "X")
    assert new.exit_code == 1
    assert "git config user.email is not set" in new.output and "--author ID" in new.output
    assert "None" not in new.output and "--as" not in new.output


def test_init_registers_an_ecdsa_key_and_sign_finds_it(tmp_path):
    me = Newcomer(tmp_path)
    key = me.keygen("id_ecdsa", "ecdsa")
    book = tmp_path / "book"
    result = me.bok("init", str(book))
    assert result.exit_code == 0 and "warning" not in result.output
    pub = key.with_name("id_ecdsa.pub").read_text().split()[1]
    assert pub in (book / "reviews/members.yml").read_text()
    assert me.bok("-C", str(book), "new", "handbook/x", "--title", "X").exit_code == 0
    sign = me.bok("-C", str(book), "sign", "content/handbook/x.md")  # no --key: id_ecdsa
    assert sign.exit_code == 0, sign.output
    assert me.bok("-C", str(book), "check").exit_code == 0


def test_init_names_a_security_key_it_cannot_use_and_the_missing_key(tmp_path):
    me = Newcomer(tmp_path)
    (me.home / ".ssh/id_ed25519_sk.pub").write_text(
        "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIEX/0JTaS6b5wD9N"
        "F4JZT1WJJ5R1mn6/+rWqYrLTbCMhAAAABHNzaDo= mara@yubikey\n")
    result = me.bok("init", str(tmp_path / "book"))
    assert result.exit_code == 0
    assert "id_ed25519_sk.pub is not used" in result.output
    assert "security keys (FIDO/U2F) are not supported" in result.output
    assert "warning: no SSH public key found" in result.output
    assert "keys: []" in (tmp_path / "book/reviews/members.yml").read_text()


# -- 6. broken configuration fails loudly, and the cause comes first ---------------------------

def _typo_in_members(repo) -> int:
    """Indent one key by one space too many; return its line."""
    lines = repo.read("reviews/members.yml").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("    steward:"))
    lines[index] = " " + lines[index]
    repo.write("reviews/members.yml", "".join(lines))
    return index + 1


def test_a_registry_that_does_not_load_is_reported_first_and_once(repo):
    repo.chapter(ABS, title="ABS")
    repo.endorse_fully(ABS)
    repo.chapter("content/engines/oil.md", authors="[dave]")
    repo.write("content/engines/bad.md", "no front matter\n")  # a problem of its own
    line = _typo_in_members(repo)
    result = repo.bok("check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(f"reviews/members.yml:{line}: error: invalid YAML")
    assert "[yaml-syntax]" in lines[0]
    assert "[rules-not-evaluated]" in lines[1] and "reviews/members.yml does not load" in lines[1]
    assert not [x for x in lines if "unknown-author" in x or "signer-not-registered" in x
                or "not-endorsed" in x]
    assert any("content/engines/bad.md:1: error" in x for x in lines)  # not hidden


def test_a_policy_that_does_not_load_is_reported_first(repo):
    repo.chapter(ABS, title="ABS")
    repo.write("reviews/policy.yml", "endorsements: 2\nchapter_types: [practice\n")
    data = repo.check_json()
    assert [f["rule"] for f in data["findings"][:2]] == ["yaml-syntax", "rules-not-evaluated"]
    assert data["findings"][0]["path"] == "reviews/policy.yml"
    assert not [f for f in data["findings"] if f["rule"] == "unknown-type"]


def test_build_stops_on_a_broken_registry_and_keeps_the_previous_site(repo):
    repo.write("mkdocs.yml", MKDOCS_YML)
    repo.chapter(ABS, title="ABS")
    repo.endorse_fully(ABS)
    repo.commit("abs")
    assert repo.bok("build").exit_code == 0
    site = repo.root / "site"
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert (site / "brakes/abs/index.html").is_file()
    line = _typo_in_members(repo)
    result = repo.bok("build")
    assert result.exit_code == 1
    assert f"reviews/members.yml:{line}: error: invalid YAML" in result.output
    assert "[yaml-syntax]" in result.output and "previous site is untouched" in result.output
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before


# -- 8. the rest of the first hour --------------------------------------------------------------

def test_a_passphrase_key_without_terminal_or_agent_is_named_with_the_reason(repo, tmp_path):
    key = tmp_path / "locked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-C", "alice",
                    "-f", str(key)], check=True)
    members = repo.read("reviews/members.yml").replace(
        "    keys:\n", f"    keys:\n      - {key.with_suffix('.pub').read_text().strip()}\n", 1)
    repo.write("reviews/members.yml", members)  # alice comes first: the key is hers
    repo.chapter(ABS)
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    script = Path(sys.executable).with_name("bok")
    result = subprocess.run([str(script), "-C", str(repo.root), "sign", ABS, "--as", "alice",
                             "--key", str(key)], env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, start_new_session=True, timeout=60)
    assert result.returncode == 1
    assert "failed unexpectedly" not in result.stderr and "Traceback" not in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith(f"Error: ssh-keygen could not sign with {key}:")
    assert "incorrect passphrase" in error and "Enter passphrase" not in error
    assert "no terminal" in error and "ssh-add" in error
    assert not (repo.root / "reviews/brakes/abs/alice.md").exists()


@pytest.mark.parametrize("title,reason", [
    ("<b>x</b>", "tag-like markup '<b>' [unsafe-html]"),
    ("Two\nlines", "on one line, received a line break [invalid-title]"),
    ("   ", "received an empty value [invalid-title]"),
])
def test_new_refuses_a_title_that_check_would_reject(repo, title, reason):
    result = repo.bok("new", "brakes/x", "--title", title, "--author", "alice")
    assert result.exit_code == 1 and reason in result.output
    assert not (repo.root / "content/brakes/x.md").exists()


def test_the_title_bok_new_refuses_is_the_one_check_rejects(repo):
    """One rule for both: the same front matter written by hand fails bok check."""
    repo.write("content/brakes/x.md", '---\ntitle: "<b>x</b>"\nauthors: [alice]\n'
                                      "type: practice\n---\nBody.\n")
    data = repo.check_json()
    assert {f["rule"] for f in data["findings"] if f["path"] == "content/brakes/x.md"} == {
        "unsafe-html"}


def test_a_folder_that_does_not_exist_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["-C", str(tmp_path / "nowhere"), "status"])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_serve_on_a_busy_port_fails_before_building(repo):
    repo.write("mkdocs.yml", MKDOCS_YML)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        address = f"127.0.0.1:{busy.getsockname()[1]}"
        result = repo.bok("serve", "-a", address)
    assert result.exit_code == 1
    assert f"cannot serve on {address}: Address already in use" in result.output
    assert "Building documentation" not in result.output


def test_the_job_summary_of_a_book_without_chapters_says_so(repo):
    summary = github_summary(check(repo.root))
    assert "No chapters in this book." in summary and "| chapter |" not in summary
