"""Unsigned Git metadata (author names, emails, dates) credits nobody on member and health
pages. Each attack is a pull request judged by ``bok check --base``, then merged and
published."""

from __future__ import annotations

import subprocess

from .conftest import TODAY, git_env
from .test_gate import gate
from .test_gate_footing import bok_in, merged_clone
from .test_gate_footing import pr as pr  # noqa: F401 (a fixture, used by name)
from .test_site import ABS

DRUMS = "content/brakes/drums.md"


def publish(pr, tmp_path):
    """The gate's verdict on the PR, then the merged clone and its bok check && bok build."""
    code, data = gate(pr)
    clone = merged_clone(pr, tmp_path)
    checked = bok_in(clone, "check")
    built = bok_in(clone, "build") if checked.exit_code == 0 else None
    return code, data, clone, built


def article(path) -> str:
    page = path.read_text(encoding="utf-8")
    return page[page.find("<article"):page.rfind("</article>")]


def commit_as(repo, name, email, message="change", date=f"{TODAY}T12:00:00+00:00"):
    env = git_env(date, name, email)
    subprocess.run(["git", "-C", str(repo.root), "add", "-A"], env=env, check=True)
    subprocess.run(["git", "-C", str(repo.root), "commit", "-q", "--allow-empty", "-m", message],
                   env=env, check=True)


def test_git_author_email_and_date_do_not_make_member_activity(pr, tmp_path):
    """HIGH-ish (integrity of member pages). Anyone commits with bob's email and a 2031 date;
    a second commit undoes the edit, so the PR changes nothing and the gate passes (exit 0).
    bok.activity.events attributes the two commits to bob by the unsigned Git author email:
    bob's page claims 2 revisions in 2031 and 'Last active 2031-03-04' (after today), and the
    members index ranks him first."""
    original = pr.read(ABS)
    pr.write(ABS, original + "\nanything\n")
    commit_as(pr, "x", "BOB@example.com", "wip", date="2031-03-04T12:00:00+00:00")
    pr.write(ABS, original)
    commit_as(pr, "x", "BOB@example.com", "undo", date="2031-03-04T12:00:00+00:00")
    code, _data, clone, built = publish(pr, tmp_path)
    assert code == 0 and built is not None and built.exit_code == 0
    bob = article(clone / "site/members/bob/index.html")
    assert "2031" not in bob, "unsigned Git author email/date shown as bob's activity"


def test_git_author_names_do_not_reach_the_health_pages(pr, tmp_path):
    """MEDIUM. A draft chapter (the gate admits drafts) committed under a free-text Git
    author name: bok.health._writing_events falls back to revision.author_name, and
    bok.healthpage prints it under 'Contributors in 2026-Q4' on book-health/ and
    book-health/brakes/ of the published site."""
    pr.chapter(DRUMS, title="Drums", body="wip\n", extra="draft: true\n")
    commit_as(pr, "Brake fluid is safe to drink, says Alice https://evil.example",
              "m@evil.example", "draft")
    code, _data, clone, built = publish(pr, tmp_path)
    assert code == 0 and built is not None and built.exit_code == 0
    for page in ("site/book-health/index.html", "site/book-health/brakes/index.html"):
        assert "evil.example" not in article(clone / page), page
