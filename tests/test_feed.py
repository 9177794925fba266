"""What's new: the Atom feed and the "what's new" page, from a real Git history with pinned
dates, real signatures, and a real MkDocs build.

The history: ABS is written, endorsed, revised and endorsed again, then re-validated; OIL is
objected to, revised, then endorsed; DRUMS is never endorsed (it must appear nowhere).
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from bok.activity import REVALIDATED, events
from bok.gate import evaluate_book
from bok.loading import load_book
from bok.publish import build_site
from bok.trees import WorkTree

from .conftest import TODAY, findings, git_env

ABS = "content/brakes/abs.md"
OIL = "content/engines/oil.md"
DRUMS = "content/brakes/drums.md"
ATOM = "{http://www.w3.org/2005/Atom}"
MKDOCS = """site_name: Feed Book
site_url: https://book.example/handbook/
docs_dir: .bok/stage
theme:
  name: material
plugins:
  - bok
"""


def commit_as(repo, person: str, message: str, date: str) -> None:
    """Commit everything as ``person`` (their registry e-mail), on ``date``."""
    name = {"alice": "Alice Martin", "dave": "Dave Ruiz", "bob": "Bob Okafor",
            "carol": "Carol Lin"}[person]
    env = git_env(f"{date}T12:00:00+00:00", name, f"{person}@example.com")
    subprocess.run(["git", "-C", str(repo.root), "add", "-A"], env=env, check=True)
    subprocess.run(["git", "-C", str(repo.root), "commit", "-q", "-m", message], env=env,
                   check=True)


def history_book(repo) -> None:
    """The book of the module's docstring, one commit per step."""
    repo.write("mkdocs.yml", MKDOCS)
    repo.write("reviews/policy.yml", "domains:\n  engines: {endorsements: 1}\n")
    repo.chapter(ABS, title="ABS bleeding", body="Bleed it.\n",
                 extra="summary: How we bleed ABS units.\n")
    commit_as(repo, "alice", "Write ABS", "2026-01-10")
    repo.endorse_fully(ABS, today="2026-01-12")
    commit_as(repo, "alice", "Endorse ABS", "2026-01-12")
    repo.chapter(OIL, title="Oil changes", authors="[dave]", body="Drain it.\n")
    repo.chapter(DRUMS, title="Secret drums", body="Unreviewed.\n")
    commit_as(repo, "dave", "Write oil and drums", "2026-02-01")
    repo.review("sign", OIL, "dave", today="2026-02-02")
    repo.review("object", OIL, "carol", "Say which oil.", today="2026-02-03")
    commit_as(repo, "carol", "Carol objects", "2026-02-03")
    repo.chapter(OIL, title="Oil changes", authors="[dave]", body="Drain it; use 5W-30.\n")
    commit_as(repo, "dave", "Name the oil", "2026-02-10")
    repo.review("sign", OIL, "dave", today="2026-02-10")
    repo.review("endorse", OIL, "carol", "Now it says which.", today="2026-02-11")
    commit_as(repo, "carol", "Endorse oil", "2026-02-11")
    repo.chapter(ABS, title="ABS bleeding", body="Bleed it, then test.\n",
                 extra="summary: How we bleed ABS units.\n")
    commit_as(repo, "alice", "Revise ABS", "2026-05-01")
    repo.endorse_fully(ABS, today="2026-05-02")
    commit_as(repo, "alice", "Endorse ABS again", "2026-05-02")
    repo.review("endorse", ABS, "bob", "Still right.", today="2026-11-20")
    commit_as(repo, "bob", "Bob re-validates ABS", "2026-11-20")


def build(repo, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("BOK_TODAY", TODAY)
    return build_site(repo.root, tmp_path / "site").site


def test_events_come_from_the_history_of_chapters_and_records(repo):
    history_book(repo)
    from bok.history import read_history
    book = load_book(WorkTree(repo.root))
    _, verifications = evaluate_book(book, TODAY_DATE)
    found = events(repo.root, book, verifications, read_history(repo.root))
    abs_events = [(e.kind, e.member, e.date.isoformat()) for e in found if e.chapter == ABS]
    assert abs_events == [
        ("written", None, "2026-01-10"),  # a commit credits nobody: Git's author is unsigned
        ("endorsed", "bob", "2026-01-12"), ("endorsed", "carol", "2026-01-12"),
        ("signed", "alice", "2026-01-12"),
        ("revised", None, "2026-05-01"),
        ("endorsed", "bob", "2026-05-02"), ("endorsed", "carol", "2026-05-02"),
        ("signed", "alice", "2026-05-02"),
        (REVALIDATED, "bob", "2026-11-20"),
    ], abs_events
    oil = [(e.kind, e.member) for e in found if e.chapter == OIL]
    assert ("objected", "carol") in oil and ("revised", None) in oil


TODAY_DATE = __import__("datetime").date.fromisoformat(TODAY)


def test_the_feed_lists_what_was_endorsed_revised_and_revalidated(repo, tmp_path, monkeypatch):
    history_book(repo)
    site = build(repo, tmp_path, monkeypatch)
    root = ET.parse(site / "feed.xml").getroot()
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "Feed Book"
    assert root.findtext(f"{ATOM}id") == "https://book.example/handbook/feed.xml"
    assert root.findtext(f"{ATOM}updated") == "2026-11-20T00:00:00+00:00"  # not the clock
    entries = [(e.findtext(f"{ATOM}title"), e.findtext(f"{ATOM}updated")[:10],
                e.find(f"{ATOM}link").get("href"),
                [a.findtext(f"{ATOM}name") for a in e.findall(f"{ATOM}author")],
                e.findtext(f"{ATOM}summary"))
               for e in root.findall(f"{ATOM}entry")]
    assert [(t, d) for t, d, *_ in entries] == [
        ("Re-validated: ABS bleeding", "2026-11-20"),
        ("Revised: ABS bleeding", "2026-05-02"),
        ("New: Oil changes", "2026-02-11"),
        ("New: ABS bleeding", "2026-01-12"),
    ], entries
    title, _, href, authors, summary = entries[1]
    assert href == "https://book.example/handbook/brakes/abs/"
    assert authors == ["Alice Martin"]
    assert summary == ("Written by Alice Martin. Endorsed by Bob Okafor and Carol Lin. "
                       "How we bleed ABS units.")
    assert entries[0][4].startswith("Written by Alice Martin. Re-validated by Bob Okafor. ")
    ids = [e.findtext(f"{ATOM}id") for e in root.findall(f"{ATOM}entry")]
    assert len(set(ids)) == 4 and all(i.startswith("urn:uuid:") for i in ids)
    feed_bytes = (site / "feed.xml").read_bytes()
    assert b"Secret drums" not in feed_bytes and b"Unreviewed" not in feed_bytes
    # the same book gives the same feed, entry ids included
    assert build(repo, tmp_path, monkeypatch).joinpath("feed.xml").read_bytes() == feed_bytes


def test_the_whats_new_page_links_chapters_and_people(repo, tmp_path, monkeypatch):
    history_book(repo)
    site = build(repo, tmp_path, monkeypatch)
    html = (site / "whats-new" / "index.html").read_text()
    article = html.split("<article", 1)[1].split("</article>", 1)[0]
    assert '<a href="../feed.xml">Atom feed</a>' in article
    assert article.index("November 2026") < article.index("May 2026") \
        < article.index("February 2026") < article.index("January 2026")
    assert '<strong>Revised</strong> <a href="../brakes/abs/">ABS bleeding</a>' in article
    assert '<a href="../members/alice/">Alice Martin</a>' in article
    assert 'endorsed by <a href="../members/bob/">Bob Okafor</a>' in article
    assert "Secret drums" not in html
    home = (site / "index.html").read_text()
    assert 'href="whats-new/"' in home


def test_a_feed_without_site_url_is_relative_and_check_warns(repo, tmp_path, monkeypatch):
    history_book(repo)
    repo.write("mkdocs.yml", MKDOCS.replace("site_url: https://book.example/handbook/\n", ""))
    data = repo.check_json()
    warned = findings(data, "feed-without-site-url", "mkdocs.yml")
    assert warned and warned[0]["severity"] == "warning"
    site = build(repo, tmp_path, monkeypatch)
    root = ET.parse(site / "feed.xml").getroot()
    links = [e.find(f"{ATOM}link").get("href") for e in root.findall(f"{ATOM}entry")]
    assert links[0] == "brakes/abs/"  # relative to feed.xml, at the site's root
    assert (site / links[0] / "index.html").is_file()
    repo.write("mkdocs.yml", MKDOCS)
    assert not findings(repo.check_json(), "feed-without-site-url")


def test_whats_new_is_a_reserved_domain_name(repo):
    repo.domain("whats-new")
    assert findings(repo.check_json(), "reserved-domain", "content/whats-new")
