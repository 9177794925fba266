"""The health of the book, reviewers' queues, diffs and re-validation: real books in real Git
repositories with pinned dates, real ssh-keygen signatures, the real CLI and real MkDocs
builds (and once a real headless Chromium)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import threading
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from click.testing import CliRunner

from bok.cli import cli
from bok.health import content_since
from bok.history import Revision
from bok.publish import build_site

from .conftest import TODAY, findings, state_of
from .test_search_browser import TIMEOUT_MS, _QuietHandler
from .test_search_browser import browser as browser  # the fixture: one Chromium per module
from .test_site import MKDOCS, article, page

DRUMS = "content/brakes/drums.md"  # endorsed 2025-11-15: lapsed on 2026-11-15
ABS = "content/brakes/abs.md"  # endorsed 2026-01-10: lapses 2027-01-10 (in 49 days)
LEVER = "content/brakes/lever.md"  # bob re-validated on 2026-11-20; carol's lapses 2026-12-20
ROTORS = "content/brakes/rotors.md"  # endorsed, then edited on 2026-09-01: pending
PADS = "content/brakes/pads.md"  # written 2026-06-01, never endorsed: awaiting
OIL = "content/engines/oil.md"  # by dave: carol alone may endorse it (needs 2)


def at(day: str) -> str:
    return f"{day}T10:00:00+00:00"


@pytest.fixture
def tended(repo):
    """A book whose chapters are in every condition the health report names."""
    repo.chapter(DRUMS, title="Turning drums")
    repo.commit("Write the drums chapter", date=at("2025-11-01"))
    repo.endorse_fully(DRUMS, today="2025-11-15")
    repo.commit("Endorse drums", date=at("2025-11-15"))
    repo.chapter(LEVER, title="Adjusting the lever")
    repo.commit("Write the lever chapter", date=at("2025-12-01"))
    repo.endorse_fully(LEVER, today="2025-12-20")
    repo.commit("Endorse the lever", date=at("2025-12-20"))
    repo.chapter(ABS, title="Bleeding ABS units")
    repo.commit("Write the ABS chapter", date=at("2026-01-05"))
    repo.endorse_fully(ABS, today="2026-01-10")
    repo.commit("Endorse ABS", date=at("2026-01-10"))
    repo.chapter(ROTORS, title="Skimming rotors", body="Step one.\nStep two, the old way.\n")
    repo.commit("Write the rotors chapter", date=at("2026-03-01"))
    repo.endorse_fully(ROTORS, today="2026-03-05")
    repo.commit("Endorse rotors", date=at("2026-03-05"))
    repo.chapter(PADS, title="Seating pads")
    repo.commit("Write the pads chapter", date=at("2026-06-01"))
    repo.chapter(ROTORS, title="Skimming rotors", body="Step one.\nStep two, the NEW way.\n")
    repo.commit("Revise the rotors chapter", date=at("2026-09-01"))
    repo.chapter(OIL, title="Changing oil", authors="[dave]")
    repo.commit("Write the oil chapter", date=at("2026-10-10"))
    repo.review("endorse", LEVER, "bob", "Re-read: still right.", today="2026-11-20")
    repo.commit("Bob re-validates the lever", date=at("2026-11-20"))
    return repo


def health_json(repo, *args: str) -> dict:
    result = repo.bok("health", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_health_reports_states_lapses_queue_load_people_and_activity(tended):
    data = health_json(tended)
    assert data["chapters"] == 6 and data["today"] == TODAY and data["domain"] is None
    assert data["states"] == {"awaiting": 2, "pending": 1, "endorsed": 2, "expired": 1}
    assert data["endorsed_share"] == pytest.approx(2 / 6, abs=1e-4)
    # endorsements that lapsed, and those lapsing within 30 and 90 days, soonest first
    assert [(x["path"], x["on"], x["days"]) for x in data["lapsed"]] == [
        (DRUMS, "2026-11-15", -7)]
    assert data["lapsed"][0]["may_revalidate"] == ["bob", "carol"]
    assert [(x["path"], x["on"], x["days"]) for x in data["lapsing"]] == [
        (LEVER, "2026-12-20", 28), (ABS, "2027-01-10", 49)]
    assert (data["lapsing_30"], data["lapsing_90"]) == (1, 2)
    # the queue, oldest first, waiting since the commit that made the current content
    queue = [(x["path"], x["state"], x["since"], x["days"], x["may_endorse"])
             for x in data["queue"]]
    assert queue == [(PADS, "awaiting", "2026-06-01", 174, ["bob", "carol"]),
                     (ROTORS, "pending", "2026-09-01", 82, ["bob", "carol"]),
                     (OIL, "awaiting", "2026-10-10", 43, ["carol"])]
    assert all(re.fullmatch(r"[0-9a-f]{7,}", x["commit"]) for x in data["queue"])
    assert data["load"] == {"carol": 4, "bob": 3}  # the queue plus the lapsed chapter
    # people: a chapter only one expert may endorse; a domain without a steward
    assert data["understaffed"] == [{"path": OIL, "domain": "engines", "title": "Changing oil",
                                     "eligible": ["carol"], "needed": 2}]
    domains = {d["domain"]: d for d in data["domains"]}
    assert domains["brakes"]["stewards"] == ["alice"] and domains["brakes"]["problems"] == []
    assert domains["engines"]["experts"] == ["carol", "dave"]
    assert domains["engines"]["problems"] == ["no steward among its experts"]
    assert domains["engines"]["states"] == {"awaiting": 1}
    # activity per month, newest first, and this quarter's contributors
    months = {m["month"]: m for m in data["activity"]}
    assert len(data["activity"]) == 12 and data["activity"][0]["month"] == "2026-11"
    assert months["2026-11"] == {"month": "2026-11", "written": 0, "endorsed": 0,
                                 "revalidated": 1}
    assert months["2026-10"]["written"] == 1
    assert months["2026-03"] == {"month": "2026-03", "written": 1, "endorsed": 1,
                                 "revalidated": 0}
    assert months["2025-12"]["endorsed"] == 1 and "2025-11" not in months
    # dave wrote the oil chapter this quarter (its front matter says so; who committed it is
    # Git's unsigned word), bob re-validated the lever
    assert data["quarter"] == "2026-Q4" and data["contributors"] == ["bob", "dave"]
    assert data["history"] is True and data["version"] == 1


def test_health_of_one_domain_and_the_text_report(tended):
    engines = health_json(tended, "--domain", "engines")
    assert engines["domain"] == "engines" and engines["chapters"] == 1
    assert [x["path"] for x in engines["queue"]] == [OIL] and engines["lapsed"] == []
    assert engines["load"] == {"carol": 1}
    text = tended.bok("health").output
    assert "6 chapters (2 awaiting, 1 pending, 2 endorsed, 1 expired); 33% endorsed" in text
    assert f"{DRUMS}  lapsed on 2026-11-15 (7 days ago); may re-validate: bob, carol" in text
    assert f"{PADS}  awaiting, waiting 174 days since 2026-06-01" in text
    assert text.index(PADS) < text.index(f"{ROTORS}  pending") < text.index(f"{OIL}  await")
    assert "engines: 2 experts, stewards among them: nobody  <- no steward among its experts" \
        in text
    bad = tended.bok("health", "--domain", "nowhere")
    assert bad.exit_code == 2 and "'nowhere' is not a domain" in bad.output


def test_health_github_annotations_and_run_summary(tended, tmp_path):
    summary = tmp_path / "summary.md"
    result = CliRunner().invoke(cli, ["-C", str(tended.root), "health", "--format", "github"],
                                env={"BOK_TODAY": TODAY, "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (f"::warning file={DRUMS},title=bok revalidation-due::endorsements lapsed on "
            "2026-11-15; may re-validate: bob, carol") in lines
    assert any(line.startswith(f"::notice file={LEVER},title=bok revalidation-soon::")
               for line in lines)
    assert any(line.startswith(f"::warning file={OIL},title=bok too-few-experts::")
               for line in lines)
    assert any(line.startswith("::notice file=content/engines/index.md,title=bok "
                               "domain-short-of-people::") for line in lines)
    assert not any(ABS in line for line in lines)  # lapses in 49 days: not yet a notice
    written = summary.read_text(encoding="utf-8")
    assert written.startswith(f"## bok health on {TODAY}")
    assert f"| `{PADS}` | 174 days | bob, carol |" in written


def test_queue_lists_what_awaits_a_member_most_urgent_first(tended):
    result = tended.bok("queue", "--as", "bob")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith(f"## Review queue of Bob Okafor (bob), {TODAY}\n")
    items = [line for line in text.splitlines() if line.startswith("- [ ] ")]
    assert [re.search(r"`(content/[^`]+)`", line).group(1) for line in items] == [
        DRUMS, LEVER, PADS, ROTORS]  # lapsed, lapsing within 30 days, then oldest first
    assert items[0].endswith(f"lapsed on 2026-11-15 (7 days ago); `bok endorse {DRUMS}`")
    assert f"`bok diff {ROTORS}`" in items[3] and "waiting 82 days since 2026-09-01" in items[3]
    assert "### Re-validation due" in text and "### Awaiting endorsement" in text
    carol = json.loads(tended.bok("queue", "--as", "carol", "--format", "json").output)
    assert [i["path"] for i in carol["items"]] == [DRUMS, LEVER, PADS, ROTORS, OIL]
    assert carol["items"][-1]["kind"] == "review" and carol["member"] == "carol"
    erin = tended.bok("queue", "--as", "erin")
    assert erin.exit_code == 0 and "Nothing awaits you" in erin.output
    assert "expert of no domain" in erin.output  # CliRunner mixes stderr in
    assert "is not a member" in tended.bok("queue", "--as", "nobody").output


def test_diff_shows_the_change_since_the_newest_endorsed_revision(tended):
    result = tended.bok("diff", ROTORS)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.fullmatch(rf"--- {ROTORS} \(endorsed, 2026-03-01 [0-9a-f]{{7,}}\)", lines[0])
    assert lines[1] == f"+++ {ROTORS} (working copy)"
    assert "-Step two, the old way." in lines and "+Step two, the NEW way." in lines
    assert " authors: [alice]" in lines  # front matter is part of the diff
    # an uncommitted edit counts too: the working copy is compared
    tended.chapter(ROTORS, title="Skimming rotors (revised)",
                   body="Step one.\nStep two, the NEW way.\n")
    lines = tended.bok("diff", "brakes/rotors").output.splitlines()
    assert "-title: Skimming rotors" in lines and "+title: Skimming rotors (revised)" in lines
    never = tended.bok("diff", PADS)
    assert never.exit_code == 0 and "no endorsed revision" in never.output
    same = tended.bok("diff", ABS)
    assert same.exit_code == 0
    assert re.search(r"unchanged since its endorsed revision of 2026-01-05 \([0-9a-f]+\)",
                     same.output)
    missing = tended.bok("diff", "content/brakes/nothing.md")
    assert missing.exit_code == 1 and "is not a chapter of this book" in missing.output


def test_the_preview_shows_the_same_diff_as_bok_diff(tended, monkeypatch, tmp_path):
    monkeypatch.setenv("BOK_TODAY", TODAY)
    tended.write("mkdocs.yml", MKDOCS)
    diff = [line for line in tended.bok("diff", ROTORS).output.splitlines()
            if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))]
    site = build_site(tended.root, tmp_path / "preview", drafts=True).site
    changes = re.search(r'<section class="bok-changes".*?</section>',
                        page(site, "brakes/rotors"), re.S).group(0)
    shown = re.findall(r'<span class="bok-diff__(?:added|removed)">([^<]*)</span>', changes)
    assert shown == diff == ["-Step two, the old way.", "+Step two, the NEW way."]


def test_revalidation_is_shown_on_the_chapter_page(tended, monkeypatch, tmp_path):
    monkeypatch.setenv("BOK_TODAY", TODAY)
    tended.write("mkdocs.yml", MKDOCS)
    tended.commit("configure the site", date=at("2026-11-21"))
    site = build_site(tended.root, tmp_path / "site").site
    html = article(page(site, "brakes/lever"))
    assert re.search(r'Bob Okafor</a> \(<span class="bok-date">2025-12-20</span>, re-validated on '
                     r'<span class="bok-date">2026-11-20</span>, <a href="#review-notes">',
                     html), html
    assert re.search(r'Carol Lin</a> \(<span class="bok-date">2025-12-20</span>, <a', html)  # once
    assert "re-validated" not in article(page(site, "brakes/abs"))
    assert 'Re-validate by</strong> <span class="bok-date">2026-12-20' in html


def test_the_health_pages_of_the_built_site(tended, monkeypatch, tmp_path):
    monkeypatch.setenv("BOK_TODAY", TODAY)
    tended.write("mkdocs.yml", MKDOCS)
    tended.commit("configure the site", date=at("2026-11-21"))
    site = build_site(tended.root, tmp_path / "site").site
    book = article(page(site, "book-health"))
    assert "<h1" in book and "Health of the book" in book
    assert "6 chapters (2 awaiting, 1 pending, 2 endorsed, 1 expired); 33% endorsed" in book
    # a published chapter is linked by its title; one nobody endorsed by its path alone
    assert re.search(r'<a href="../brakes/drums/">Turning drums</a></td>\s*<td>2026-11-15', book)
    assert f"<code>{PADS}</code>" in book and "Seating pads" not in book
    assert "<td>2026-06-01</td>" in book and "<td>174</td>" in book
    assert re.search(r'Carol Lin</a></td>\s*<td>4</td>', book)
    assert "no steward among its experts" in book
    assert re.search(r"<td>2026-11</td>\s*<td>0</td>\s*<td>0</td>\s*<td>1</td>", book)
    engines = article(page(site, "book-health/engines"))
    assert "Health of Engines" in engines and f"<code>{OIL}</code>" in engines
    assert DRUMS not in engines and "Turning drums" not in engines
    # reached from the home page and from each domain's page
    assert 'href="book-health/"' in (site / "index.html").read_text(encoding="utf-8")
    assert 'href="../book-health/brakes/"' in article(page(site, "brakes"))
    # the page is not indexed for search (only chapters are)
    assert "data-pagefind-body" not in book


def test_the_book_page_lists_the_most_urgent_and_each_domain_page_all(repo, monkeypatch,
                                                                        tmp_path):
    from bok.healthpage import BOOK_ROWS
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    waiting = BOOK_ROWS + 2
    for n in range(waiting):  # written a day apart: the oldest waits longest
        repo.chapter(f"content/brakes/step-{n:02d}.md", title=f"Step {n}")
        repo.commit(f"step {n}", date=at(f"2026-05-{n + 1:02d}"))
    site = build_site(repo.root, tmp_path / "site").site
    book = article(page(site, "book-health"))
    queue = book.split("Review queue")[1].split("Reviewer load")[0]
    assert queue.count("<tr>") == BOOK_ROWS + 1  # the head, then the most urgent
    assert "content/brakes/step-00.md" in queue
    assert f"content/brakes/step-{waiting - 1:02d}.md" not in queue
    assert f"The {BOOK_ROWS} most urgent of {waiting}" in queue
    brakes = article(page(site, "book-health/brakes"))
    queue = brakes.split("Review queue")[1].split("Reviewer load")[0]
    assert queue.count("<tr>") == waiting + 1 and "most urgent of" not in queue


def test_per_type_and_per_domain_revalidation_periods(repo):
    repo.write("reviews/policy.yml", "types:\n  lesson: {revalidate_after_days: 0}\n"
                                     "domains:\n  brakes:\n    types:\n"
                                     "      standard: {revalidate_after_days: 30}\n")
    lesson, practice = "content/brakes/lesson.md", "content/brakes/practice.md"
    standard, other = "content/brakes/standard.md", "content/engines/standard.md"
    repo.chapter(lesson, extra="type: lesson\n")
    repo.chapter(practice)
    repo.chapter(standard, extra="type: standard\n")
    repo.chapter(other, extra="type: standard\n")
    repo.commit("four chapters", date=at("2024-01-01"))
    for path in (lesson, practice):
        repo.endorse_fully(path, today="2024-01-05")
    repo.endorse_fully(standard, today="2026-11-01")
    repo.endorse_fully(other, reviewers=("carol", "dave"), today="2026-11-01")
    data = repo.check_json()
    chapters = {c["path"]: c for c in data["chapters"]}
    assert state_of(data, lesson) == "endorsed" and chapters[lesson]["revalidate_on"] is None
    assert state_of(data, practice) == "expired"  # the book-wide 365 days
    assert chapters[standard]["revalidate_on"] == "2026-12-01"  # brakes' standards: 30 days
    assert chapters[other]["revalidate_on"] == "2027-11-01"  # not in brakes: 365 days
    health = health_json(repo)
    assert [x["path"] for x in health["lapsing"]] == [standard]


def test_policy_type_overrides_are_validated(repo):
    repo.write("reviews/policy.yml", "types:\n  lessons: {revalidate_after_days: 0}\n"
                                     "  standard: {revalidate_after_days: soon}\n"
                                     "domains:\n  brakes:\n    types:\n"
                                     "      case: {endorsements: 1}\n")
    data = repo.check_json()
    unknown = findings(data, "unknown-type", "reviews/policy.yml")
    assert len(unknown) == 1 and "'lessons'" in unknown[0]["message"]
    assert unknown[0]["line"] == 2
    assert findings(data, "invalid-revalidate_after_days", "reviews/policy.yml")[0]["line"] == 3
    assert findings(data, "unknown-key", "reviews/policy.yml")[0]["line"] == 7


def test_the_gate_summary_links_each_chapter_to_its_diff(tended, tmp_path):
    summary = tmp_path / "summary.md"
    env = {"BOK_TODAY": TODAY, "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "o/book",
           "GITHUB_SHA": "f" * 40}
    CliRunner().invoke(cli, ["-C", str(tended.root), "check", "--format", "github"], env=env)
    written = summary.read_text(encoding="utf-8")
    assert "### Changes since the endorsed revision" in written
    line = next(x for x in written.splitlines() if x.startswith(f"- `{ROTORS}`"))
    assert re.search(r"endorsed on 2026-03-01 \(([0-9a-f]{7,})\); \[changes since \1\]"
                     r"\(https://github.example/o/book/compare/[0-9a-f]{40}\.\.\.f{40}\); "
                     r"may endorse: bob, carol", line), line
    assert PADS not in written.split("### Changes since")[1].split("###")[0]  # never endorsed
    summary.unlink()
    env.pop("GITHUB_SHA")
    CliRunner().invoke(cli, ["-C", str(tended.root), "check", "--format", "github"], env=env)
    assert f"`bok diff {ROTORS}`" in summary.read_text(encoding="utf-8")


def _revision(blob: str, day: int, status: str = "M", path: str = "content/b/x.md") -> Revision:
    date = dt.datetime(2026, 1, day, tzinfo=dt.timezone.utc)
    return Revision(f"{day:040x}", f"{day:07x}", date, "A", "a@x", "s", path, status, blob)


def test_waiting_since_is_the_commit_that_made_the_content():
    """A rename that keeps the content does not restart the wait; an uncommitted text has none."""
    revisions = [_revision("b2", 9, "R", "content/b/y.md"), _revision("b2", 5),
                 _revision("b1", 3), _revision("b2", 2), _revision("b0", 1, "A")]
    assert content_since(revisions).date.day == 5
    assert content_since(revisions, "b1").date.day == 3
    assert content_since(revisions, "uncommitted") is None
    assert content_since([]) is None


def test_a_reader_reaches_the_health_page_in_a_browser(tended, monkeypatch, tmp_path,
                                                       browser):  # noqa: F811
    """From the home page's link to the health page and on to a domain's, in real Chromium."""
    from playwright.sync_api import expect

    monkeypatch.setenv("BOK_TODAY", TODAY)
    tended.write("mkdocs.yml", MKDOCS)
    tended.commit("configure the site", date=at("2026-11-21"))
    site = build_site(tended.root, tmp_path / "site").site
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    context = browser.new_context(service_workers="block")
    context.route("**/*", lambda route: route.continue_() if urlsplit(route.request.url).netloc
                  == urlsplit(base).netloc else route.abort())
    errors: list[str] = []
    try:
        reader = context.new_page()
        reader.set_default_timeout(TIMEOUT_MS)
        reader.on("pageerror", lambda exc: errors.append(str(exc)))
        reader.goto(base)
        reader.get_by_role("link", name="its health").click()
        reader.wait_for_url("**/book-health/")
        expect(reader.locator("article h1")).to_have_text(re.compile("Health of the book"))
        queue = reader.locator("article table").nth(2)
        expect(queue.locator("tbody tr")).to_have_count(3)
        expect(queue.locator("tbody tr").first).to_contain_text(PADS)
        expect(queue.locator("tbody tr").first).to_contain_text("174")
        lapsed = reader.locator("article table").first
        expect(lapsed).to_contain_text("Turning drums")
        lapsed.get_by_role("link", name="Turning drums").click()
        reader.wait_for_url("**/brakes/drums/")
        expect(reader.locator("article")).to_contain_text("Due for re-validation")
        reader.go_back()
        reader.locator("article").get_by_role("link", name="Engines", exact=True).first.click()
        reader.wait_for_url("**/book-health/engines/")
        expect(reader.locator("article")).to_contain_text(OIL)
        expect(reader.locator("article")).not_to_contain_text(DRUMS)
        assert errors == []
    finally:
        context.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
