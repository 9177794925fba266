"""The build cache (.bok/cache/) and fast previews: a warm build publishes exactly what a cold
one would, whatever changed; damaged or committed entries are never trusted; ``bok serve``
shows an edit and settles. Real books, real keys, real MkDocs builds."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from bok import cache as caching
from bok import render

from .conftest import TODAY
from .test_site import ABS, DRUMS, MKDOCS, build, page, search_entry

ENGINE = "content/engines/oil.md"


@pytest.fixture
def book(repo, monkeypatch):
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    repo.write(".gitignore", "site/\n.bok/\n")
    repo.chapter(ABS, title="Bleeding ABS units", body="Open the **bleeder** valve.\n\n"
                 "## Tools\n\nA [drum](drums.md) wrench.\n")
    repo.chapter(DRUMS, title="Drum brakes", body="Adjust the shoes.\n")
    repo.chapter(ENGINE, title="Oil changes", body="Drain it warm.\n")
    repo.commit("chapters", date="2026-03-01T09:00:00+00:00")
    repo.endorse_fully(ABS)
    repo.endorse_fully(DRUMS)
    repo.endorse_fully(ENGINE, reviewers=("carol", "dave"))
    repo.commit("endorsements")
    return repo


def pages(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in site.rglob("*.html")}


def cold_pages(book) -> dict[str, bytes]:
    """The site as a build without any cache makes it."""
    shutil.rmtree(book.root / caching.CACHE, ignore_errors=True)
    cold = book.root / "site-cold"
    from bok.publish import build_site
    build_site(book.root, cold)
    return pages(cold)


def entries(book, kind: str) -> list[Path]:
    return sorted((book.root / caching.CACHE / kind).glob("*/*"))


def test_a_warm_build_publishes_what_a_cold_one_would_after_each_change(book, keys):
    build(book)
    assert entries(book, "render") and entries(book, "signature")

    def a_chapter_edited():
        book.chapter(DRUMS, title="Drum brakes", body="Adjust the shoes. Then torque.\n")

    def a_record_removed():
        (book.root / "reviews/brakes/abs/carol.md").unlink()

    def a_registry_key_replaced():
        # bob's registered key is now mallory's: his records no longer count
        text = book.read("reviews/members.yml")
        bob = Path(f"{keys['bob']}.pub").read_text().strip()
        book.write("reviews/members.yml",
                   text.replace(bob, Path(f"{keys['mallory']}.pub").read_text().strip()))

    def the_policy_tightened():
        book.write("reviews/policy.yml", "endorsements: 3\n")

    def the_extensions_changed():
        book.write("mkdocs.yml", MKDOCS + "markdown_extensions:\n  - toc:\n"
                                          "      permalink: \"#\"\n")

    def a_title_changed():  # the navigation of every page shows it
        book.chapter(DRUMS, title="Drum brake shoes", body="Adjust the shoes.\n")
        book.endorse_fully(DRUMS)
        book.commit("drums: retitled")

    expectations = [
        (a_title_changed, lambda site: "Drum brake shoes" in page(site, "brakes/abs")),
        (a_chapter_edited, lambda site: "A newer revision awaits review"
         in page(site, "brakes/drums") and "Then torque" not in page(site, "brakes/drums")),
        (a_record_removed, lambda site: not (site / "brakes/abs").exists()),
        (a_registry_key_replaced, lambda site: not (site / "brakes/drums").exists()),
        (the_policy_tightened, lambda site: not (site / "engines/oil").exists()),
        (the_extensions_changed, lambda site: 'class="headerlink" href="#members" '
                                              'title="Permanent link">#</a>'
                                              in page(site, "members")),
    ]
    for change, shows in expectations:
        change()
        warm = build(book)
        assert shows(warm), change.__name__
        assert pages(warm) == cold_pages(book), change.__name__
        build(book)  # leave a warm cache for the next change


def test_a_warm_build_takes_unchanged_pages_from_the_site_it_replaces(book, monkeypatch):
    from bok import pagereuse
    taken: list[str] = []
    real = pagereuse.Manifest.reusable

    def counting(self, layout, src_uri, digest, output):
        found = real(self, layout, src_uri, digest, output)
        if found is not None:
            taken.append(src_uri)
        return found

    monkeypatch.setattr(pagereuse.Manifest, "reusable", counting)
    site = build(book)
    assert taken == []  # nothing to take from yet
    build(book)
    assert "brakes/abs.md" in taken and "engines/oil.md" in taken
    taken.clear()
    book.chapter(ENGINE, title="Oil changes", body="Drain it warm, then refill.\n")
    build(book)
    assert "engines/oil.md" not in taken and "brakes/abs.md" in taken
    # a page edited in the site by hand is laid out again, never carried forward
    abs_page = site / "brakes/abs/index.html"
    abs_page.write_text(abs_page.read_text().replace("bleeder", "TAMPERED"))
    taken.clear()
    build(book)
    assert "brakes/abs.md" not in taken and "TAMPERED" not in page(site, "brakes/abs")
    assert pages(site) == cold_pages(book)
    # another site folder has no previous pages of its own
    taken.clear()
    build_site = __import__("bok.publish", fromlist=["build_site"]).build_site
    build_site(book.root, book.root / "site-other")
    assert taken == []


def test_a_warm_build_renders_and_verifies_only_what_changed(book, monkeypatch):
    rendered: list[str] = []
    verified: list[bytes] = []
    real_render, real_verify = render.Renderer.render, caching.verify_signature

    def counting_render(self, text, src="", url="", page_url=None):
        rendered.append(src)
        return real_render(self, text, src, url, page_url)

    def counting_verify(message, armored):
        verified.append(message)
        return real_verify(message, armored)

    monkeypatch.setattr(render.Renderer, "render", counting_render)
    monkeypatch.setattr(caching, "verify_signature", counting_verify)
    build(book)
    assert "brakes/abs.md" in rendered and len(verified) == 9
    rendered.clear()
    verified.clear()
    build(book)
    assert rendered == [] and verified == []
    book.chapter(ENGINE, title="Oil changes", body="Drain it warm, then refill.\n")
    book.commit("oil: refill")
    site = build(book)
    # the edited chapter is no longer endorsed: its page shows the endorsed revision (whose
    # body was rendered before); the domain and home pages list it with its new state, the
    # health pages count it as waiting, the members index sorts by the new activity
    assert "A newer revision awaits review" in page(site, "engines/oil")
    assert "brakes/abs.md" not in rendered and verified == []
    assert set(rendered) <= {"engines/index.md", "index.md", "members/carol.md",
                             "members/dave.md", "members/alice.md", "members/index.md",
                             "book-health/index.md", "book-health/engines.md"}


def test_a_warm_build_scans_only_the_bodies_that_changed(book, monkeypatch):
    from bok import limits, unsafe
    scanned: list[str] = []
    costed: list[str] = []
    real_scan, real_cost = unsafe.unsafe_constructs, limits.markdown_problems

    def counting_scan(body, *args, **kwargs):
        scanned.append(body)
        return real_scan(body, *args, **kwargs)

    def counting_cost(body, *args, **kwargs):
        costed.append(body)
        return real_cost(body, *args, **kwargs)

    monkeypatch.setattr(unsafe, "unsafe_constructs", counting_scan)
    monkeypatch.setattr(limits, "markdown_problems", counting_cost)
    build(book)
    assert any("bleeder" in body for body in scanned) and len(costed) > len(scanned)
    scanned.clear()
    costed.clear()
    build(book)
    assert scanned == [] and costed == []
    book.chapter(ENGINE, title="Oil changes", body="Drain it warm, then refill.\n")
    book.write("content/brakes/hidden.md", "---\ntitle: Hidden\nauthors: [alice]\n"
               "type: practice\n---\nClick <a href=x onclick=steal()>here</a>.\n")
    site = build(book)
    assert sorted(scanned) == ["Click <a href=x onclick=steal()>here</a>.\n",
                               "Drain it warm, then refill.\n"]
    # a body with problems is never remembered: scanned, and left out, on every build
    scanned.clear()
    site = build(book)
    assert scanned == ["Click <a href=x onclick=steal()>here</a>.\n"]
    assert not (site / "brakes" / "hidden").exists()


def test_a_warm_build_checks_the_pages_it_lays_out_not_those_it_takes(book, monkeypatch):
    from bok import verify
    checked: list[str] = []
    real = verify.script_problems

    def counting(built, allowed):
        checked.append(re.search(r"<title>(.*?)</title>", built).group(1))
        return real(built, allowed)

    monkeypatch.setattr(verify, "script_problems", counting)
    build(book)
    assert any("Bleeding ABS units" in title for title in checked)
    checked.clear()
    book.chapter(ENGINE, title="Oil changes", body="Drain it warm, then refill.\n")
    build(book)
    # the edited chapter, its domain's page and the pages listing its state are laid out
    # and checked; the others were checked when the site they come from was built
    assert any("Oil changes" in title for title in checked)
    assert not any("Bleeding ABS units" in title for title in checked)


def test_a_warm_build_renders_no_review_comment_again(book, monkeypatch):
    from bok import site as site_module
    rendered: list[str] = []
    real = site_module.comments_html

    def counting(text):
        rendered.append(text)
        return real(text)

    monkeypatch.setattr(site_module, "comments_html", counting)
    site = build(book)
    assert "Reviewed by bob." in rendered
    rendered.clear()
    assert page(build(book), "brakes/abs") == page(site, "brakes/abs")
    assert rendered == []
    book.review("endorse", ENGINE, "dave", "Checked the **torque** table.")
    site = build(book)
    assert rendered == ["Checked the **torque** table."]
    assert "<strong>torque</strong>" in page(site, "engines/oil")


def test_a_warm_build_loads_only_the_records_that_changed(book, monkeypatch):
    from bok import loading
    loaded: list[str] = []
    real = loading._load_record

    def counting(path, data, findings, limit_kb):
        loaded.append(path + (" (edited)" if b"verdict: maybe" in data else ""))
        return real(path, data, findings, limit_kb)

    monkeypatch.setattr(loading, "_load_record", counting)
    build(book)
    assert "reviews/brakes/abs/carol.md" in loaded and len(loaded) == 9
    loaded.clear()
    build(book)
    assert loaded == []
    # a record edited by hand is read again, and a broken one on every build
    record = book.root / "reviews/brakes/abs/carol.md"
    record.write_text(record.read_text().replace("verdict: endorse", "verdict: maybe"))
    site = build(book)
    assert not (site / "brakes/abs").exists()
    # (the chapter lost its endorsement, so its earlier records are read from Git history)
    assert loaded.count("reviews/brakes/abs/carol.md (edited)") == 1
    assert {path.rsplit("/", 1)[0] for path in loaded} == {"reviews/brakes/abs"}
    loaded.clear()
    build(book)
    assert loaded.count("reviews/brakes/abs/carol.md (edited)") == 1
    assert {path.rsplit("/", 1)[0] for path in loaded} == {"reviews/brakes/abs"}


def fragments(site: Path) -> str:
    """The text Pagefind shows of every indexed page (its fragments, gzipped JSON)."""
    import gzip
    return "".join(gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
                   for path in sorted((site / "pagefind" / "fragment").iterdir()))


def test_the_search_index_starts_with_unchanged_pages_and_holds_exactly_the_site(
        book, engine, monkeypatch):
    from bok import pagefind
    builds: list = []
    written: list[int] = []
    real_finish, real_write = pagefind.SearchBuild.finish, pagefind.SearchIndex.write

    def finishing(self):
        builds.append(self)
        return real_finish(self)

    def writing(self, folder):
        written.append(self.pages)
        return real_write(self, folder)

    monkeypatch.setattr(pagefind.SearchBuild, "finish", finishing)
    monkeypatch.setattr(pagefind.SearchIndex, "write", writing)

    def built() -> tuple:
        builds.clear()
        written.clear()
        build(book, engine=engine)
        found = builds[-1]
        return written[:], found.guessed, found.replaced, found.indexed_twice, found.reused

    site = book.root / "site"
    assert built() == ([3], 0, 0, False, False)  # nothing to start from
    # the domain page's text is not searched: the previous index is taken as it was
    book.write("content/brakes/index.md", "---\ntitle: Brakes\n---\nStopping, safely.\n")
    assert built() == ([], 3, 0, False, True)
    # one chapter changed: Pagefind started with the two others, before staging decided them
    book.chapter(ENGINE, title="Oil changes", body="Drain it warm, then refill.\n")
    assert built() == ([3], 2, 0, False, False)
    # pages changed though their sources did not (a year on, every endorsement has lapsed):
    # each guess is fed again in its place, and the index holds the pages as they are now
    monkeypatch.setenv("BOK_TODAY", "2028-01-01")
    assert built() == ([6], 3, 3, False, False)  # pages fed to the index written
    assert search_entry(site)["languages"]["en"]["page_count"] == 3
    assert fragments(site).count('"state":["expired"]') == 3, fragments(site)
    assert '"state":["endorsed"]' not in fragments(site)
    monkeypatch.setenv("BOK_TODAY", TODAY)
    assert built()[:3] == ([6], 3, 3)
    # a guessed page is gone (the policy now wants three endorsements in engines, the oil
    # chapter has two): Pagefind cannot drop a page, so the pages staged are indexed again
    book.write("reviews/policy.yml", "domains:\n  engines: {endorsements: 3}\n")
    written_now, guessed, replaced, twice, reused = built()
    assert written_now == [2] and twice and not (site / "engines/oil").exists()
    assert search_entry(site)["languages"]["en"]["page_count"] == 2
    assert "Drain it warm" not in fragments(site)
    # an index edited in the site is never carried forward
    assert built()[0] == []
    meta = sorted((site / "pagefind").rglob("*.pf_meta"))[0]
    meta.write_bytes(b"tampered")
    assert built()[0] == [2]
    assert all(path.read_bytes() != b"tampered"
               for path in (site / "pagefind").rglob("*") if path.is_file())


def test_nothing_reads_through_a_linked_folder_of_the_book(book, tmp_path):
    """A pull request that makes reviews/brakes a link to a big folder elsewhere: the search
    index's guesses (which read a chapter's records before the book is loaded) and the
    loader report the link and read nothing through it."""
    from bok import building
    from bok.trees import LINK, Entry, WorkTree
    build(book)
    outside = tmp_path / "elsewhere" / "abs"
    outside.mkdir(parents=True)
    (outside / "secret.md").write_text("not the book's\n")
    shutil.rmtree(book.root / "reviews/brakes")
    (book.root / "reviews/brakes").symlink_to(outside.parent, target_is_directory=True)
    tree = WorkTree(book.root)
    assert list(tree.walk("reviews/brakes/abs")) == [Entry("reviews/brakes/abs", LINK)]
    assert building.sources(book.root)(ABS) == "a link"
    result = book.bok("build")
    assert result.exit_code == 0, result.output
    assert not (book.root / "site/brakes/abs").exists()  # its records are not read


def test_a_damaged_entry_is_rebuilt_never_trusted(book):
    site = build(book)
    before = pages(site)
    for entry in entries(book, "render"):
        text = entry.read_bytes()
        entry.write_bytes(text.replace(b"bleeder", b"<script>alert(1)</script>", 1)
                          if b"bleeder" in text else text[: len(text) // 2])
    for entry in entries(book, "signature"):
        entry.write_bytes(b'{"fingerprint":"SHA256:forged"}\nnot a digest\n')
    site = build(book)
    assert pages(site) == before
    assert "<script>alert(1)" not in page(site, "brakes/abs")
    # every entry was written again, whole
    cache = caching.Cache(book.root / caching.CACHE)
    assert all(cache.get("render", e.name) is not None for e in entries(book, "render"))
    assert all(cache.get("signature", e.name) is not None for e in entries(book, "signature"))


def forge_render_entries(book, old: bytes, new: bytes) -> int:
    """Rewrite the rendered pages holding ``old`` into valid-looking entries holding ``new``."""
    cache = caching.Cache(book.root / caching.CACHE)
    forged = 0
    for entry in entries(book, "render"):
        value = cache.get("render", entry.name)
        if value and old.decode() in value["html"]:
            value["html"] = value["html"].replace(old.decode(), new.decode())
            cache.put("render", entry.name, value)
            forged += 1
    return forged


def test_a_cache_committed_to_the_repository_is_never_read(book):
    build(book)
    assert forge_render_entries(book, b"bleeder", b"FORGED") == 1
    # a local cache is the book's own: a valid entry is used (this is what a commit must not do)
    assert "FORGED" in page(build(book), "brakes/abs")
    book.git("add", "-f", ".bok/cache")
    book.commit("a pull request ships a cache")
    site = build(book)
    assert "FORGED" not in page(site, "brakes/abs") and "bleeder" in page(site, "brakes/abs")


def test_a_cache_folder_that_is_a_link_is_not_used(book, tmp_path):
    build(book)
    outside = tmp_path / "elsewhere"
    shutil.move(book.root / caching.CACHE, outside)
    (book.root / caching.CACHE).symlink_to(outside)
    assert forge_render_entries(book, b"bleeder", b"FORGED") == 1
    site = build(book)
    assert "FORGED" not in page(site, "brakes/abs")


def test_the_cache_can_be_switched_off(book):
    book.write("mkdocs.yml", MKDOCS.replace("  - bok\n", "  - bok:\n      cache: false\n"))
    build(book)
    assert not (book.root / caching.CACHE).exists()


# -- bok serve --------------------------------------------------------------------------------


def _interruptible() -> None:
    """In the server: SIGINT stops it, even when the suite runs where SIGINT is ignored (a
    background job), which a child would inherit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Served:
    """``bok serve`` in a subprocess, its log collected as it comes."""

    def __init__(self, root: Path, *args: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {**os.environ, "BOK_TODAY": TODAY}
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("bok")), "-C", str(root), "serve", *args,
             "-a", f"127.0.0.1:{self.port}"], env=env, stderr=subprocess.PIPE, text=True,
            preexec_fn=_interruptible)
        self.log: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def builds(self) -> int:
        return sum("Documentation built" in line for line in self.log)

    def get(self, path: str) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/{path}", timeout=30) as r:
                return r.read().decode()
        except OSError:
            return ""

    def wait_for(self, path: str, text: str, bound: float = 120) -> str:
        """The page once it holds ``text`` (a bound against hanging, not a speed target)."""
        end = time.monotonic() + bound
        while time.monotonic() < end:
            found = self.get(path)
            if text in found:
                return found
            assert self.proc.poll() is None, "".join(self.log)
            time.sleep(0.1)
        raise AssertionError(f"{path} never showed {text!r}:\n{''.join(self.log[-30:])}")

    def settled(self, quiet: float = 3.0) -> int:
        """Wait until no rebuild started for ``quiet`` seconds; the number of builds then."""
        count, since = self.builds(), time.monotonic()
        while time.monotonic() - since < quiet:
            time.sleep(0.1)
            building = any("Building documentation" in line for line in self.log[-3:])
            if self.builds() != count or building:
                count, since = self.builds(), time.monotonic()
        return count

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("bok serve did not stop:\n"
                                 + "".join(self.log[-200:])) from None


def test_serve_shows_an_edit_rebuilds_the_navigation_when_a_title_changes_and_settles(book):
    served = Served(book.root, "--drafts")
    try:
        served.wait_for("brakes/abs/", "bleeder")
        first = served.settled()
        book.chapter(ABS, title="Bleeding ABS units", body="Open the **bleeder** valve. "
                                                           "Wear gloves.\n")
        served.wait_for("brakes/abs/", "Wear gloves")
        # one rebuild per edit: bok's own writes to the staged folder trigger none
        assert served.settled() == first + 1
        # a new title is in every page's navigation: the dirty rebuild lays out all pages
        book.chapter(ABS, title="Bleeding anti-lock units", body="Open the valve.\n")
        drums = served.wait_for("brakes/drums/", "Bleeding anti-lock units")
        assert "Bleeding ABS units" not in drums
        # the edit is not endorsed; without --drafts it would not be shown
        assert "Draft, not endorsed" in served.get("brakes/abs/") or \
            "awaits review" in served.get("brakes/abs/")
    finally:
        served.stop()
