"""Search as a reader uses it: a real book, built by bok (MkDocs, then Pagefind), served over
HTTP and searched in a real headless Chromium, from the header's search box to the search page
and its Pagefind UI.

Only endorsed chapters may be found. A chapter nobody endorsed and a draft are not pages of the
site, so Pagefind never indexes them and the search page answers "No results" for their words.
Filters narrow the results by domain.

The browser test needs Debian's ``chromium`` (``.ci/browser-deps.sh``) and the ``playwright``
package (the test extras); it is skipped, saying which is missing, when either is not installed.
Nothing here measures time (bench/run.py does).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bok.publish import build_site

from .conftest import TODAY, state_of

MKDOCS = """site_name: Search Book
docs_dir: .bok/stage
theme:
  name: material
plugins:
  - bok
"""

ENDORSED = "content/brakes/pads.md"
ENDORSED_TITLE = "Seating brake pads"
ENDORSED_PHRASE = "quartz calibration torque"
MARKUP = "<img src=x onerror=alert(1)>"  # shown as code; must stay text in search results too
OTHER = "content/engines/belts.md"  # endorsed too, in another domain; shares the word "quartz"
OTHER_TITLE = "Tensioning timing belts"
UNENDORSED = "content/brakes/drums.md"
UNENDORSED_TITLE = "Turning brake drums"
UNENDORSED_PHRASE = "zebra velvet procedure"
DRAFT = "content/engines/oil.md"
DRAFT_TITLE = "Changing engine oil"
DRAFT_PHRASE = "marmalade lighthouse sequence"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 15_000
#: The link of each result (not those of its sections, which Pagefind lists under it).
RESULT_LINKS = (".pagefind-ui__result-inner > .pagefind-ui__result-title > "
                ".pagefind-ui__result-link")


@pytest.fixture
def site(repo, tmp_path: Path, monkeypatch) -> Path:
    """The built site of a book with one endorsed chapter, one unendorsed one and one draft."""
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    repo.chapter(ENDORSED, title=ENDORSED_TITLE,
                 body=f"# Seating\n\nTighten to the {ENDORSED_PHRASE} before the first ride.\n\n"
                      f"Never paste `{MARKUP}` into the log.\n")
    repo.chapter(UNENDORSED, title=UNENDORSED_TITLE,
                 body=f"# Turning\n\nFollow the {UNENDORSED_PHRASE} on every drum.\n")
    repo.chapter(DRAFT, title=DRAFT_TITLE, authors="[dave]", extra="draft: true\n",
                 body=f"# Oil\n\nDrain it with the {DRAFT_PHRASE}.\n")
    repo.chapter(OTHER, title=OTHER_TITLE,
                 body="# Belts\n\nAlign the quartz marks, then tension the belt.\n")
    repo.commit("Write four chapters", date="2026-03-01T09:00:00+00:00")
    repo.endorse_fully(ENDORSED)
    repo.endorse_fully(OTHER, reviewers=("carol", "dave"))
    repo.commit("Endorse the pads and belts chapters")
    data = repo.check_json()
    assert state_of(data, ENDORSED) == "endorsed" and state_of(data, OTHER) == "endorsed"
    assert state_of(data, UNENDORSED) not in ("endorsed", "draft")
    assert state_of(data, DRAFT) == "draft"
    return build_site(repo.root, tmp_path / "site").site


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@contextmanager
def serving(site: Path) -> Iterator[str]:
    """The site over HTTP on 127.0.0.1 and a free port; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def hermetic(browser, served: str, **options):
    """A browser context that reaches only the served site (web fonts and the rest are refused
    at once)."""
    context = browser.new_context(service_workers="block", **options)
    host = urlsplit(served).netloc
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc
                  == host else route.abort())
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def served(site: Path) -> Iterator[str]:
    with serving(site) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """One headless Debian Chromium for the module, driven by Playwright."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("chromium is not installed (run .ci/browser-deps.sh)")
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright is not installed (pip install -e '.[test]')")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True,
                                              args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _search(page, query: str):
    """Type ``query`` into the Pagefind UI's box; return its message once the results are in."""
    from playwright.sync_api import expect

    box = page.locator(".pagefind-ui__search-input")
    message = page.locator(".pagefind-ui__message")
    box.fill(query)
    # One query, the whole phrase: wait for its answer, not a stale one or "Searching for".
    expect(message).to_contain_text(f"for {query}", timeout=TIMEOUT_MS)
    expect(message).not_to_contain_text("Searching", timeout=TIMEOUT_MS)
    return message


def _result_titles(page) -> list[str]:
    """The titles of the results the message counts (each result loads its own fragment after
    the message is shown, so wait for them)."""
    from playwright.sync_api import expect

    found = re.match(r"(\d+) results? for", page.locator(".pagefind-ui__message").inner_text())
    if found:
        expect(page.locator(RESULT_LINKS)).to_have_count(int(found.group(1)), timeout=TIMEOUT_MS)
        expect(page.locator(RESULT_LINKS).filter(has_text=re.compile(r"\S"))).to_have_count(
            int(found.group(1)), timeout=TIMEOUT_MS)
    return [t.strip() for t in
            page.locator(RESULT_LINKS).all_inner_texts()]


def test_search_index_has_only_endorsed_chapters(site: Path):
    entry = json.loads((site / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    assert sum(lang["page_count"] for lang in entry["languages"].values()) == 2
    assert not (site / "search" / "search_index.json").exists()
    for built in site.rglob("*"):
        if built.suffix in (".html", ".json", ".xml", ".js"):
            text = built.read_text(encoding="utf-8", errors="replace")
            for phrase in (UNENDORSED_PHRASE, DRAFT_PHRASE, UNENDORSED_TITLE, DRAFT_TITLE):
                assert phrase not in text, (built, phrase)
    assert (site / "brakes/pads/index.html").is_file()
    assert not (site / "brakes/drums").exists() and not (site / "engines/oil").exists()


def test_browser_search_finds_endorsed_and_nothing_else(served: str, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  service_workers="block")
    host = urlsplit(served).netloc
    # Hermetic: the theme's web fonts and anything else off this server are refused at once.
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc
                  == host else route.abort())
    errors: list[str] = []
    dialogs: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(served)
        expect(page).to_have_title("Search Book")  # the home page: the site name alone

        # Open search as a reader does: "/" focuses the header's box; Enter opens the search
        # page, which runs the query through Pagefind.
        page.keyboard.press("/")
        header_box = page.locator("input.bok-header-search__input")
        expect(header_box).to_be_focused()
        header_box.fill(ENDORSED_PHRASE)
        header_box.press("Enter")
        page.wait_for_url("**/search/?q=*")
        expect(page).to_have_title("Search - Search Book")
        message = page.locator(".pagefind-ui__message")
        # the first search loads Pagefind's wasm and index: on a loaded machine, seconds
        expect(message).to_have_text(f"1 result for {ENDORSED_PHRASE}", timeout=TIMEOUT_MS)
        assert _result_titles(page) == [ENDORSED_TITLE]
        link = page.locator(RESULT_LINKS).first
        assert (link.get_attribute("href") or "").endswith("/brakes/pads/")

        for phrase in (UNENDORSED_PHRASE, DRAFT_PHRASE):
            message = _search(page, phrase)
            expect(message).to_contain_text(f"No results for {phrase}")
            assert _result_titles(page) == [], phrase

        # A title word finds only the endorsed chapter, too.
        message = _search(page, "brake")
        titles = _result_titles(page)
        assert ENDORSED_TITLE in titles and UNENDORSED_TITLE not in titles, titles

        # Markup quoted in a chapter is found as text, and shown as text.
        message = _search(page, "onerror")
        expect(message).to_have_text("1 result for onerror")
        excerpts = page.locator(".pagefind-ui__result-excerpt").all_inner_texts()
        assert any(MARKUP in excerpt for excerpt in excerpts), excerpts
        assert page.locator("#bok-search img").count() == 0 and dialogs == []

        # Filters: two endorsed chapters have "quartz"; the domain filter keeps one.
        message = _search(page, "quartz")
        expect(message).to_have_text("2 results for quartz")
        assert sorted(_result_titles(page)) == sorted([ENDORSED_TITLE, OTHER_TITLE])
        domains = page.locator(".pagefind-ui__filter-block", has_text="domain")
        domains.locator(".pagefind-ui__filter-label", has_text="Brakes").click()
        expect(message).to_have_text("1 result for quartz")
        assert _result_titles(page) == [ENDORSED_TITLE]

        # The result leads to the chapter.
        page.locator(RESULT_LINKS).first.click()
        page.wait_for_url("**/brakes/pads/")
        expect(page.locator("article h1").first).to_contain_text(ENDORSED_TITLE)
        assert errors == [] and dialogs == []
    finally:
        context.close()
