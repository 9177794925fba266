"""Fixtures: real Git repositories, real SSH keys made by ssh-keygen, the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import bok
from bok.cli import cli

CHECKOUT = Path(__file__).resolve().parent.parent
SOURCE_OK = "BOK_TEST_SOURCE"  # =1: test the checkout itself (an editable install), on purpose
BOK_SCRIPT = Path(sys.executable).with_name("bok")  # the console script users run


def from_source(checkout: Path) -> bool:
    """Whether ``bok`` was imported from the checkout's ``bok/`` rather than an installed wheel.

    The suite must test what users install, package data included: imported from the source
    tree, a file missing from the wheel goes unnoticed. (``.venv`` may live in the checkout.)
    """
    return Path(bok.__file__).resolve().parent == (checkout / "bok").resolve()


def pytest_sessionstart(session: pytest.Session) -> None:
    if from_source(CHECKOUT) and os.environ.get(SOURCE_OK) != "1":
        pytest.exit(f"bok is imported from the checkout ({CHECKOUT / 'bok'}), not the installed "
                    f"wheel: run `bash .ci/run` (or `.venv/bin/pytest` after installing the "
                    f"wheel; `python -m pytest` puts the checkout on sys.path), or set "
                    f"{SOURCE_OK}=1 to test an editable install",
                    returncode=pytest.ExitCode.USAGE_ERROR)

PEOPLE = {
    # id: (name, expert_in, steward)
    "alice": ("Alice Martin", ["brakes"], True),
    "bob": ("Bob Okafor", ["brakes"], False),
    "carol": ("Carol Lin", ["brakes", "engines"], False),
    "dave": ("Dave Ruiz", ["engines"], False),
    "erin": ("Erin Walsh", [], True),
}
TODAY = "2026-11-22"


@pytest.fixture(scope="session")
def keys(tmp_path_factory) -> dict[str, Path]:
    """One ed25519 key per person (and a spare 'mallory' key nobody registered)."""
    folder = tmp_path_factory.mktemp("keys")
    made = {}
    for person in [*PEOPLE, "mallory"]:
        path = folder / person
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", person, "-f",
                        str(path)], check=True)
        made[person] = path
    return made


def git_env(date: str = f"{TODAY}T12:00:00+00:00", name: str = "Alice Martin",
            email: str = "alice@example.com") -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_NAME": name,
                "GIT_AUTHOR_EMAIL": email, "GIT_COMMITTER_NAME": name,
                "GIT_COMMITTER_EMAIL": email, "GIT_CONFIG_NOSYSTEM": "1"})
    return env


class BookRepo:
    """A book in a temporary Git repository, driven through the real CLI."""

    def __init__(self, root: Path, keys: dict[str, Path]):
        self.root = root
        self.keys = keys
        self.base = ""  # the base of an open pull request (open_pull_request)

    # files -------------------------------------------------------------------------------
    def write(self, path: str, text: str | bytes) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")
        return target

    def read(self, path: str) -> str:
        return (self.root / path).read_text(encoding="utf-8")

    def members(self, people: dict | None = None, extra: str = "") -> None:
        people = PEOPLE if people is None else people
        lines = ["members:"]
        for person, (name, expert_in, steward) in people.items():
            pub = Path(f"{self.keys[person]}.pub").read_text().strip()
            lines += [f"  {person}:", f"    name: {name}", f"    email: {person}@example.com",
                      "    keys:", f"      - {pub}", f"    expert_in: [{', '.join(expert_in)}]",
                      f"    steward: {'true' if steward else 'false'}"]
        self.write("reviews/members.yml", "\n".join(lines) + "\n" + extra)

    def domain(self, name: str, title: str | None = None) -> None:
        self.write(f"content/{name}/index.md",
                   f"---\ntitle: {title or name.title()}\ndescription: All about {name}.\n---\n")

    def chapter(self, path: str, title: str = "A chapter", authors: str = "[alice]",
                body: str = "Some practice.\n", extra: str = "") -> str:
        self.write(path, f"---\ntitle: {title}\nauthors: {authors}\n{extra}---\n{body}")
        return path

    # git -----------------------------------------------------------------------------------
    def git(self, *args: str, date: str | None = None) -> str:
        env = git_env(date) if date else git_env()
        result = subprocess.run(["git", "-C", str(self.root), *args], env=env,
                                capture_output=True, text=True, check=True)
        return result.stdout.strip()

    def open_pull_request(self) -> str:
        """Start a pull request: remember main's commit as its base (``self.base``) and check
        out the branch 'change'."""
        self.base = self.git("rev-parse", "HEAD")
        self.git("checkout", "-q", "-b", "change")
        return self.base

    def commit(self, message: str = "change", date: str | None = None) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, date=date)
        return self.git("rev-parse", "HEAD")

    # bok -----------------------------------------------------------------------------------
    def bok(self, *args: str, today: str = TODAY):
        runner = CliRunner()
        return runner.invoke(cli, ["-C", str(self.root), *args], catch_exceptions=False,
                             env={"BOK_TODAY": today, "GITHUB_STEP_SUMMARY": None})

    def check_json(self, *args: str, today: str = TODAY) -> dict:
        result = self.bok("check", "--format", "json", *args, today=today)
        assert result.exit_code in (0, 1), result.output
        return json.loads(result.output)

    def review(self, verb: str, path: str, member: str, message: str = "",
               today: str = TODAY, key: str | None = None):
        result = self.bok(verb, path, "--as", member, "--key", str(self.keys[key or member]),
                          "-m", message, today=today)
        assert result.exit_code == 0, result.output
        return result

    def endorse_fully(self, path: str, authors=("alice",), reviewers=("bob", "carol"),
                      today: str = TODAY) -> None:
        for author in authors:
            self.review("sign", path, author, today=today)
        for reviewer in reviewers:
            self.review("endorse", path, reviewer, f"Reviewed by {reviewer}.", today=today)


@pytest.fixture
def repo(tmp_path: Path, keys) -> BookRepo:
    """A valid book: members, policy defaults, domains brakes and engines, one git commit."""
    return make_repo(tmp_path / "book", keys)


def make_repo(root: Path, keys: dict[str, Path]) -> BookRepo:
    """The book of the ``repo`` fixture, in ``root`` (for fixtures of a wider scope)."""
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    book = BookRepo(root, keys)
    book.members()
    book.domain("brakes")
    book.domain("engines")
    book.write("content/index.md", "# Home\n")
    book.commit("start the book", date="2026-01-01T10:00:00+00:00")
    return book


def findings(data: dict, rule: str | None = None, path: str | None = None) -> list[dict]:
    return [f for f in data["findings"]
            if (rule is None or f["rule"] == rule) and (path is None or f["path"] == path)]


def state_of(data: dict, path: str) -> str:
    return next(c["state"] for c in data["chapters"] if c["path"] == path)


ZENSICAL_MISSING = "Zensical is not installed: pip install 'bok[zensical]' to test its engine"


@pytest.fixture(params=["mkdocs", "zensical"])
def engine(request) -> str:
    """Each engine in turn (Zensical's run is skipped, saying why, when it is absent)."""
    from importlib.util import find_spec
    if request.param == "zensical" and find_spec("zensical") is None:
        pytest.skip(ZENSICAL_MISSING)
    return request.param
