"""Links between chapters and retirement: real books, real keys, real MkDocs and Pagefind builds.

A published chapter's link to a chapter the site does not publish reads as text with a note
(never a 404) and ``bok check`` names its line; each chapter page lists the published chapters
that link to it; ``superseded_by`` retires a chapter: readable under a banner that points to its
successor, and out of search.
"""

from __future__ import annotations

from pathlib import Path

from bok.links import markdown_links

from .conftest import TODAY, findings, state_of
from .test_search_browser import (  # noqa: F401 (browser is a fixture)
    _result_titles,
    _search,
    browser,
    hermetic,
    serving,
)
from .test_site import article, build, indexed_pages, page, searchable

ABS = "content/brakes/abs.md"
DRUMS = "content/brakes/drums.md"
PADS = "content/brakes/pads.md"
OIL = "content/engines/oil.md"
OLD = "content/brakes/bleeding-2019.md"
NEW = "content/brakes/bleeding.md"
MKDOCS = """site_name: Links Book
docs_dir: .bok/stage
theme:
  name: material
plugins:
  - bok
"""

ABS_BODY = """\
See [the drums](drums.md) and [pads](pads.md#fitting) and [oil](../engines/oil.md).

```
[in a fence](drums.md)
```

Not a link: `[in code](drums.md)`; and [gone](gone.md), [home](../index.md), [web](https://e.x/a.md).

[ref]: drums.md
"""


def test_markdown_links_skip_code():
    body = ("a [x](one.md) `[y](two.md)`\n\n    [z](three.md)\n~~~\n[w](four.md)\n~~~\n"
            '[r]: <five.md> "t"\n')
    assert list(markdown_links(body)) == [(1, "one.md"), (7, "five.md")]


def test_check_warns_about_links_to_unpublished_chapters_with_their_line(repo):
    repo.chapter(ABS, title="ABS", body=ABS_BODY)
    repo.chapter(PADS, title="Pads")
    repo.chapter(DRUMS, title="Drums")  # never endorsed
    repo.chapter(OIL, title="Oil", authors="[dave]")
    for path in (ABS, PADS):
        repo.endorse_fully(path)
    repo.endorse_fully(OIL, authors=("dave",), reviewers=("carol",))
    data = repo.check_json()
    assert state_of(data, OIL) == "awaiting"  # one endorsement of two
    found = [(f["line"], f["message"].split(",")[0]) for f in findings(data, "link-unpublished")]
    # front matter is 4 lines: the body starts on line 5
    assert found == [(5, "links to content/brakes/drums.md"),
                     (5, "links to content/engines/oil.md"),
                     (11, "links to content/brakes/gone.md"),
                     (13, "links to content/brakes/drums.md")], found
    messages = [f["message"] for f in findings(data, "link-unpublished")]
    assert "which is not published (awaiting)" in messages[0]
    assert "which does not exist" in messages[2]
    assert all(f["severity"] == "warning" and f["path"] == ABS
               for f in findings(data, "link-unpublished"))
    text = repo.bok("check").output
    assert f"{ABS}:5: warning: links to content/brakes/drums.md" in text
    # a chapter that is not published itself is not checked (its page does not exist)
    assert not findings(data, "link-unpublished", DRUMS)


def test_unpublished_links_read_as_text_and_pages_list_who_links_to_them(repo, monkeypatch):
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    repo.chapter(ABS, title="ABS", body=ABS_BODY + "\nAgain [pads](pads.md).\n")
    repo.chapter(PADS, title="Pads", body="# Fitting\n\nPads.\n")
    repo.chapter(DRUMS, title="Drums", body="Back to [ABS](abs.md).\n")
    repo.chapter("content/brakes/lines.md", title="Brake lines", body="See [pads](pads.md).\n")
    for path in (ABS, PADS, "content/brakes/lines.md"):
        repo.endorse_fully(path)
    repo.commit("chapters", date="2026-03-01T09:00:00+00:00")
    site = build(repo)
    abs_page = article(page(site, "brakes/abs"))
    assert '<span class="bok-unpublished" title="This chapter is not published (yet).">' \
           'the drums</span>' in abs_page
    assert 'href="../pads/#fitting"' in abs_page
    assert not (site / "brakes/drums").exists()
    pads = page(site, "brakes/pads")
    section = article(pads).split('<section class="bok-referenced-by"')[1].split("</section>")[0]
    assert section.count("<li>") == 2  # ABS links twice: listed once; lines links once
    assert section.index(">ABS</a>") < section.index(">Brake lines</a>")  # by title
    assert 'href="../abs/"' in section and 'href="../lines/"' in section
    assert 'href="#referenced-by" class="md-nav__link"' in pads  # in the table of contents
    # not searched: a result's excerpt would be this list
    assert '<section class="bok-referenced-by" data-pagefind-ignore="all">' in pads
    assert "Referenced by" not in searchable(article(pads))
    # DRUMS links to ABS but is not published: it is nobody's referrer; ABS has none
    assert "bok-referenced-by" not in article(page(site, "brakes/abs"))


def _retire(repo):
    repo.chapter(OLD, title="Bleeding brakes (2019)",
                 body="Bleed the calipers in the old sequence. Hydraulic fluid.\n",
                 extra=f"superseded_by: {NEW}\n")
    repo.chapter(NEW, title="Bleeding brakes",
                 body="Bleed the calipers in the new sequence. Hydraulic fluid.\n")
    repo.endorse_fully(OLD)
    repo.endorse_fully(NEW)
    repo.commit("retire the 2019 procedure", date="2026-04-01T09:00:00+00:00")


def test_a_superseded_chapter_stays_readable_under_a_banner_and_leaves_search(repo,
                                                                               monkeypatch,
                                                                               engine):
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    _retire(repo)
    data = repo.check_json()
    assert state_of(data, OLD) == "endorsed" and not findings(data, "unknown-successor")
    site = build(repo, engine=engine)
    old = article(page(site, "brakes/bleeding-2019"))
    assert "Bleed the calipers in the old sequence" in old
    banner = old.split('<div class="admonition warning bok-retired">')[1].split("</div>")[0]
    assert "Retired: superseded" in banner
    assert '<a href="../bleeding/">Bleeding brakes</a>' in banner
    assert indexed_pages(site) == 1  # the successor only
    domain = article(page(site, "brakes"))
    assert "Bleeding brakes (2019)</a> · retired" in domain


def test_successors_are_checked(repo):
    repo.chapter(ABS, title="ABS", extra=f"superseded_by: {ABS}\n")
    repo.chapter(PADS, title="Pads", extra="superseded_by: content/brakes/gone.md\n")
    repo.chapter(DRUMS, title="Drums", extra="superseded_by: drums-v2.md\n")
    data = repo.check_json()
    itself = findings(data, "unknown-successor", ABS)[0]
    assert itself["severity"] == "error" and itself["line"] == 4
    assert "is the chapter itself" in itself["message"]
    gone = findings(data, "unknown-successor", PADS)[0]
    assert gone["severity"] == "warning" and "does not exist" in gone["message"]
    shape = findings(data, "invalid-superseded_by", DRUMS)[0]
    assert "a chapter path content/<domain>/<slug>.md" in shape["message"]
    assert state_of(data, ABS) == "invalid" and state_of(data, DRUMS) == "invalid"
    assert state_of(data, PADS) == "awaiting"


def test_browser_search_leads_to_the_successor(repo, tmp_path: Path, monkeypatch,
                                               browser):  # noqa: F811
    from playwright.sync_api import expect

    from bok.publish import build_site
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    _retire(repo)
    site = build_site(repo.root, tmp_path / "site").site
    with serving(site) as served, hermetic(browser, served) as context:
        reader = context.new_page()
        reader.goto(served + "search/")
        message = _search(reader, "calipers")
        expect(message).to_have_text("1 result for calipers")
        assert _result_titles(reader) == ["Bleeding brakes"]
        # the retired page is still there, and its banner leads to the successor
        reader.goto(served + "brakes/bleeding-2019/")
        reader.locator(".bok-retired a").click()
        reader.wait_for_url("**/brakes/bleeding/")
        expect(reader.locator("article h1").first).to_have_text("Bleeding brakes")
