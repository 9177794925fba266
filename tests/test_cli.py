"""The command line: init, new, status, exit codes, the JSON contract, and --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bok.cli import cli

from .conftest import findings, git_env


def test_json_shape_is_the_documented_contract(repo):
    repo.chapter("content/brakes/abs.md", title="ABS", authors="[alice]")
    repo.write("content/brakes/bad.md", "---\ntitle: One\ntitle: Two\nauthors: [alice]\n---\n")
    data = repo.check_json()
    assert data["ok"] is False
    chapter = next(c for c in data["chapters"] if c["path"] == "content/brakes/abs.md")
    assert {"path", "domain", "title", "state", "authors", "endorsed_by"} <= set(chapter)
    assert chapter == {**chapter, "domain": "brakes", "title": "ABS", "state": "awaiting",
                       "authors": ["alice"], "endorsed_by": []}
    finding = findings(data, "duplicate-key")[0]
    assert {"path", "line", "severity", "rule", "message"} <= set(finding)
    assert finding["path"] == "content/brakes/bad.md" and finding["line"] == 3


def test_exit_codes(repo):
    repo.chapter("content/brakes/abs.md")
    assert repo.bok("check").exit_code == 0  # an unendorsed chapter is only a warning
    assert repo.bok("check", "--strict").exit_code == 1
    assert repo.bok("check", "--format", "yaml").exit_code == 2  # usage error
    repo.write("content/brakes/bad.md", "no front matter\n")
    assert repo.bok("check").exit_code == 1


def test_not_a_book_is_one_line_not_a_traceback(tmp_path):
    result = CliRunner().invoke(cli, ["-C", str(tmp_path), "check"])
    assert result.exit_code == 1
    assert "is not a book" in result.output and "Traceback" not in result.output


def test_installed_console_script_reports_without_traceback(tmp_path):
    script = Path(sys.executable).with_name("bok")
    result = subprocess.run([str(script), "-C", str(tmp_path), "status"], capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert "Error:" in result.stderr and "Traceback" not in result.stderr


def test_init_makes_a_book_that_check_accepts(tmp_path, keys):
    target = tmp_path / "newbook"
    env = git_env(name="Alice Martin", email="alice@example.com")
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "config", "user.email", "alice@example.com"],
                   check=True)
    subprocess.run(["git", "-C", str(target), "config", "user.name", "Alice Martin"], check=True)
    subprocess.run(["git", "-C", str(target), "config", "user.signingkey",
                    str(keys["alice"])], check=True)
    runner = CliRunner(env={"HOME": str(tmp_path)})
    result = runner.invoke(cli, ["init", str(target)], env=env)
    assert result.exit_code == 0, result.output
    for path in ("mkdocs.yml", "content/index.md", "reviews/members.yml", "reviews/policy.yml",
                 ".github/workflows/review.yml", ".github/workflows/publish.yml", "README.md",
                 ".gitignore"):
        assert (target / path).is_file(), path
    members = (target / "reviews/members.yml").read_text()
    assert "alice:" in members and (keys["alice"].with_suffix(".pub").read_text().split()[1]
                                     in members)
    check = runner.invoke(cli, ["-C", str(target), "check", "--strict"])
    assert check.exit_code == 0, check.output
    # a chapter written with `bok new` and signed with the found key is accepted too
    new = runner.invoke(cli, ["-C", str(target), "new", "handbook/first", "--title", "First"])
    assert new.exit_code == 0, new.output
    sign = runner.invoke(cli, ["-C", str(target), "sign", "content/handbook/first.md"])
    assert sign.exit_code == 0, sign.output
    data = json.loads(runner.invoke(cli, ["-C", str(target), "check", "--format",
                                          "json"]).output)
    assert data["ok"] and data["chapters"][0]["state"] == "awaiting"
    assert (target / "reviews/handbook/first/alice.md").is_file()
    again = runner.invoke(cli, ["init", str(target)])
    assert again.exit_code == 1 and "refusing to overwrite" in again.output


@pytest.mark.parametrize("chapter_type,heading", [
    ("practice", "## Pitfalls"), ("lesson", "## What we learned"),
    ("standard", "## Verification"), ("case", "## Outcome")])
def test_new_uses_the_template_of_its_type(repo, chapter_type, heading):
    result = repo.bok("new", "brakes/x", "--title", "X: a title", "--author", "alice",
                      "--type", chapter_type)
    assert result.exit_code == 0, result.output
    text = repo.read("content/brakes/x.md")
    assert heading in text and f"type: {chapter_type}" in text
    data = repo.check_json()
    assert data["chapters"][0]["title"] == "X: a title"


def test_new_takes_a_books_own_template(repo):
    repo.write(".bok/templates/practice.md", "\n## Our own section\n")
    repo.bok("new", "brakes/x", "--title", "X", "--author", "alice")
    assert "## Our own section" in repo.read("content/brakes/x.md")


def test_new_author_defaults_to_git_email(repo):
    repo.git("config", "user.email", "carol@example.com")
    assert repo.bok("new", "engines/oil", "--title", "Oil").exit_code == 0
    assert "authors: [carol]" in repo.read("content/engines/oil.md")


@pytest.mark.parametrize("args,message", [
    (["nowhere/x", "--title", "X", "--author", "alice"], "domain 'nowhere' does not exist"),
    (["brakes/x", "--title", "X", "--author", "zed"], "'zed' is not a member"),
    (["brakes/x", "--title", "X", "--author", "alice", "--type", "poem"], "not one of"),
])
def test_new_refuses_bad_input(repo, args, message):
    result = repo.bok("new", *args)
    assert result.exit_code == 1 and message in result.output


def test_status_lists_every_chapter_with_what_it_needs(repo):
    repo.chapter("content/brakes/abs.md", authors="[alice]")
    repo.chapter("content/engines/oil.md", authors="[dave]", extra="draft: true\n")
    result = repo.bok("status")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    abs_line = next(i for i, line in enumerate(lines) if "content/brakes/abs.md" in line)
    assert lines[abs_line].startswith("awaiting")
    assert "author signature from alice" in lines[abs_line + 1]
    assert "may endorse: bob, carol" in lines[abs_line + 2]
    assert any(line.startswith("draft") and "content/engines/oil.md" in line for line in lines)


def test_status_prints_findings_that_are_not_about_a_chapters_state(repo):
    repo.chapter("content/brakes/abs.md")
    repo.write("content/brakes/bad.md", "no front matter\n")
    output = repo.bok("status").output
    assert "content/brakes/bad.md:1: error: front matter must open with '---'" in output
    assert "[not-endorsed]" not in output
