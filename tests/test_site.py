"""The published site: real books in real Git repositories, built with MkDocs, asserted on the
HTML a reader gets."""

from __future__ import annotations

import json
import os
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bok.errors import BokError
from bok.publish import build_site

from .conftest import TODAY

ABS = "content/brakes/abs.md"
DRUMS = "content/brakes/drums.md"
MKDOCS = """site_name: Test Book
docs_dir: .bok/stage
repo_url: https://example.invalid/book
theme:
  name: material
  features: [navigation.prune]
plugins:
  - bok
  - search
  - tags
"""


@pytest.fixture
def book(repo, monkeypatch):
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    return repo


def build(repo, **options) -> Path:
    site = repo.root / "site"
    build_site(repo.root, site, **options)
    return site


def page(site: Path, src: str) -> str:
    """The HTML of the page built from content/<src>.md (directory URLs)."""
    return (site / src / "index.html").read_text(encoding="utf-8")


def article(html: str) -> str:
    return re.search(r"<article.*?</article>", html, re.S).group(0)


def searchable(html: str) -> str:
    """What Pagefind indexes of a page: its data-pagefind-body region without the parts marked
    data-pagefind-ignore (bok writes both as plain, unnested sections)."""
    body = re.search(r"<div[^>]*data-pagefind-body.*?</article>", html, re.S)
    if body is None:
        return ""
    return re.sub(r"<section[^>]*data-pagefind-ignore.*?</section>", "", body.group(0),
                  flags=re.S)


def indexed_text(region: str) -> str:
    """The text Pagefind reads of a searchable region: without elements marked
    data-pagefind-ignore (their filters still count)."""
    return re.sub(r'<div class="bok-attribution" data-pagefind-ignore>.*?</div>', "", region,
                  flags=re.S)


def search_entry(site: Path) -> dict:
    """Pagefind's entry file: the languages indexed and the pages in each."""
    return json.loads((site / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))


def indexed_pages(site: Path) -> int:
    return sum(lang["page_count"] for lang in search_entry(site)["languages"].values())


def site_text(site: Path) -> str:
    """Every text file of the built site (Pagefind's index chunks are compressed; the browser
    test searches them)."""
    return "".join(p.read_text(errors="ignore") for p in site.rglob("*")
                   if p.is_file() and p.suffix in (".html", ".json", ".xml", ".js", ".css"))


def test_endorsed_chapter_shows_attribution_notes_and_history(book):
    book.chapter(ABS, title="Bleeding ABS units", body="Open the **bleeder** valve.\n",
                 extra="tags: [hydraulics]\nsummary: How we bleed ABS units.\n")
    book.commit("Draft the ABS chapter", date="2026-03-01T09:00:00+00:00")
    book.endorse_fully(ABS)
    book.commit("Endorse the ABS chapter")
    site = build(book)
    html = article(page(site, "brakes/abs"))
    assert "Bleeding ABS units" in html and "<strong>bleeder</strong>" in html
    assert 'href="../../members/alice/"' in html and "Alice Martin" in html
    assert "Bob Okafor" in html and "Carol Lin" in html and TODAY in html
    assert 'href="#review-notes"' in html and "Reviewed by bob." in html
    assert "Re-validate by</strong> <span class=\"bok-date\">2027-11-22" in html
    assert "2026-03-01" in html  # when it was committed; commit messages are not shown
    assert "Draft the ABS chapter" not in html
    assert "https://example.invalid/book/commit/" in html
    assert "✓ endorsed" in html
    assert "hydraulics" in html
    # The table of contents lists bok's sections; "skip to content" goes to the title.
    full = page(site, "brakes/abs")
    assert re.search(r'<h1 id="bleeding-abs-units">Bleeding ABS units', html)
    assert 'href="#bleeding-abs-units" class="md-skip"' in full
    assert 'href="#review-notes" class="md-nav__link"' in full
    assert 'href="#revision-history" class="md-nav__link"' in full
    # Search indexes the title, body and notes, with filters; not the history, and not the
    # attribution's text (results' excerpts would be that boilerplate), whose filters count.
    found = searchable(html)
    assert 'data-pagefind-meta="title:Bleeding ABS units"' in found
    assert "Reviewed by bob." in found and "bleeder" in found
    assert "Written by" not in indexed_text(found)
    assert '<span data-pagefind-filter="author">Alice Martin</span>' in found
    assert '<span data-pagefind-filter="domain">Brakes</span>' in found
    assert '<span data-pagefind-filter="type">practice</span>' in found
    assert 'data-pagefind-filter="state:endorsed"' in found
    assert "Draft the ABS chapter" not in found and "Revision history" not in found
    assert indexed_pages(site) == 1  # the chapter; not the home, domain or member pages
    assert list(search_entry(site)["languages"]) == ["en"]  # the pages' <html lang="en">
    assert '<html lang="en"' in full
    assert not (site / "search" / "search_index.json").exists()  # Material's search is off
    tags = (site / "tags" / "index.html").read_text()
    assert "hydraulics" in tags and "brakes/abs/" in tags


def test_history_follows_renames(book):
    book.chapter(ABS, title="ABS")
    first = book.commit("first words", date="2026-01-05T09:00:00+00:00")
    book.endorse_fully(ABS)
    book.commit("endorse")
    assert book.bok("mv", ABS, "content/brakes/abs-bleeding.md").exit_code == 0
    renamed = book.commit("rename the chapter", date="2026-02-05T09:00:00+00:00")
    html = article(page(build(book), "brakes/abs-bleeding"))
    assert rows(html) == {renamed[:7]: "✓ endorsed", first[:7]: "✓ endorsed"}
    assert "2026-01-05" in html and not (book.root / "site/brakes/abs").exists()


#: A row of the revision history: (the commit's short id, what the row says of its content).
_ROW = re.compile(r'<tr><td class="bok-date">[^<]*</td><td>(?:<a [^>]*>)?<code>([0-9a-f]+)</code>'
                  r"(?:</a>)?</td><td>([^<]*)</td></tr>")


def rows(html: str) -> dict[str, str]:
    """The history's rows by (the first 7 characters of) their commit id."""
    return {commit[:7]: mark for commit, mark in _ROW.findall(html)}


def test_endorsed_revisions_are_marked_by_blob_id_without_reading_old_content(book, monkeypatch):
    """Every revision holding the endorsed content is marked, found by Git's blob ids alone,
    also when the working tree has Windows line endings (core.autocrlf)."""
    book.chapter(ABS, title="ABS", body="The endorsed words.\n")
    first = book.commit("endorsed words", date="2026-01-05T09:00:00+00:00")
    book.chapter(ABS, title="ABS", body="A detour.\n")
    detour = book.commit("a detour", date="2026-01-06T09:00:00+00:00")
    book.chapter(ABS, title="ABS", body="The endorsed words.\n")
    back = book.commit("back to the endorsed words", date="2026-01-07T09:00:00+00:00")
    book.endorse_fully(ABS)
    book.commit("endorse")

    def no_blobs(*args, **kwargs):
        raise AssertionError("the build read old revisions of an endorsed chapter")

    monkeypatch.setattr("bok.history.blobs_at", no_blobs)
    expected = {back[:7]: "✓ endorsed", detour[:7]: "not reviewed", first[:7]: "✓ endorsed"}
    assert rows(article(page(build(book), "brakes/abs"))) == expected
    chapter = book.root / ABS
    chapter.write_bytes(chapter.read_bytes().replace(b"\n", b"\r\n"))
    assert rows(article(page(build(book), "brakes/abs"))) == expected


def test_plain_review_comments_read_as_markdown_renders_them():
    """Plain comments skip Markdown; they must come out exactly as Markdown makes them."""
    import random

    import markdown

    from bok.sanitize import clean_html
    from bok.site import comments_html

    converter = markdown.Markdown()
    pieces = [*"abc XYZ,.;:'\"?()/%$@09", "\n", "\n\n", "é", "日", "  ", "1.", " 3. x", "- ",
              "> ", "#", "*", "&", "<b>", "[x](y)", "\t", "_", "\r\n", "`", "    "]
    rng = random.Random(7)
    samples = ["Reviewed by bob.", "Looks right.\n\nOne question: why 12 Nm?\nFine anyway."]
    samples += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 30))) for _ in range(3000)]
    for comment in samples:
        if comment.strip():
            expected = clean_html(converter.reset().convert(comment))
            assert comments_html(comment) == expected, comment


def test_links_and_search_without_directory_urls(book):
    book.write("mkdocs.yml", MKDOCS + "use_directory_urls: false\n")
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.commit("abs")
    site = build(book)
    html = article((site / "brakes" / "abs.html").read_text(encoding="utf-8"))
    assert 'href="../members/alice.html"' in html and 'href="../members/bob.html"' in html
    assert '<a href="index.html"><span data-pagefind-filter="domain">' in html
    assert '"search.html"' in (site / "assets/bok/search.js").read_text(encoding="utf-8")
    assert 'id="bok-search"' in (site / "search.html").read_text(encoding="utf-8")
    assert indexed_pages(site) == 1


def test_a_book_without_endorsed_chapters_has_an_empty_search_index(book):
    book.chapter(DRUMS, title="Never endorsed", body="zebra velvet procedure\n")
    book.commit("one chapter, not endorsed")
    site = build(book)
    assert indexed_pages(site) == 0
    assert 'id="bok-search"' in page(site, "search")
    assert "zebra velvet" not in site_text(site)


def test_failed_search_index_leaves_the_previous_site(book, monkeypatch, tmp_path):
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.commit("abs")
    site = build(book)
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    broken = tmp_path / "pagefind"
    broken.write_text("#!/bin/sh\necho index broke >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr("bok.pagefind._pagefind_binary", lambda: str(broken))
    with pytest.raises(BokError, match="Pagefind could not index the site.*index broke"):
        build(book)
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in site.parent.iterdir() if ".building-" in p.name]


def test_newest_endorsed_revision_is_shown_when_head_is_not(book):
    book.chapter(ABS, title="ABS v1", body="The endorsed procedure.\n")
    v1 = book.commit("v1", date="2026-02-01T09:00:00+00:00")
    book.endorse_fully(ABS)
    book.commit("endorse v1", date="2026-02-02T09:00:00+00:00")
    book.chapter(ABS, title="ABS v2", body="An unreviewed rewrite.\n")
    v2 = book.commit("v2 pushed past the gate", date="2026-03-01T09:00:00+00:00")
    site = build(book)
    html = article(page(site, "brakes/abs"))
    assert "The endorsed procedure." in html and "ABS v1" in html
    assert "unreviewed rewrite" not in html and "ABS v2" not in html.split("Revision history")[0]
    assert "A newer revision awaits review" in html
    assert rows(html) == {v2[:7]: "not reviewed", v1[:7]: "✓ endorsed, shown"}
    assert "The endorsed procedure." in searchable(html)
    assert "unreviewed rewrite" not in site_text(site)
    assert indexed_pages(site) == 1


def test_lapsed_endorsements_stay_published_with_a_notice(book, monkeypatch):
    book.chapter(ABS, title="Old practice")
    book.endorse_fully(ABS, today="2024-06-01")
    book.commit("old")
    monkeypatch.setenv("BOK_TODAY", "2026-01-01")
    html = article(page(build(book), "brakes/abs"))
    assert "Due for re-validation" in html and "lapsed on 2025-06-01" in html


def test_member_and_domain_pages_list_the_right_chapters(book):
    book.chapter(ABS, title="ABS bleeding", authors="[alice]")
    book.endorse_fully(ABS, reviewers=("bob", "carol"))
    book.chapter("content/engines/oil.md", title="Oil changes", authors="[dave]",
                 extra="type: lesson\n")
    book.write("reviews/policy.yml", "domains:\n  engines: {endorsements: 1}\n")
    book.review("sign", "content/engines/oil.md", "dave")
    book.review("endorse", "content/engines/oil.md", "carol")
    book.chapter(DRUMS, title="Unendorsed drums", authors="[alice]")
    book.commit("chapters")
    site = build(book)
    alice = article(page(site, "members/alice"))
    assert "ABS bleeding" in alice and "Unendorsed drums" not in alice
    assert "Expert in" in alice and "Steward" in alice
    carol = article(page(site, "members/carol"))
    written, endorsed = carol.split("Chapters endorsed")
    assert "ABS bleeding" not in written and "ABS bleeding" in endorsed
    assert "Oil changes" in endorsed
    brakes = article(page(site, "brakes"))
    assert "All about brakes." in brakes and "ABS bleeding" in brakes
    assert "Oil changes" not in brakes and "Unendorsed drums" not in brakes
    assert "Bob Okafor" in brakes  # an expert of the domain
    engines = article(page(site, "engines"))
    assert re.search(r"<h2[^>]*>Lesson", engines) and "Oil changes" in engines


VECTORS = """\
<script>alert('body')</script>

<img src=x onerror="alert('img')">

[click](https://example.invalid){: onclick="alert('attr')" }

[js](javascript:alert('link'))

[tab](jav&#x09;ascript:alert('tab'))

![data](data:image/svg+xml;base64,PHN2Zz4=)

<iframe src="https://evil.invalid"></iframe>

<object data="x.swf"></object>

<form action="https://evil.invalid"><input name=a></form>

<base href="https://evil.invalid/">

<meta http-equiv="refresh" content="0;url=https://evil.invalid">

<a href="https://example.invalid" onmouseover="alert('a')">hover</a>
"""


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _assert_inert(html: str, content_only: bool = True) -> None:
    """No vector survives. On a whole page the theme's own scripts and search form are
    expected; none of them may carry our payloads."""
    parser = _Tags()
    parser.feed(html)
    banned = {"iframe", "object", "embed", "base"} | ({"form", "script"} if content_only
                                                      else set())
    for tag, attrs in parser.tags:
        assert tag not in banned, (tag, attrs)
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("href", "src", "action", "formaction"):
            value = re.sub(r"\s", "", attrs.get(name, "")).lower()
            assert not value.startswith(("javascript:", "data:", "vbscript:")), (tag, attrs)
        if tag == "meta":
            assert "http-equiv" not in attrs or attrs["http-equiv"].lower() != "refresh"
        if tag == "script":
            assert not attrs.get("src", "").startswith("http"), attrs
    assert not any("alert(" in script for script in parser.scripts)


def test_no_script_reaches_a_reader_even_if_the_check_missed_it(book, monkeypatch):
    """Defence in depth: pretend bok check missed every vector; the build still strips them."""
    monkeypatch.setattr("bok.unsafe.unsafe_constructs", lambda text, **options: [])
    book.chapter(ABS, title="Vectors", body=VECTORS)
    book.endorse_fully(ABS)
    book.commit("vectors")
    html = article(page(build(book), "brakes/abs"))
    assert "Vectors" in html and "hover" in html
    _assert_inert(html)


def test_check_reports_the_vectors_at_review_time(book):
    book.chapter(ABS, title="Vectors", body=VECTORS)
    data = book.check_json()
    unsafe = [f for f in data["findings"] if f["rule"] == "unsafe-html" and f["path"] == ABS]
    assert len(unsafe) >= 10


def test_failed_build_leaves_the_previous_site(book):
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.commit("abs")
    site = build(book)
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    book.write("mkdocs.yml", MKDOCS.replace("name: material", "name: no-such-theme"))
    with pytest.raises(BokError) as failure:
        build(book)
    assert "previous site" in str(failure.value) or "mkdocs.yml" in str(failure.value)
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in site.parent.iterdir() if ".building-" in p.name]


def test_missing_plugin_fails_closed(book):
    book.write("mkdocs.yml", MKDOCS.replace("  - bok\n", ""))
    with pytest.raises(BokError, match="does not enable the bok plugin"):
        build(book)


def test_shallow_clone_is_reported_with_the_fix(book, tmp_path):
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.commit("abs")
    book.commit("second")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{book.root}", str(clone)],
                   check=True)
    with pytest.raises(BokError, match="fetch-depth: 0"):
        build_site(clone, clone / "site")
    build_site(clone, clone / "site", with_history=False)
    html = (clone / "site/brakes/abs/index.html").read_text()
    assert "Revision history is not available" in html


def test_cli_build_reports_errors_in_one_line(book):
    book.write("mkdocs.yml", "site_name: [unclosed\n")
    result = book.bok("build")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "mkdocs.yml" in result.output


def test_symbolic_links_are_never_published(book, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET")
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    os.symlink(outside / "secret.txt", book.root / "content/brakes/secret.txt")
    os.symlink(outside, book.root / "content/brakes/linked")
    book.commit("links")
    site = build(book)
    assert not list(site.rglob("secret.txt"))
    assert not (site / "brakes/linked").exists()


def test_pages_stay_small_with_navigation_prune(book):
    for index in range(20):
        path = f"content/brakes/c{index:02d}.md"
        book.chapter(path, title=f"Brakes chapter {index}")
        book.endorse_fully(path)
        path = f"content/engines/e{index:02d}.md"
        book.chapter(path, title=f"Engines chapter {index}", authors="[dave]")
        book.endorse_fully(path, authors=("dave",), reviewers=("carol",))
    book.write("reviews/policy.yml", "domains:\n  engines: {endorsements: 1}\n")
    book.commit("forty chapters")
    site = build(book)
    html = page(site, "brakes/c00")
    assert "Brakes chapter 19" in html  # siblings are in the navigation
    assert "Engines chapter" not in html  # other sections are pruned away
    assert 'data-pagefind-meta="title:Engines chapter 7"' in page(site, "engines/e07")
    assert indexed_pages(site) == 40  # every chapter is searchable, and only chapters


def test_strict_build_names_the_warning(book):
    book.chapter(ABS, title="ABS", body="See [the missing page](nowhere.md).\n")
    book.endorse_fully(ABS)
    book.commit("abs")
    with pytest.raises(BokError, match="nowhere.md"):
        build(book, strict=True)


def test_serve_reports_a_busy_port_in_one_line(book):
    import socket
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = book.bok("serve", "-a", f"127.0.0.1:{port}")
    assert result.exit_code == 1, result.output
    assert f"cannot serve on 127.0.0.1:{port}" in result.output
    assert "Traceback" not in result.output


def test_check_scans_with_the_books_own_extensions(book):
    """One list of Markdown extensions: bok check renders a page as the site does. With
    pymdownx.tabbed in mkdocs.yml a tab's content is Markdown, so a script inside it is found;
    a book without the extension renders the same text as a plain paragraph."""
    body = '=== "Tab"\n\n    <img src=x onerror=alert(1)>\n'
    book.chapter(ABS, title="Tabs", body=body)
    book.commit("a tab")
    tabbed = MKDOCS + "markdown_extensions:\n  - pymdownx.tabbed:\n      alternate_style: true\n"
    book.write("mkdocs.yml", tabbed)
    data = book.check_json()
    assert [f for f in data["findings"] if f["rule"] == "unsafe-html"], data["findings"]


def test_revision_history_shows_no_unsigned_git_metadata(book):
    """Commit messages and author names are not signed by anyone: a pull request of two commits
    (an edit with a message for readers, then its revert) must not put that message, or a
    member's name it borrows, on an endorsed page."""
    book.chapter(ABS, title="ABS", body="The endorsed procedure.\n")
    book.endorse_fully(ABS)
    book.commit("abs endorsed", date="2026-02-01T09:00:00+00:00")
    book.chapter(ABS, title="ABS", body="Step 3 is obsolete.\n")
    book.git("add", "-A")
    book.git("commit", "-q", "-m", "Safety board: step 3 is obsolete, call +1-555-0100",
             date="2026-02-02T09:00:00+00:00")
    book.chapter(ABS, title="ABS", body="The endorsed procedure.\n")
    book.commit("Bob Okafor approved this", date="2026-02-03T09:00:00+00:00")
    html = article(page(build(book), "brakes/abs"))
    assert "Safety board" not in html and "+1-555-0100" not in html
    assert "approved this" not in html
    assert "not reviewed" in html and "✓ endorsed" in html
