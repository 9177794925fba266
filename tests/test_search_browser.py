"""Search as a reader uses it: a real book, built by MkDocs, served over HTTP and searched in
a real headless Chromium through Material's own search box.

Only endorsed chapters may be found. A chapter nobody endorsed and a draft must be absent from
the search index, so the browser answers "No matching documents" for their words.

The browser test needs Debian's ``chromium`` (``.ci/browser-deps.sh``) and the ``playwright``
package (the test extras); it is skipped, saying which is missing, when either is not installed.
"""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bok.publish import build_site

from .conftest import TODAY, state_of

MKDOCS = """site_name: Search Book
docs_dir: content
theme:
  name: material
plugins:
  - bok
  - search
"""

ENDORSED = "content/brakes/pads.md"
ENDORSED_TITLE = "Seating brake pads"
ENDORSED_PHRASE = "quartz calibration torque"
UNENDORSED = "content/brakes/drums.md"
UNENDORSED_TITLE = "Turning brake drums"
UNENDORSED_PHRASE = "zebra velvet procedure"
DRAFT = "content/engines/oil.md"
DRAFT_TITLE = "Changing engine oil"
DRAFT_PHRASE = "marmalade lighthouse sequence"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 15_000


@pytest.fixture
def site(repo, tmp_path: Path, monkeypatch) -> Path:
    """The built site of a book with one endorsed chapter, one unendorsed one and one draft."""
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    repo.chapter(ENDORSED, title=ENDORSED_TITLE,
                 body=f"# Seating\n\nTighten to the {ENDORSED_PHRASE} before the first ride.\n")
    repo.chapter(UNENDORSED, title=UNENDORSED_TITLE,
                 body=f"# Turning\n\nFollow the {UNENDORSED_PHRASE} on every drum.\n")
    repo.chapter(DRAFT, title=DRAFT_TITLE, authors="[dave]", extra="draft: true\n",
                 body=f"# Oil\n\nDrain it with the {DRAFT_PHRASE}.\n")
    repo.commit("Write three chapters", date="2026-03-01T09:00:00+00:00")
    repo.endorse_fully(ENDORSED)
    repo.commit("Endorse the pads chapter")
    data = repo.check_json()
    assert state_of(data, ENDORSED) == "endorsed"
    assert state_of(data, UNENDORSED) not in ("endorsed", "draft")
    assert state_of(data, DRAFT) == "draft"
    return build_site(repo.root, tmp_path / "site")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def served(site: Path) -> Iterator[str]:
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
    """Type ``query`` into Material's search box; return the meta line once results are in."""
    from playwright.sync_api import expect

    box = page.locator("input.md-search__input")
    meta = page.locator(".md-search-result__meta")
    box.fill("")
    box.press("End")  # Material reads the query on keyup
    expect(meta).to_have_text("Type to start searching", timeout=TIMEOUT_MS)
    # One query, the whole phrase: no intermediate prefix result to mistake for the answer.
    box.fill(query)
    box.press("End")
    expect(meta).not_to_have_text("Type to start searching", timeout=TIMEOUT_MS)
    return meta


def _result_titles(page) -> list[str]:
    return [t.strip() for t in
            page.locator("li.md-search-result__item article h1").all_inner_texts()]


def test_search_index_has_only_endorsed_chapters(site: Path):
    index = (site / "search" / "search_index.json").read_text(encoding="utf-8")
    assert ENDORSED_PHRASE in index and ENDORSED_TITLE in index
    for phrase, title in ((UNENDORSED_PHRASE, UNENDORSED_TITLE), (DRAFT_PHRASE, DRAFT_TITLE)):
        assert phrase not in index and title not in index
    for built in site.rglob("*"):
        if built.suffix in (".html", ".json", ".xml"):
            text = built.read_text(encoding="utf-8")
            assert UNENDORSED_PHRASE not in text and DRAFT_PHRASE not in text, built


def test_browser_search_finds_endorsed_and_nothing_else(served: str, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  service_workers="block")
    host = urlsplit(served).netloc
    # Hermetic: the theme's web fonts and anything else off this server are refused at once.
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc
                  == host else route.abort())
    errors: list[str] = []
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(served)
        expect(page).to_have_title("Home - Search Book")

        # Open search as a reader does: the "/" shortcut focuses Material's search box.
        page.keyboard.press("/")
        expect(page.locator("input.md-search__input")).to_be_focused()
        expect(page.locator(".md-search-result__meta")).to_have_text(
            "Type to start searching", timeout=TIMEOUT_MS)  # the worker loaded the index

        meta = _search(page, ENDORSED_PHRASE)
        expect(meta).to_have_text("1 matching document")
        assert ENDORSED_TITLE in _result_titles(page)
        link = page.locator("li.md-search-result__item a.md-search-result__link").first
        assert "brakes/pads/" in (link.get_attribute("href") or "")

        for phrase in (UNENDORSED_PHRASE, DRAFT_PHRASE):
            meta = _search(page, phrase)
            expect(meta).to_have_text("No matching documents")
            assert _result_titles(page) == [], phrase

        # The title search finds only the endorsed chapter, too.
        meta = _search(page, "brake")
        expect(meta).to_contain_text("matching document")
        titles = _result_titles(page)
        assert ENDORSED_TITLE in titles and UNENDORSED_TITLE not in titles, titles
        assert errors == []
    finally:
        context.close()
