"""The site as readers see it, in a real headless Chromium at a desktop width (1280x800) and a
phone width (390x844): a real book built by bok (MkDocs, Material, Pagefind), served over HTTP.

Each check is what a reader would notice: the site name in the header is readable (the search
box does not squeeze it), the revision history's last columns can be reached, a date never
breaks across lines, tags appear once, the navigation holds only the book (Members, Search and
Tags are linked at the end of every page instead), the page never scrolls sideways, and a
search result's excerpt is the chapter's text, not its attribution.

Needs Debian's ``chromium`` and the ``playwright`` package, as tests/test_search_browser.py;
skipped, saying which is missing, without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bok.publish import build_site

from .conftest import TODAY, make_repo, state_of
from .test_search_browser import TIMEOUT_MS, browser, served  # noqa: F401 (fixtures)

SITE_NAME = "Brake Practice Book"  # fits a phone's header, unless a search box squeezes it
MKDOCS = f"""site_name: {SITE_NAME}
docs_dir: .bok/stage
repo_url: https://example.invalid/book
theme:
  name: material
  features: [navigation.prune, navigation.indexes]
plugins:
  - bok
  - tags
"""
ABS = "content/brakes/abs.md"
ABS_TITLE = "Bleeding ABS units"
ABS_WORD = "quinquennial"  # a word of the body only, to search for
DIGEST = "sha256:" + "9f2c" * 16  # an unbroken value a result's excerpt quotes
TAGS = ("fluids", "servicing")  # words of no other text on the page
PADS = "content/brakes/pads.md"
DRUMS = "content/brakes/drums.md"  # never endorsed: the pads chapter's link to it is text
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
LONG_SUBJECTS = (  # commit subjects long enough to make the history table wider than a phone
    "Draft the ABS chapter from the workshop notes of the spring brake clinic",
    "Rework the bleeding sequence after the review of the hydraulics group",
    "Clarify which bleeder valve comes first on a four-channel ABS unit",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory, keys) -> dict[str, Path]:
    """A small book, built once for the module, as readers get it ("site") and as a drafts
    preview ("drafts"): two endorsed chapters of brakes in the order its domain page gives,
    with several commits each, the pads one edited since (under review), and one chapter never
    endorsed."""
    folder = tmp_path_factory.mktemp("site-browser")
    repo = make_repo(folder / "book", keys)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOK_TODAY", TODAY)
        repo.write("mkdocs.yml", MKDOCS)
        repo.write("content/brakes/index.md", "---\ntitle: Brakes\ndescription: Stopping "
                   "safely.\norder: [pads, abs]\n---\n")
        repo.chapter(DRUMS, title="Turning brake drums", body="Not reviewed yet.\n")
        for day, subject in enumerate(LONG_SUBJECTS, start=1):
            repo.chapter(ABS, title=ABS_TITLE, extra=f"tags: [{', '.join(TAGS)}]\n",
                         body=f"# Bleeding\n\nBleed the unit at the {ABS_WORD} service "
                              f"({DIGEST}), starting at the valve farthest from the pump "
                              f"(revision {day}).\n")
            repo.chapter(PADS, title="Seating brake pads",
                         body=f"Bed the pads in, as for [drums](drums.md).\n\nCheck the "
                              f"rotor (revision {day}).\n")
            repo.commit(subject, date=f"2026-12-0{day}T09:00:00+00:00")
        repo.endorse_fully(ABS)
        repo.endorse_fully(PADS)
        repo.commit("Endorse the ABS and pads chapters", date="2026-12-05T09:00:00+00:00")
        repo.chapter(PADS, title="Seating brake pads",
                     body="Bed the pads in, as for [drums](drums.md).\n\nCheck the rotor "
                          "(revision 4).\n")
        repo.commit("Pads: a fourth revision", date="2026-12-06T09:00:00+00:00")
        data = repo.check_json()
        assert state_of(data, ABS) == "endorsed" and state_of(data, PADS) == "pending"
        return {"site": build_site(repo.root, folder / "site").site,
                "drafts": build_site(repo.root, folder / "drafts", drafts=True).site}


@pytest.fixture
def site(request, built: dict[str, Path]) -> Path:
    """The site ``served`` serves: the published one, or the one a parameter names."""
    return built[getattr(request, "param", "site")]


@dataclass
class Reader:
    page: Any  # playwright's Page
    base: str  # the site's URL
    width: int

    def open(self, path: str) -> None:
        """Go to ``path`` of the site and wait for bok's script to set up the header."""
        self.page.goto(self.base + path)
        self.page.locator(".md-header__inner .bok-header-search").wait_for(state="attached")

    def no_sideways_scroll(self) -> None:
        sizes = self.page.evaluate("[document.documentElement.scrollWidth, "
                                   "document.documentElement.clientWidth]")
        assert sizes[0] <= sizes[1], f"the page scrolls sideways at {self.width} px: {sizes}"


@pytest.fixture(params=list(WIDTHS))
def reader(request, browser, served: str):  # noqa: F811 (fixtures imported above)
    """A reader at one of :data:`WIDTHS`, kept to this server (the theme's web fonts are
    refused at once); any script error fails the test."""
    width, height = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height},
                                  service_workers="block")
    host = urlsplit(served).netloc
    context.route("**/*", lambda route: route.continue_()
                  if urlsplit(route.request.url).netloc == host else route.abort())
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield Reader(page, served, width)
        assert errors == []
    finally:
        context.close()


def test_the_site_name_is_never_squeezed_by_the_search_box(reader):
    from playwright.sync_api import expect

    for path in ("", "brakes/abs/"):
        reader.open(path)
        name = reader.page.locator(".md-header__title .md-header__topic").first.locator(
            ".md-ellipsis")
        expect(name).to_have_text(SITE_NAME)
        sizes = name.evaluate("e => [e.scrollWidth, e.clientWidth]")
        assert sizes[0] <= sizes[1], f"the site name is cut off at {reader.width} px: {sizes}"
        reader.no_sideways_scroll()
    # A search box where there is room, an icon that opens the search page where there is not.
    box = reader.page.locator("input.bok-header-search__input")
    icon = reader.page.locator("a.bok-header-search__button")
    if reader.width >= 960:
        expect(box).to_be_visible()
        expect(icon).to_be_hidden()
    else:
        expect(box).to_be_hidden()
        expect(icon).to_be_visible()
        icon.click()
        reader.page.wait_for_url("**/search/")
        expect(reader.page.locator(".pagefind-ui__search-input")).to_be_visible()


def test_the_history_table_reaches_its_last_columns_and_dates_keep_to_one_line(reader):
    reader.open("brakes/abs/")
    table = reader.page.locator(".bok-history table")
    headers = table.locator("th").all_inner_texts()
    assert [h.strip() for h in headers] == ["Date", "Commit", "Content"]
    for column in ("Commit", "Content"):
        cell = table.locator("th", has_text=column)
        # scroll the cell's scroll container (if any) to it, as a reader would swipe
        box = cell.evaluate("""cell => {
            for (let e = cell.parentElement; e; e = e.parentElement) {
                const style = getComputedStyle(e);
                if (["auto", "scroll"].includes(style.overflowX) && e.scrollWidth > e.clientWidth)
                    { e.scrollLeft = e.scrollWidth; break; }
            }
            const r = cell.getBoundingClientRect();
            return [r.left, r.right, document.documentElement.clientWidth];
        }""")
        assert 0 <= box[0] < box[1] <= box[2], f"{column} is out of reach: {box}"
    reader.no_sideways_scroll()
    dates = reader.page.locator(".bok-date")
    assert dates.count() >= len(LONG_SUBJECTS) + 2  # the table's, endorsed on, re-validate by
    lines = dates.evaluate_all("""dates => dates.map(d => {
        const range = document.createRange();
        range.selectNodeContents(d);
        return [d.textContent, range.getClientRects().length];
    })""")
    assert all(count == 1 for _text, count in lines), f"dates break: {lines}"


def test_tags_show_once_and_the_navigation_holds_only_the_book(reader):
    reader.open("brakes/abs/")
    text = reader.page.locator("article").inner_text()
    for tag in TAGS:
        assert text.count(tag) == 1, (tag, text)
    nav = [t.strip() for t in
           reader.page.locator(".md-nav--primary .md-nav__link").all_text_contents()]
    assert "Home" in nav and ABS_TITLE in nav and "Brakes" in nav, nav
    for left_out in ("Members", "Search", "Tags"):
        assert left_out not in nav, nav
    assert nav.index("Seating brake pads") < nav.index(ABS_TITLE)  # the domain's order
    # ... and the end of the page leads to them.
    links = reader.page.locator(".bok-site-links a")
    assert [t.strip() for t in links.all_inner_texts()] == ["Members", "Search", "Tags"]
    links.first.click()
    reader.page.wait_for_url("**/members/")


def test_a_link_to_an_unpublished_chapter_reads_as_marked_text(reader):
    reader.open("brakes/pads/")
    marked = reader.page.locator("article .bok-unpublished")
    assert marked.inner_text() == "drums"
    assert marked.get_attribute("title") == "This chapter is not published (yet)."
    style = marked.evaluate("e => getComputedStyle(e).textDecorationStyle")
    assert style == "dotted"
    assert reader.page.locator("article a", has_text="drums").count() == 0


def test_a_search_excerpt_is_the_chapter_not_its_attribution(reader):
    from playwright.sync_api import expect

    reader.open(f"search/?q={ABS_WORD}")
    message = reader.page.locator(".pagefind-ui__message")
    expect(message).to_have_text(f"1 result for {ABS_WORD}")
    excerpt = reader.page.locator(".pagefind-ui__result-excerpt")
    expect(excerpt.filter(has_text=ABS_WORD).first).to_be_visible()  # results load after
    excerpts = excerpt.all_inner_texts()
    assert excerpts and all("Written by" not in e and "signed this" not in e
                            for e in excerpts), excerpts
    assert any(ABS_WORD in e for e in excerpts), excerpts
    reader.no_sideways_scroll()


@pytest.mark.parametrize("site", ["drafts"], indirect=True)
def test_a_drafts_preview_marks_added_and_removed_lines_in_either_scheme(reader):
    reader.open("brakes/pads/")
    changes = reader.page.locator("pre.bok-diff")
    assert "+Check the rotor (revision 4)." in changes.inner_text()
    for scheme in ("default", "slate"):  # Material's light and dark schemes
        reader.page.evaluate(f"document.body.setAttribute('data-md-color-scheme', '{scheme}')")
        colours = changes.evaluate("""pre => Object.fromEntries(
            ["added", "removed", "hunk", "same"].map(kind => {
                const line = pre.querySelector(".bok-diff__" + kind);
                const style = getComputedStyle(line);
                return [kind, [style.backgroundColor, style.color,
                               line.getBoundingClientRect().width]];
            }))""")
        added, removed, same = colours["added"], colours["removed"], colours["same"]
        assert len({added[0], removed[0], same[0]}) == 3, (scheme, colours)
        assert colours["hunk"][1] != same[1], (scheme, colours)  # hunk headers are muted
        # a changed line is marked across the block, not only behind its text
        assert added[2] >= same[2] and removed[2] >= same[2], (scheme, colours)
