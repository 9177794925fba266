"""What users install: the wheel's package data, and the ``bok`` console script end to end.

The rest of the suite imports ``bok`` from the installed package too (conftest refuses the
checkout); these tests check what is in that package and drive it as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

from .conftest import BOK_SCRIPT, CHECKOUT, SOURCE_OK, TODAY, git_env


def tracked_package_data() -> list[str]:
    """The files under bok/templates/ and bok/schemas/ that Git tracks, as repository paths."""
    listed = subprocess.run(["git", "-C", str(CHECKOUT), "ls-files", "-z", "--", "bok/templates",
                             "bok/schemas"], capture_output=True, text=True, check=True).stdout
    return sorted(p for p in listed.split("\0") if p)


def test_every_tracked_template_and_schema_is_installed():
    files = tracked_package_data()
    assert "bok/templates/book/.gitignore" in files  # dotfiles are the ones setuptools drops
    missing, different = [], []
    for path in files:
        installed = resources.files("bok").joinpath(*path.split("/")[1:])
        if not installed.is_file():
            missing.append(path)
        elif installed.read_bytes() != (CHECKOUT / path).read_bytes():
            different.append(path)
    assert missing == [], "not in the installed package (pyproject.toml package-data)"
    assert different == [], "installed copy differs from the checkout: reinstall (bash .ci/run)"


def _pytest_from_checkout(**env: str) -> subprocess.CompletedProcess:
    """``python -m pytest`` run from the checkout's root, which puts the checkout on sys.path."""
    clean = {k: v for k, v in os.environ.items() if k != SOURCE_OK}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--collect-only", "tests/test_sanitize.py"], cwd=CHECKOUT,
                          env={**clean, **env}, capture_output=True, text=True)


def test_the_suite_refuses_to_test_the_checkout_unless_asked():
    refused = _pytest_from_checkout()
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "bok is imported from the checkout" in refused.stdout + refused.stderr
    assert SOURCE_OK in refused.stdout + refused.stderr
    allowed = _pytest_from_checkout(**{SOURCE_OK: "1"})
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_a_user_session_with_the_installed_console_script(tmp_path, keys):
    """bok init, new, sign, endorse, check --base main, build: as a user types them."""
    assert BOK_SCRIPT.is_file(), f"no console script at {BOK_SCRIPT}"
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(
        f"[user]\n\tname = Alice Martin\n\temail = alice@example.com\n"
        f"\tsigningkey = {keys['alice']}\n[init]\n\tdefaultBranch = main\n")
    env = {k: v for k, v in git_env().items()
           if not k.startswith(("GIT_CONFIG_GLOBAL", "BOK_", "GITHUB_"))}
    env.update({"HOME": str(home), "BOK_TODAY": TODAY})
    book = tmp_path / "book"

    def run(*args: str, cwd: Path = book, code: int = 0) -> str:
        result = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
        assert result.returncode == code, f"{args}: {result.stdout}{result.stderr}"
        return result.stdout

    def bok(*args: str, code: int = 0) -> str:
        return run(str(BOK_SCRIPT), *args, code=code)

    made = run(str(BOK_SCRIPT), "init", "book", "--site-name", "Smoke Book", cwd=tmp_path)
    assert "created .github/workflows/review.yml" in made
    assert (book / ".gitignore").read_text().split() == ["site/", ".bok/stage/", ".bok/preview/",
                                                       ".bok/cache/"]
    members = (book / "reviews/members.yml").read_text()
    assert "  alice:" in members and Path(f"{keys['alice']}.pub").read_text().strip() in members
    bob = Path(f"{keys['bob']}.pub").read_text().strip()
    (book / "reviews/members.yml").write_text(
        members + f"  bob:\n    name: Bob Okafor\n    email: bob@example.com\n    keys:\n"
                  f"      - {bob}\n    expert_in: [handbook]\n    steward: false\n")
    policy = (book / "reviews/policy.yml").read_text()
    (book / "reviews/policy.yml").write_text(policy.replace("endorsements: 2", "endorsements: 1"))
    bok("check")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "Start the book")

    run("git", "checkout", "-q", "-b", "first-practice")
    chapter = "content/handbook/first-practice.md"
    assert bok("new", "handbook/first-practice", "--title", "Our first practice") == (
        f"created {chapter}\n")
    with (book / chapter).open("a", encoding="utf-8") as text:
        text.write("\nTorque the caliper bolts to 31 Nm.\n")
    bok("sign", chapter)
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "Add a practice")
    assert "[not-endorsed]" in bok("check", "--base", "main", code=1)
    assert bok("endorse", chapter, "--as", "bob", "--key", str(keys["bob"]), "-m", "Checked.") == (
        "wrote reviews/handbook/first-practice/bob.md\n")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "Endorse the practice")
    assert "1 endorsed" in bok("check", "--base", "main")

    bok("build")
    page = (book / "site/handbook/first-practice/index.html").read_text(encoding="utf-8")
    assert "Our first practice" in page and "31 Nm" in page
    assert "Checked." in page  # the review note


def test_python_m_bok_does_not_import_files_from_the_book(tmp_path):
    """`python -m bok` puts the working directory on sys.path: a book's own nh3.py must not be
    imported in place of the library (a pull request could run code in the publish job)."""
    marker = tmp_path / "ran"
    (tmp_path / "nh3.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    (tmp_path / "markdown.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    result = subprocess.run([sys.executable, "-m", "bok", "-C", str(tmp_path), "status"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert "is not a book" in result.stderr, result.stderr
    assert not marker.exists()
