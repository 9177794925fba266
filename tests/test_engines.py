"""The same guarantees on every engine: each test runs once with MkDocs and once with Zensical
(skipped, with the reason, where Zensical is not installed), on real books in real Git
repositories, asserting on the HTML the engine wrote. (tests/test_site.py holds what is
MkDocs' and Material's alone: their table of contents, navigation, search plugin.)"""

from __future__ import annotations

import posixpath
import re
import subprocess
from importlib.util import find_spec
from pathlib import Path

import pytest

from bok import engines, verify
from bok.errors import BokError
from bok.publish import build_site

from .conftest import CHECKOUT, TODAY, ZENSICAL_MISSING, findings
from .test_sanitize import RAW_HTML_VECTORS, assert_harmless
from .test_sanitize import VECTORS as MARKDOWN_VECTORS
from .test_site import (
    ABS,
    DRUMS,
    MKDOCS,
    VECTORS,
    _assert_inert,
    article,
    indexed_pages,
    page,
    searchable,
    site_text,
)


@pytest.fixture
def book(repo, monkeypatch):
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    return repo


def build(book, engine: str, site: str = "site", **options) -> Path:
    build_site(book.root, book.root / site, engine=engine, **options)
    return book.root / site


def chapter_block(html: str) -> str:
    """bok's chapter block, whatever the engine wrapped around it."""
    return re.search(r'<div class="bok-chapter".*?</article>', html, re.S).group(0)


def files(site: Path) -> dict[Path, bytes]:
    return {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def assert_links_resolve(site: Path, url: str, html: str) -> None:
    """Every relative link of bok's block reaches a page the engine wrote."""
    hrefs = re.findall(r'href="([^"#:]+)(?:#[^"]*)?"', html)
    assert hrefs
    for href in hrefs:
        target = posixpath.normpath(posixpath.join(url, href))
        built = site / target / "index.html" if href.endswith("/") else site / target
        assert built.is_file(), (url, href)


def test_attribution_notes_history_and_search(book, engine):
    book.chapter(ABS, title="Bleeding ABS units", body="Open the **bleeder** valve.\n",
                 extra="tags: [hydraulics]\n")
    book.commit("Draft the ABS chapter", date="2026-03-01T09:00:00+00:00")
    book.endorse_fully(ABS)
    book.commit("Endorse the ABS chapter")
    site = build(book, engine)
    html = page(site, "brakes/abs")
    block = chapter_block(html)
    assert "Bleeding ABS units" in block and "<strong>bleeder</strong>" in block
    assert "Alice Martin" in block and "Bob Okafor" in block and "Carol Lin" in block
    assert "Reviewed by bob." in block and "✓ endorsed" in block
    assert "2026-03-01" in block and "Draft the ABS chapter" not in block  # no Git message
    assert "https://example.invalid/book/commit/" in block
    assert_links_resolve(site, "brakes/abs/", block)
    found = searchable(article(html))
    assert '<span data-pagefind-filter="author">Alice Martin</span>' in found
    assert 'data-pagefind-filter="state:endorsed"' in found
    assert indexed_pages(site) == 1  # the chapter; not the home, domain or member pages
    assert list((site / "pagefind" / "filter").iterdir())  # domain, type, author, state
    assert (site / "assets/bok/search.js").is_file() and 'id="bok-search"' in page(site, "search")
    assert "hydraulics" in (site / "tags" / "index.html").read_text(encoding="utf-8")


def test_unendorsed_and_drafts_are_absent_everywhere(book, engine):
    book.chapter(ABS, title="Endorsed one")
    book.endorse_fully(ABS)
    book.chapter(DRUMS, title="Never endorsed", body="zebra velvet procedure\n")
    book.chapter("content/brakes/wip.md", title="Work in progress", body="quince draft text\n",
                 extra="draft: true\n")
    book.commit("three chapters")
    site = build(book, engine)
    assert (site / "brakes/abs/index.html").is_file()
    assert not (site / "brakes/drums").exists() and not (site / "brakes/wip").exists()
    everything = site_text(site)  # Zensical's search.json included, if it wrote one
    for phrase in ("Never endorsed", "zebra velvet", "Work in progress", "quince draft"):
        assert phrase not in everything, phrase
    assert indexed_pages(site) == 1
    preview = build(book, engine, site="preview", drafts=True)
    assert "zebra velvet procedure" in page(preview, "brakes/drums")
    assert "Draft, not endorsed" in page(preview, "brakes/drums")
    assert "Draft, not endorsed" not in page(preview, "brakes/abs")


def test_member_and_domain_pages(book, engine):
    book.chapter(ABS, title="ABS bleeding", authors="[alice]")
    book.endorse_fully(ABS, reviewers=("bob", "carol"))
    book.chapter(DRUMS, title="Unendorsed drums", authors="[alice]")
    book.commit("chapters")
    site = build(book, engine)
    alice = article(page(site, "members/alice"))
    assert "ABS bleeding" in alice and "Unendorsed drums" not in alice and "Steward" in alice
    assert_links_resolve(site, "members/alice/", alice.split("</h1>", 1)[1])
    brakes = article(page(site, "brakes"))
    assert "All about brakes." in brakes and "ABS bleeding" in brakes
    assert "Unendorsed drums" not in brakes and "Bob Okafor" in brakes
    assert_links_resolve(site, "brakes/", brakes.split("</h1>", 1)[1])


def test_the_whole_injection_corpus_is_inert(book, engine, monkeypatch):
    """Every vector of the suite in one endorsed chapter, as if bok check had missed them all:
    nothing script-capable reaches any page of the site, whatever the engine does."""
    monkeypatch.setattr("bok.unsafe.unsafe_constructs", lambda text, **options: [])
    corpus = [VECTORS] + [src for src, _, _ in MARKDOWN_VECTORS] + RAW_HTML_VECTORS
    book.chapter(ABS, title="Vectors", body="\n\nharmless marker\n\n".join(corpus) + "\n")
    book.endorse_fully(ABS)
    book.commit("vectors")
    site = build(book, engine)
    html = page(site, "brakes/abs")
    assert "Vectors" in html and "harmless marker" in html
    assert_harmless(chapter_block(html).split("</article>")[0])
    for built in site.rglob("*.html"):
        _assert_inert(built.read_text(encoding="utf-8"), content_only=False)


def test_front_matter_registry_and_commits_are_escaped(book, engine):
    xss = "<img src=x onerror=alert(1)>"
    book.write("content/brakes/index.md",
               f'---\ntitle: "Brakes {xss}"\ndescription: "{xss}"\n---\n')
    book.write("reviews/members.yml", book.read("reviews/members.yml").replace(
        "name: Bob Okafor", f'name: "Bob {xss}"'))
    book.chapter(ABS, title="Safe & sound", extra="tags: [\"<script>x</script>\"]\n")
    book.review("sign", ABS, "alice")
    book.review("endorse", ABS, "bob", message=f"Looks fine {xss} <script>alert(2)</script>")
    book.review("endorse", ABS, "carol")
    book.commit(f"commit subject {xss}")
    site = build(book, engine)
    for built in site.rglob("*.html"):
        _assert_inert(built.read_text(encoding="utf-8"), content_only=False)
    html = page(site, "brakes/abs")
    assert "Looks fine" in html and "<title>Safe &amp; sound" in html  # escaped once


OVERRIDE = """{% extends "base.html" %}
{% block content %}{{ page.content | replace("&lt;", "<") | replace("&gt;", ">") }}{% endblock %}
"""


def test_an_engine_that_undoes_the_sanitizing_fails_the_build(book, engine):
    """A theme override that decodes what bok escaped (a template, not a chapter, so it passes
    review as a configuration change): the output check stops the build, the site stays."""
    book.chapter(ABS, title="ABS", body="Type `<script>alert(1)</script>` to see it fail.\n")
    book.endorse_fully(ABS)
    book.commit("abs")
    site = build(book, engine)
    before = files(site)
    book.write("mkdocs.yml", MKDOCS.replace("  name: material\n",
                                            "  name: material\n  custom_dir: overrides\n"))
    book.write("overrides/main.html", OVERRIDE)
    with pytest.raises(BokError, match=r"brakes/abs/index.html: the page's content is not what "
                                       r"bok staged.*previous site is untouched"):
        build(book, engine)
    assert files(site) == before
    assert not [p for p in site.parent.iterdir() if ".building-" in p.name]


def test_a_failed_engine_run_leaves_the_previous_site(book, engine):
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.commit("abs")
    site = build(book, engine)
    before = files(site)
    book.write("mkdocs.yml", MKDOCS.replace("name: material", "name: no-such-theme"))
    with pytest.raises(BokError, match="previous site is untouched"):
        build(book, engine)
    assert files(site) == before
    assert not [p for p in site.parent.iterdir() if ".building-" in p.name]


def test_the_handbook_builds_on_every_engine(engine, tmp_path):
    """The project's own book, cloned with its history: every page bok planned is built."""
    clone = tmp_path / "handbook"
    subprocess.run(["git", "clone", "-q", str(CHECKOUT), str(clone)], check=True)
    report = build_site(clone, clone / "site", engine=engine)
    assert report.chapters >= 10
    assert (clone / "site/publishing/the-site/index.html").is_file()
    assert indexed_pages(clone / "site") == report.chapters
    assert not [w for w in report.warnings if "zensical" in w]


def test_the_engine_is_read_from_mkdocs_yml(book):
    if find_spec("zensical") is None:
        pytest.skip(ZENSICAL_MISSING)
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.write("mkdocs.yml", MKDOCS.replace("  - bok\n", "  - bok:\n      engine: zensical\n"))
    book.commit("abs")
    assert engines.configured(book.root) == "zensical"
    result = book.bok("build")
    assert result.exit_code == 0, result.output
    assert (book.root / "site/search.json").is_file()  # Zensical's (empty: search is off)
    assert book.bok("build", "--engine", "mkdocs").exit_code == 0
    assert not (book.root / "site/search.json").exists()
    assert not findings(book.check_json(), "schema", "mkdocs.yml")


def test_an_unknown_engine_is_a_finding(book):
    book.write("mkdocs.yml", MKDOCS.replace("  - bok\n", "  - bok:\n      engine: hugo\n"))
    found = findings(book.check_json(), "schema", "mkdocs.yml")
    assert found and "'hugo'" in found[0]["message"] and found[0]["line"] == 8


def test_without_zensical_the_build_says_how_to_install_it(book, monkeypatch):
    monkeypatch.setattr(engines, "find_spec", lambda name: None)
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.commit("abs")
    result = book.bok("build", "--engine", "zensical")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "pip install 'bok[zensical]'" in result.output


def test_the_output_check_compares_content_not_spelling(tmp_path):
    """Whitespace, character references and how a relative link is written do not count; a
    decoded entity, a new attribute or a link to another page do."""
    staged = '<p class="x">a &lt;b&gt; <a href="../members/ann/">Ann</a></p>'
    base = verify.tokens(staged, "brakes/abs.html")  # as bok staged it for Zensical
    same = '<div><p  class="x">a &#60;b&gt;\n<a href="../../members/ann/">Ann</a></p></div>'
    assert verify.holds(verify.tokens(same, "brakes/abs/"), base)
    for changed in ('<p class="x">a <b> <a href="../../members/ann/">Ann</a></p>',
                    '<p class="x" onclick="x()">a &lt;b&gt; <a href="../../members/ann/">Ann'
                    '</a></p>',
                    '<p class="x">a &lt;b&gt; <a href="../members/ann/">Ann</a></p>'):
        assert not verify.holds(verify.tokens(changed, "brakes/abs/"), base), changed
    theme = {verify.theme_scripts('<script>var a = "../..";</script>').pop()}
    assert verify.script_problems('<script>var a = ".";</script>', theme) == []
    assert verify.script_problems("<script>alert(1)</script>", theme)
    assert verify.script_problems('<script src="https://e.x/a.js"></script>', theme)
