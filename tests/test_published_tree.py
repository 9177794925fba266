"""The published site is made only from what bok staged: exact endorsed text, no file the review
does not cover, and an engine run directly in the book builds nothing else."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bok.errors import BokError

from .test_site import ABS, DRUMS, MKDOCS, article, build, page, site_text

BODIES = [
    "Important: disconnect the battery first.\nThen open the bleeder.\n",
    "Warning: hot surface\nNote: wear gloves\n\nStep two follows.\n",
    "---\nA body that starts with a rule.\n",
    "\nA body that starts with a blank line.\n",
    "# A heading first\n\nText under it.\n",
    '<div class="box">\nAn HTML block first.\n</div>\n\nAfter the block.\n',
    "Title: not metadata\nAuthor: nobody\n",
    "```\ncode with ``` fences and ~~~ tildes\n```\n\nAnd\ttabbed text.\n",
]


@pytest.fixture
def book(repo, monkeypatch):
    monkeypatch.setenv("BOK_TODAY", "2026-11-22")
    repo.write("mkdocs.yml", MKDOCS)
    return repo


def _lines(body: str) -> list[str]:
    skip = {"---", "```", ""}
    return [line.strip().lstrip("# ") for line in body.splitlines()
            if line.strip() not in skip and not line.startswith(("<div", "</div"))]


def test_readers_get_every_line_of_the_endorsed_body(book):
    for index, body in enumerate(BODIES):
        book.chapter(f"content/brakes/c{index}.md", title=f"Chapter {index}", body=body)
        book.endorse_fully(f"content/brakes/c{index}.md")
    book.commit("varied bodies")
    site = build(book)
    for index, body in enumerate(BODIES):
        html = article(page(site, f"brakes/c{index}"))
        text = _visible(html)
        for line in _lines(body):
            assert line.replace("\t", " ") in text.replace("\t", " "), (index, line)


def _visible(html: str) -> str:
    import html as html_lib
    import re
    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("name", ["x.markdown", "x.mdown", "x.mkdn", "x.mkd", "evil.html",
                                  "pic.svg", "app.js", "notes.txt"])
def test_no_file_but_the_staged_pages_is_published(book, name):
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.write(f"content/brakes/{name}",
               "---\ntitle: <script>alert('owned')</script>\n---\nUNREVIEWED-PAYLOAD "
               "<svg onload=alert(1)></svg>\n")
    book.commit(f"a pull request adds content/brakes/{name}")
    site = build(book)
    everything = site_text(site)
    assert "UNREVIEWED-PAYLOAD" not in everything
    assert "alert(" not in everything
    assert not list(site.rglob(Path(name).stem + ".*"))


def test_the_theme_s_own_stylesheets_and_scripts_are_published(book):
    """Only staged pages are published, yet the theme's assets are: a page without Material's
    stylesheet is unreadable (measured: bok's filter once dropped them all)."""
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.commit("abs")
    site = build(book)
    html = page(site, "brakes/abs")
    linked = re.findall(r'<(?:link[^>]*rel="stylesheet"[^>]*href|script[^>]*src)="([^"]+)"',
                        html)
    local = [ref for ref in linked if "://" not in ref]
    assert any("assets/stylesheets/main" in ref for ref in local), local
    assert any("assets/javascripts/bundle" in ref for ref in local), local
    for ref in local:
        assert (site / "brakes/abs" / ref.split("?")[0]).resolve().is_file(), ref


def test_an_engine_run_directly_builds_only_what_bok_staged(book, tmp_path):
    """`mkdocs build` in the book, as a stranger's workflow or a user would run it."""
    book.chapter(ABS, title="ABS", body="endorsed words\n")
    book.endorse_fully(ABS)
    book.chapter(DRUMS, title="Drums", body="UNENDORSED-PHRASE\n")
    book.commit("one endorsed, one not")
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "-q", "-d"]
    # a fresh clone has nothing staged: the engine fails rather than read content/
    fresh = subprocess.run([*mkdocs, str(tmp_path / "fresh")], cwd=book.root,
                           capture_output=True, text=True)
    assert fresh.returncode != 0 and not (tmp_path / "fresh" / "brakes").exists()
    build(book)  # stages
    # with the bok plugin (mkdocs build runs it), and without it (an engine that ignores it)
    subprocess.run([*mkdocs, str(tmp_path / "direct")], cwd=book.root, check=True,
                   capture_output=True)
    book.write("mkdocs.yml", MKDOCS.replace("  - bok\n", ""))
    subprocess.run([*mkdocs, str(tmp_path / "plain")], cwd=book.root, check=True,
                   capture_output=True)
    for out in (tmp_path / "direct", tmp_path / "plain"):
        assert "endorsed words" in page(out, "brakes/abs")
        assert "UNENDORSED-PHRASE" not in site_text(out)
        assert not (out / "brakes" / "drums").exists()


def test_the_stage_rewrites_only_what_changed_and_drops_what_is_no_longer_published(book):
    from bok.stage import MANIFEST, STAGE
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.chapter(DRUMS, title="Drums")
    book.endorse_fully(DRUMS)
    book.commit("two chapters")
    build(book)
    staged = book.root / STAGE
    assert (staged / "brakes/drums.md").is_file() and (staged / MANIFEST).is_file()
    before = {p: p.stat().st_mtime_ns for p in staged.rglob("*.md")}
    build(book)
    assert {p: p.stat().st_mtime_ns for p in staged.rglob("*.md")} == before
    book.chapter(DRUMS, title="Drums", body="A rewrite nobody endorsed.\n")
    (book.root / "reviews/brakes/drums").rename(book.root / "drums-records")
    book.commit("drums rewritten, its records moved away")
    (staged / "brakes" / "stray.md").write_text("---\ntitle: stray\n---\nSTRAY-TEXT\n")
    site = build(book)
    assert not (staged / "brakes/drums.md").exists() and not (staged / "brakes/stray.md").exists()
    assert "STRAY-TEXT" not in site_text(site)
    assert (staged / "brakes/abs.md").stat().st_mtime_ns == before[staged / "brakes/abs.md"]


def test_a_stage_folder_bok_did_not_make_is_refused(book):
    from bok.stage import STAGE
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.commit("abs")
    mine = book.write(f"{STAGE}/my-notes.txt", "keep me")
    with pytest.raises(BokError, match="holds files bok did not stage"):
        build(book)
    assert mine.read_text() == "keep me"


def test_mkdocs_yml_pointing_at_content_is_refused(book):
    book.write("mkdocs.yml", MKDOCS.replace("docs_dir: .bok/stage", "docs_dir: content"))
    book.chapter(ABS, title="ABS")
    book.commit("abs")
    with pytest.raises(BokError, match="docs_dir: .bok/stage"):
        build(book)


def test_snippets_are_refused(book):
    book.write("mkdocs.yml", MKDOCS + "markdown_extensions:\n  - pymdownx.snippets\n")
    with pytest.raises(BokError, match=r"^mkdocs.yml:\d+: error: 'pymdownx.snippets' is not "
                       r"allowed.*\[site-config-refused\]"):
        build(book)
    assert not (book.root / "site").exists()


def test_a_script_repo_url_stops_the_build(book):
    """bok build runs mkdocs.yml's rules itself (not only bok check): no page is written."""
    book.write("mkdocs.yml", MKDOCS.replace("https://example.invalid/book",
                                            "javascript://alert(1)//"))
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.commit("abs")
    with pytest.raises(BokError, match=r"^mkdocs.yml:\d+: error: 'repo_url' is "
                       r"'javascript:.*\[unsafe-url\]"):
        build(book)
    assert not (book.root / "site").exists()


def test_links_to_unpublished_chapters_are_plain_text(book):
    book.chapter(ABS, title="ABS", body="See [the drums](drums.md) and [pads](pads.md#wear).\n")
    book.endorse_fully(ABS)
    book.chapter("content/brakes/pads.md", title="Pads")
    book.endorse_fully("content/brakes/pads.md")
    book.chapter(DRUMS, title="Drums, not endorsed")
    book.commit("links")
    report_warnings = []
    from bok.publish import build_site
    report = build_site(book.root, book.root / "site")
    report_warnings = report.warnings
    html = article(page(report.site, "brakes/abs"))
    assert '<span class="bok-unpublished"' in html and "the drums" in html
    assert 'href="../drums' not in html
    assert 'href="../pads/#wear"' in html
    assert any("drums.md" in w and "no published page" in w for w in report_warnings)


def test_pending_page_shows_the_front_matter_of_the_revision_shown(book):
    book.chapter(ABS, title="ABS endorsed", body="The endorsed procedure.\n",
                 extra="summary: The endorsed summary.\ntags: [endorsed-tag]\ntype: standard\n")
    book.commit("v1", date="2026-02-01T09:00:00+00:00")
    book.endorse_fully(ABS)
    book.commit("endorse v1", date="2026-02-02T09:00:00+00:00")
    book.chapter(ABS, title="ABS rewritten title", body="The endorsed procedure.\n",
                 authors="[alice, dave]",
                 extra="summary: UNREVIEWED-SUMMARY\ntags: [unreviewed-tag]\ntype: lesson\n")
    book.commit("front matter pushed past the gate", date="2026-03-01T09:00:00+00:00")
    site = build(book)
    full = page(site, "brakes/abs")
    assert "ABS endorsed" in full and "The endorsed summary." in full
    for unreviewed in ("rewritten", "UNREVIEWED-SUMMARY", "unreviewed-tag", "Dave Ruiz",
                       ">lesson<"):
        assert unreviewed not in full.split("Revision history")[0], unreviewed
    assert ">standard<" in full


def test_drafts_preview_shows_the_text_under_review_and_what_changed(book):
    book.chapter(ABS, title="ABS", body="Step one.\nStep two, the old way.\n")
    book.commit("v1", date="2026-02-01T09:00:00+00:00")
    book.endorse_fully(ABS)
    book.commit("endorse v1", date="2026-02-02T09:00:00+00:00")
    book.chapter(ABS, title="ABS", body="Step one.\nStep two, the NEW way.\n")
    book.commit("v2 under review", date="2026-03-01T09:00:00+00:00")
    published = article(page(build(book), "brakes/abs"))
    assert "the old way" in published and "NEW way" not in published
    preview = article(page(build(book, drafts=True), "brakes/abs"))
    assert "Preview: this revision awaits review" in preview
    body = preview.split("Changes under review")[0]
    assert "Step two, the NEW way." in body and "the old way" not in body
    changes = preview.split("Changes under review")[1].split("Revision history")[0]
    assert '<span class="bok-diff__removed">-Step two, the old way.</span>' in changes
    assert '<span class="bok-diff__added">+Step two, the NEW way.</span>' in changes
    # the preview is staged apart: what an engine run in the book finds is the published book
    from bok.stage import PREVIEW, STAGE
    assert "NEW way" not in (book.root / STAGE / "brakes/abs.md").read_text()
    assert "NEW way" in (book.root / PREVIEW / "brakes/abs.md").read_text()


def test_history_marks_every_revision_that_was_endorsed(book):
    book.chapter(ABS, title="ABS", body="First endorsed text.\n")
    first = book.commit("first text", date="2026-02-01T09:00:00+00:00")
    book.endorse_fully(ABS)
    book.commit("endorse the first text", date="2026-02-02T09:00:00+00:00")
    book.chapter(ABS, title="ABS", body="Second endorsed text.\n")
    book.endorse_fully(ABS)
    second = book.commit("second text, endorsed again", date="2026-03-01T09:00:00+00:00")
    html = article(page(build(book), "brakes/abs"))
    from .test_site import rows
    assert rows(html) == {first[:7]: "✓ endorsed", second[:7]: "✓ endorsed"}


def test_domain_page_lists_each_chapter_with_its_state_in_the_domain_order(book):
    book.write("content/brakes/index.md", "---\ntitle: Brakes\ndescription: All about brakes.\n"
               "order: [zeta, alpha]\n---\n")
    for slug, title in (("alpha", "Alpha"), ("zeta", "Zeta"), ("mid", "Middle")):
        book.chapter(f"content/brakes/{slug}.md", title=title)
        book.endorse_fully(f"content/brakes/{slug}.md")
    book.commit("three chapters", date="2026-02-01T09:00:00+00:00")
    book.chapter("content/brakes/alpha.md", title="Alpha", body="Changed, not endorsed.\n")
    book.commit("alpha changed", date="2026-03-01T09:00:00+00:00")
    site = build(book)
    domain = article(page(site, "brakes"))
    assert domain.index("Zeta") < domain.index("Alpha") < domain.index("Middle")
    assert "Alpha</a> · a newer revision awaits review" in domain
    assert "Zeta</a> · endorsed" in domain
    nav = page(site, "brakes/zeta").split("md-nav--primary")[1].split("<article")[0]
    assert nav.index("Zeta") < nav.index("Alpha") < nav.index("Middle")
    assert "members/alice/" not in page(site, "brakes/zeta").split("<article")[0]


def test_build_says_what_it_published_and_left_out(book):
    book.chapter(ABS, title="ABS")
    book.endorse_fully(ABS)
    book.chapter(DRUMS, title="Drums")
    book.chapter("content/brakes/wip.md", title="WIP", extra="draft: true\n")
    book.commit("three")
    result = book.bok("build")
    assert result.exit_code == 0, result.output
    assert ("built the site into site/: 1 chapter published; left out: 1 awaiting endorsement, "
            "1 draft") in result.output


def test_a_domain_page_has_one_title_then_its_description_and_each_chapter_s_summary(book):
    book.write("content/brakes/index.md", "---\ntitle: Brakes\ndescription: Stopping safely.\n"
               "---\n# Brakes\n\nWhat the workshop knows about brakes.\n")
    book.chapter(ABS, title="ABS", extra="summary: Bleed an ABS unit valve by valve.\n")
    book.endorse_fully(ABS)
    book.commit("a domain page that opens with its title")
    domain = article(page(build(book), "brakes"))
    assert len(re.findall(r"<h1", domain)) == 1
    assert (domain.index("<h1") < domain.index("Stopping safely.")
            < domain.index("What the workshop knows"))
    assert re.search(r"ABS</a> · endorsed<br ?/?>\s*Bleed an ABS unit valve by valve\.", domain)
