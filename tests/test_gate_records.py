"""A signed statement counts once, for the change it was made for; dates are believed only up to
today; readers see only review as review; the gate refuses what would break main.

Each attack is a pull request on a real repository: a base committed on main, the change on a
branch, ``bok check --base``, and a finding naming the file and the rule.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil

import pytest

from . import test_gate
from .conftest import TODAY, findings, state_of
from .test_gate import ABS, OIL, forge, gate
from .test_site import MKDOCS, page, site_text

pr = test_gate.pr  # the fixture: main holds an endorsed ABS, the change is on a branch

NEW = "content/brakes/abs-bleeding.md"


def rebase_here(repo, message: str) -> None:
    """Commit what is in the work tree and make it the base the change is judged against."""
    repo.commit(message)
    repo.base = repo.git("rev-parse", "HEAD")


@pytest.fixture
def disputed(repo):
    """main: ABS signed by alice, endorsed by bob and carol on 2026-11-01; then carol objects on
    2026-11-15. One endorsement is enough, so only her objection keeps ABS unpublished."""
    repo.write("reviews/policy.yml", "endorsements: 1\n")
    repo.chapter(ABS, title="ABS bleeding")
    repo.endorse_fully(ABS, today="2026-11-01")
    repo.commit("ABS endorsed", date="2026-11-01T10:00:00+00:00")
    repo.review("object", ABS, "carol", "Step 3 skips the pressure test.", today="2026-11-15")
    repo.commit("carol objects", date="2026-11-15T10:00:00+00:00")
    repo.open_pull_request()
    return repo


def rename(repo, members: tuple[str, ...]) -> None:
    """Rename ABS by hand, moving only the records of ``members``."""
    os.replace(repo.root / ABS, repo.root / NEW)
    (repo.root / "reviews/brakes/abs-bleeding").mkdir()
    for member in members:
        os.replace(repo.root / f"reviews/brakes/abs/{member}.md",
                   repo.root / f"reviews/brakes/abs-bleeding/{member}.md")


def old_version(repo, path: str, rev: str) -> str:
    return repo.git("show", f"{rev}:{path}") + "\n"


# --- 3. records count once ------------------------------------------------------------------


def test_the_base_is_disputed(disputed):
    assert state_of(disputed.check_json(), ABS) == "awaiting"
    assert disputed.bok("mv", ABS, NEW).exit_code == 0
    code, data = gate(disputed)  # bok mv moves every record: still disputed, nothing refused
    assert code == 1 and [f["rule"] for f in data["findings"]] == ["not-endorsed"]
    assert "objection from carol" in findings(data, "not-endorsed", NEW)[0]["message"]


@pytest.mark.parametrize("objection", ["deleted", "left behind"])
def test_rename_that_drops_an_objection(disputed, objection):
    rename(disputed, ("alice", "bob"))
    if objection == "deleted":
        (disputed.root / "reviews/brakes/abs/carol.md").unlink()
    code, data = gate(disputed)
    assert code == 1
    [finding] = findings(data, "record-dropped-in-move", "reviews/brakes/abs/carol.md")
    assert "without the objection of 'carol'" in finding["message"] and NEW in finding["message"]


def test_rename_that_brings_back_a_superseded_endorsement(disputed):
    assert disputed.bok("mv", ABS, NEW).exit_code == 0
    endorsement = old_version(disputed, "reviews/brakes/abs/carol.md", "HEAD~1")
    disputed.write("reviews/brakes/abs-bleeding/carol.md", endorsement)
    code, data = gate(disputed)
    assert code == 1
    [finding] = findings(data, "record-rolled-back", "reviews/brakes/abs-bleeding/carol.md")
    assert "earlier statement of 'carol'" in finding["message"]


def test_rename_that_moves_only_the_superseded_endorsement(disputed):
    rename(disputed, ("alice", "bob"))
    (disputed.root / "reviews/brakes/abs/carol.md").unlink()
    disputed.write("reviews/brakes/abs-bleeding/carol.md",
                   old_version(disputed, "reviews/brakes/abs/carol.md", "HEAD~1"))
    code, data = gate(disputed)
    assert code == 1
    assert findings(data, "record-rolled-back", "reviews/brakes/abs-bleeding/carol.md")


def test_moving_favourable_records_onto_another_chapter(disputed):
    """The endorsements of a deleted chapter land on a new one: the objection must come too."""
    (disputed.root / ABS).unlink()
    disputed.chapter("content/brakes/other.md", title="ABS bleeding")
    (disputed.root / "reviews/brakes/other").mkdir()
    shutil.move(disputed.root / "reviews/brakes/abs/bob.md",
                disputed.root / "reviews/brakes/other/bob.md")
    code, data = gate(disputed)
    assert code == 1
    assert findings(data, "record-dropped-in-move", "reviews/brakes/abs/carol.md")
    assert findings(data, "record-dropped-in-move", "reviews/brakes/abs/alice.md")


def test_an_endorsement_of_a_deleted_twin_chapter_replacing_an_objection(disputed):
    """drums.md has the very bytes of ABS, and carol endorsed it. Deleting drums.md and putting
    her endorsement of it over her objection to ABS is a roll-back: she said it before."""
    twin = "content/brakes/drums.md"
    disputed.write(twin, disputed.read(ABS))
    disputed.review("endorse", twin, "carol", "Fine here.", today="2026-11-20")
    rebase_here(disputed, "a twin chapter")
    disputed.write("reviews/brakes/abs/carol.md", disputed.read("reviews/brakes/drums/carol.md"))
    (disputed.root / twin).unlink()
    shutil.rmtree(disputed.root / "reviews/brakes/drums")
    code, data = gate(disputed)
    assert code == 1
    assert findings(data, "record-rolled-back", "reviews/brakes/abs/carol.md")


@pytest.mark.parametrize("reformat", [False, True])
def test_same_day_rollback(pr, reformat):
    record = "reviews/brakes/abs/carol.md"
    pr.review("object", ABS, "carol", "Step 3 is wrong.")  # the same day as her endorsement
    rebase_here(pr, "carol objects")
    endorsement = old_version(pr, record, "HEAD~1")
    if reformat:  # other bytes, the same signed statement
        endorsement = endorsement.replace("member: carol", "member: 'carol'")
    pr.write(record, endorsement)
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "record-rolled-back", record)


def test_rollback_with_a_later_date_forged_by_another_member(disputed):
    record = "reviews/brakes/abs/carol.md"
    forge(disputed, ABS, "carol", key="bob", date=dt.date.fromisoformat(TODAY))
    code, data = gate(disputed)
    assert code == 1
    assert findings(data, "record-replaced-by-other", record)
    assert findings(data, "bad-signature", record)


def test_the_member_may_replace_their_own_record(disputed):
    disputed.review("endorse", ABS, "carol", "Fixed now.")
    code, data = gate(disputed)
    assert code == 0, data["findings"]
    assert state_of(data, ABS) == "endorsed"


def test_a_genuine_new_record_dated_before_the_one_it_replaces(disputed):
    disputed.review("endorse", ABS, "carol", "Fixed.", today="2026-11-10")
    code, data = gate(disputed)
    assert code == 1
    assert "2026-11-10 < 2026-11-15" in findings(
        data, "record-rolled-back", "reviews/brakes/abs/carol.md")[0]["message"]


def test_deleting_an_objection_without_a_rename(disputed):
    (disputed.root / "reviews/brakes/abs/carol.md").unlink()
    code, data = gate(disputed)
    assert code == 1
    assert findings(data, "record-deleted", "reviews/brakes/abs/carol.md")


def test_deleting_a_chapter_with_its_records_is_allowed(disputed):
    (disputed.root / ABS).unlink()
    shutil.rmtree(disputed.root / "reviews/brakes/abs")
    code, data = gate(disputed)
    assert code == 0, data["findings"]


# --- 4. time --------------------------------------------------------------------------------


@pytest.mark.parametrize(("dated", "counts"), [("2026-11-23", True), ("2026-11-24", False)])
def test_future_dated_record(pr, dated, counts):
    pr.chapter(ABS, title="ABS bleeding", body="v2\n")
    pr.review("sign", ABS, "alice")
    pr.review("endorse", ABS, "bob")
    pr.review("endorse", ABS, "carol", today=dated)  # TODAY is 2026-11-22
    code, data = gate(pr)
    assert (code == 0) is counts, data["findings"]
    found = findings(data, "record-future-dated", "reviews/brakes/abs/carol.md")
    assert bool(found) is not counts
    if not counts:
        assert found[0]["severity"] == "error" and state_of(data, ABS) != "endorsed"


def test_a_record_from_the_future_on_main_cannot_block_its_members_objection(pr):
    record = "reviews/brakes/abs/carol.md"
    forge(pr, ABS, "carol", key="carol", date=dt.date(2100, 12, 31))
    rebase_here(pr, "pushed past the gate")
    data = pr.check_json()
    assert findings(data, "record-future-dated", record)[0]["severity"] == "warning"
    chapter = next(c for c in data["chapters"] if c["path"] == ABS)
    assert chapter["state"] == "awaiting" and chapter["endorsed_by"] == ["bob"]
    pr.review("object", ABS, "carol", "Step 3 is wrong.")
    code, data = gate(pr)
    assert not findings(data, "record-rolled-back"), data["findings"]
    assert code == 0


@pytest.fixture
def site_book(repo, monkeypatch):
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    repo.chapter(ABS, title="ABS bleeding")
    repo.endorse_fully(ABS)
    return repo


@pytest.mark.parametrize("where", ["policy", "domain policy", "record"])
def test_dates_out_of_range_are_findings_not_crashes(site_book, where):
    if where == "policy":
        site_book.write("reviews/policy.yml", "revalidate_after_days: 9999999\n")
        path, rule = "reviews/policy.yml", "date-out-of-range"
    elif where == "domain policy":
        site_book.write("reviews/policy.yml",
                        "domains:\n  brakes:\n    revalidate_after_days: 9999999\n")
        path, rule = "reviews/policy.yml", "date-out-of-range"
    else:
        forge(site_book, ABS, "carol", key="carol", date=dt.date(9999, 12, 31))
        path, rule = "reviews/brakes/abs/carol.md", "record-future-dated"
    site_book.commit("out of range")
    for command in ("check", "status"):
        result = site_book.bok(command)
        assert "Traceback" not in result.output and f"[{rule}]" in result.output, result.output
        assert result.output.count(f"{path}") >= 1
    result = site_book.bok("build")
    assert result.exit_code == 0, result.output
    if where == "policy":
        line = findings(site_book.check_json(), rule, path)[0]["line"]
        assert line == 1
        shown = page(site_book.root / "site", "brakes/abs")
        assert 'Re-validate by</strong> <span class="bok-date">2126-' in shown


# --- 5. what readers see as review ----------------------------------------------------------


def test_only_review_is_shown_as_review(site_book):
    """A member who is no expert pins a note to content that never existed: not on the page.
    An expert's note on a committed revision other than the one shown: on the page."""
    site_book.commit("v1 endorsed")
    site_book.chapter(ABS, title="ABS bleeding", body="v2\n")
    site_book.review("sign", ABS, "alice")
    site_book.review("endorse", ABS, "bob", "Version two reads well.")
    site_book.commit("v2, one endorsement")
    forge(site_book, ABS, "erin", key="erin", digest="sha256:" + "ab" * 32,
          comments="Erin Walsh says: order parts at shady.example")
    forge(site_book, ABS, "dave", key="dave", comments="Dave (engines) likes it.")
    site_book.commit("notes by members who are not experts of brakes")
    assert state_of(site_book.check_json(), ABS) == "pending"
    site_book.bok("build")
    site = site_book.root / "site"
    html = page(site, "brakes/abs")
    assert "Reviewed by carol." in html  # the v1 endorsement that counts for the page shown
    assert "Version two reads well." in html  # an expert, about a committed revision
    assert "shady.example" not in site_text(site) and "Dave (engines)" not in site_text(site)


def test_gate_refuses_a_record_about_content_the_chapter_does_not_have(pr):
    forge(pr, ABS, "erin", key="erin", digest="sha256:" + "ab" * 32, comments="Hello.")
    code, data = gate(pr)
    assert code == 1
    [finding] = findings(data, "record-not-current", "reviews/brakes/abs/erin.md")
    assert finding["severity"] == "error"


def test_a_review_overtaken_by_the_authors_next_push_is_a_warning(pr):
    pr.chapter(ABS, title="ABS bleeding", body="v2\n")
    pr.review("sign", ABS, "alice")
    pr.review("object", ABS, "bob", "v2 is wrong.")
    pr.chapter(ABS, title="ABS bleeding", body="v3\n")
    _, data = gate(pr)
    [finding] = findings(data, "record-not-current", "reviews/brakes/abs/bob.md")
    assert finding["severity"] == "warning"
    assert findings(data, "not-endorsed", ABS)[0]["severity"] == "error"


# --- 6. the gate refuses what would break main ----------------------------------------------


def test_a_draft_whose_name_clashes_with_an_unchanged_chapter(pr):
    pr.chapter("content/brakes/ABS.md", title="Draft", extra="draft: true\n")
    code, data = gate(pr)
    assert code == 1
    [finding] = findings(data, "case-clash", "content/brakes/ABS.md")
    assert ABS in finding["message"]
    pr.commit("the clash lands on main")
    assert pr.bok("check").exit_code == 1  # what the gate foresaw


def test_a_draft_published_at_the_address_of_an_unchanged_chapter(pr):
    pr.chapter("content/brakes/abs/index.md", title="Draft", extra="draft: true\n")
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "url-clash", "content/brakes/abs/index.md")
    pr.commit("the clash lands on main")
    assert findings(pr.check_json(), "url-clash", ABS)


def test_removing_a_domain_page_that_unchanged_chapters_need(pr):
    pr.chapter(OIL, title="Oil", authors="[dave]")
    rebase_here(pr, "an engines chapter")
    (pr.root / "content/engines/index.md").unlink()
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "missing-domain-page", "content/engines/index.md")


# --- 8. what reports print ------------------------------------------------------------------


def test_control_characters_are_escaped_in_text_and_github_output(pr):
    pr.write(ABS, pr.read(ABS).replace("title:", '"ti\\rtle": x\ntitle:', 1))
    text = pr.bok("check", "--base", pr.base).output
    assert "\r" not in text and "unknown key 'ti\\rtle'" in text
    github = pr.bok("check", "--base", pr.base, "--format", "github").output
    assert "\r" not in github and "%0D" not in github and "ti\\rtle" in github
    data = pr.check_json("--base", pr.base)  # JSON keeps the value as it is
    assert "'ti\rtle'" in findings(data, "unknown-key", ABS)[0]["message"]


def test_file_names_that_are_not_utf8(pr):
    for folder in ("content/brakes", "reviews/brakes/abs"):
        (pr.root / os.fsdecode(f"{folder}/".encode() + b"caf\xe9.md")).write_bytes(
            b"---\ntitle: X\nauthors: [alice]\n---\n")
    result = pr.bok("check", "--base", pr.base, "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert findings(data, "file-name-encoding", "content/brakes/caf\\xe9.md")
    assert findings(data, "file-name-encoding", "reviews/brakes/abs/caf\\xe9.md")
    for args in (("check", "--base", pr.base), ("check",), ("status",)):
        result = pr.bok(*args)
        assert result.exit_code == 1 and "[file-name-encoding]" in result.output
    pr.chapter(ABS, title="ABS bleeding", body="v2\n")
    result = pr.bok("sign", ABS, "--as", "alice", "--key", str(pr.keys["alice"]))
    assert result.exit_code == 0, result.output
