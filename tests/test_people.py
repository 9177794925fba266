"""People leave and keys change: real keys, real records, real Git with pinned dates.

A key is retired (replaced: what it signed before its retirement date still counts) or revoked
(compromised: nothing it signed counts); a member may leave the registry or a domain. The
endorsements that stop counting are reported with the chapters that fall below the policy and
who may re-endorse them, by ``bok check`` and by the gate before the registry change is merged.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from bok import policy, sshsig
from bok.gate import evaluate_book
from bok.loading import load_book
from bok.model import content_digest
from bok.signing import write_record
from bok.trees import WorkTree

from .conftest import PEOPLE, TODAY, findings, state_of
from .test_search_browser import browser  # noqa: F401

ABS = "content/brakes/abs.md"


@pytest.fixture(scope="module")
def new_keys(tmp_path_factory) -> dict[str, Path]:
    """A second key for bob and carol: the one they rotate to."""
    folder = tmp_path_factory.mktemp("new-keys")
    made = {}
    for person in ("bob", "carol"):
        path = folder / f"{person}-2"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"{person}-2",
                        "-f", str(path)], check=True)
        made[person] = path
    return made


def pub(key: Path) -> str:
    return Path(f"{key}.pub").read_text().strip()


def mark_key(repo, person: str, state: str, date: str, new_key: Path | None = None) -> None:
    """Mark ``person``'s key retired or revoked in reviews/members.yml (the mapping form),
    registering ``new_key`` beside it."""
    old = pub(repo.keys[person])
    entry = f"- key: {old}\n        {state}: {date}"
    if new_key is not None:
        entry += f"\n      - {pub(new_key)}"
    text = repo.read("reviews/members.yml")
    assert f"- {old}" in text
    repo.write("reviews/members.yml", text.replace(f"- {old}", entry))


def digest(repo, path: str) -> str:
    return content_digest((repo.root / path).read_bytes())


@pytest.fixture
def endorsed(repo):
    """ABS by alice, endorsed by bob and carol on 2026-03-01, committed."""
    repo.chapter(ABS, title="ABS bleeding")
    repo.endorse_fully(ABS, today="2026-03-01")
    repo.commit("ABS, endorsed", date="2026-03-01T12:00:00+00:00")
    return repo


def test_a_revoked_key_counts_for_nothing_and_the_chapter_names_who_may_reendorse(
        endorsed, new_keys):
    repo = endorsed
    mark_key(repo, "bob", "revoked", "2026-06-01", new_keys["bob"])
    data = repo.check_json()
    assert state_of(data, ABS) == "awaiting"
    revoked = findings(data, "key-revoked", "reviews/brakes/abs/bob.md")
    assert revoked[0]["severity"] == "warning"
    assert "revoked on 2026-06-01: nothing it signed counts" in revoked[0]["message"]
    lost = findings(data, "endorsement-lost", ABS)
    assert len(lost) == 1 and lost[0]["severity"] == "warning"
    assert "bob (signed with a key since revoked)" in lost[0]["message"]
    assert "1 more endorsement" in lost[0]["message"]
    assert lost[0]["fix"] == "May re-endorse: bob."
    # bok endorse refuses the revoked key; with the new one, the chapter is endorsed again
    refused = repo.bok("endorse", ABS, "--as", "bob", "--key", str(repo.keys["bob"]), "-m", "x")
    assert refused.exit_code == 1 and "was revoked on 2026-06-01" in refused.output
    assert "Traceback" not in refused.output
    repo.keys = {**repo.keys, "bob": new_keys["bob"]}
    repo.review("endorse", ABS, "bob", "Still right.")
    data = repo.check_json()
    assert state_of(data, ABS) == "endorsed" and not findings(data, "endorsement-lost")


def test_a_retired_key_keeps_what_it_signed_before_its_retirement(endorsed, new_keys):
    repo = endorsed
    mark_key(repo, "bob", "retired", "2026-06-01", new_keys["bob"])
    data = repo.check_json()
    assert state_of(data, ABS) == "endorsed"
    assert not findings(data, "key-retired") and not findings(data, "endorsement-lost")
    # dated on or after the retirement, the same key's record does not count
    write_record(repo.root, ABS, "bob", "reviewer", "endorse", digest(repo, ABS), "Again.",
                 repo.keys["bob"], date=dt.date(2026, 6, 1))
    data = repo.check_json()
    assert state_of(data, ABS) == "awaiting"
    retired = findings(data, "key-retired", "reviews/brakes/abs/bob.md")
    assert "retired on 2026-06-01, and dated 2026-06-01" in retired[0]["message"]
    assert "bob (signed with a key since retired)" in findings(data, "endorsement-lost",
                                                               ABS)[0]["message"]
    refused = repo.bok("endorse", ABS, "--as", "bob", "--key", str(repo.keys["bob"]), "-m", "x")
    assert refused.exit_code == 1 and "was retired on 2026-06-01" in refused.output


def test_the_site_honours_revocation_and_retirement(endorsed, new_keys, monkeypatch):
    from bok.publish import build_site

    from .test_site import MKDOCS
    repo = endorsed
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    mark_key(repo, "carol", "retired", "2026-06-01", new_keys["carol"])
    repo.commit("carol rotates her key", date="2026-06-01T12:00:00+00:00")
    site = repo.root / "site"
    build_site(repo.root, site)
    page = (site / "brakes/abs/index.html").read_text()
    assert "Carol Lin" in page and "Bob Okafor" in page  # her retired key's endorsement counts
    mark_key(repo, "bob", "revoked", "2026-07-01")
    repo.commit("bob's key was stolen", date="2026-07-01T12:00:00+00:00")
    report = build_site(repo.root, site)
    assert not (site / "brakes/abs").exists()
    assert report.left_out == {"awaiting": [ABS]}


def test_the_gate_refuses_a_new_record_by_a_retired_key_even_backdated(endorsed, new_keys):
    repo = endorsed
    mark_key(repo, "carol", "retired", "2026-06-01", new_keys["carol"])
    repo.review("endorse", "reviews/members.yml", "alice", "carol rotates her key.",
                today="2026-06-01")
    repo.commit("carol rotates her key", date="2026-06-01T12:00:00+00:00")
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "change")
    repo.chapter("content/brakes/drums.md", title="Drums")
    repo.review("sign", "content/brakes/drums.md", "alice")
    repo.review("endorse", "content/brakes/drums.md", "bob")
    # carol's old key, a date before its retirement: valid on its face
    write_record(repo.root, "content/brakes/drums.md", "carol", "reviewer", "endorse",
                 digest(repo, "content/brakes/drums.md"), "Backdated.", repo.keys["carol"],
                 date=dt.date(2026, 5, 1))
    assert state_of(repo.check_json(), "content/brakes/drums.md") == "endorsed"
    result = repo.bok("check", "--base", base, "--format", "json")
    assert result.exit_code == 1
    import json
    data = json.loads(result.output)
    found = findings(data, "key-retired", "reviews/brakes/drums/carol.md")
    assert found and found[0]["severity"] == "error"
    assert "its date (2026-05-01) cannot be trusted" in found[0]["message"]
    # A record the base holds, moved with its chapter by 'bok mv', is not new.
    repo.git("checkout", "-q", "-f", "main")
    repo.git("clean", "-qfd")
    repo.git("checkout", "-q", "-b", "move")
    assert repo.bok("mv", ABS, "content/brakes/abs-bleeding.md").exit_code == 0
    result = repo.bok("check", "--base", base, "--format", "json")
    data = json.loads(result.output)
    assert result.exit_code == 0, data["findings"]
    assert not findings(data, "key-retired")


def test_a_member_who_leaves_drops_chapters_below_the_policy(endorsed):
    repo = endorsed
    people = {k: v for k, v in PEOPLE.items() if k != "carol"}
    people["dave"] = ("Dave Ruiz", ["brakes", "engines"], False)
    repo.members(people)
    data = repo.check_json()
    assert findings(data, "signer-not-registered", "reviews/brakes/abs/carol.md")
    lost = findings(data, "endorsement-lost", ABS)
    assert "carol (no longer a member)" in lost[0]["message"]
    assert lost[0]["fix"] == "May re-endorse: dave."
    # leaving a domain: bob stays a member, no longer a brakes expert
    people["bob"] = ("Bob Okafor", [], False)
    repo.members(people)
    lost = findings(repo.check_json(), "endorsement-lost", ABS)[0]
    assert "bob (not an expert of 'brakes')" in lost["message"]
    assert "2 more endorsements" in lost["message"]


def test_the_gate_shows_what_a_registry_change_would_drop(endorsed):
    repo = endorsed
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "change")
    mark_key(repo, "bob", "revoked", "2026-11-01")
    repo.review("endorse", "reviews/members.yml", "erin", "bob's laptop was stolen.")
    result = repo.bok("check", "--base", base, "--format", "json")
    import json
    data = json.loads(result.output)
    lost = findings(data, "endorsement-lost", ABS)
    assert lost and lost[0]["message"].startswith("this change to reviews/members.yml: fell "
                                                  "below the policy")
    assert lost[0]["severity"] == "warning" and result.exit_code == 0, data["findings"]


def test_lost_endorsements_is_a_pure_rule(endorsed, new_keys):
    """What bok health calls: the same answer from the model alone."""
    repo = endorsed
    mark_key(repo, "bob", "revoked", "2026-06-01", new_keys["bob"])
    book = load_book(WorkTree(repo.root))
    statuses, verifications = evaluate_book(book, dt.date(2026, 11, 22))
    chapter = book.chapters[ABS]
    checked = [verifications[r.path] for r in book.records_for(ABS)]
    found = policy.lost_endorsements(chapter, checked, book.registry,
                                     book.policy.rules_for("brakes"), statuses[ABS])
    assert found is not None
    assert found.lost == (("bob", "signed with a key since revoked"),)
    assert found.may_endorse == ("bob",)
    assert [v.key_status for v in checked if v.record.member == "bob"] == ["revoked"]


@pytest.mark.parametrize("entry, message", [
    ("- key: {key}\n        retired: soon", "'retired': expected a date YYYY-MM-DD"),
    ("- key: {key}\n        retired: 2026-02-30", "'retired': expected a date YYYY-MM-DD"),
    ("- key: {key}\n        retired: 2026-01-01\n        revoked: 2026-01-02",
     "both retired and revoked"),
    ("- retired: 2026-01-01", "a mapping without 'key:'"),
    ("- key: {key}\n        expired: 2026-01-01", "unknown key 'expired'"),
])
def test_bad_key_entries_are_reported_with_their_line(repo, entry, message):
    old = pub(repo.keys["bob"])
    text = repo.read("reviews/members.yml")
    repo.write("reviews/members.yml", text.replace(f"- {old}", entry.format(key=old)))
    result = repo.bok("check")
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = next(line for line in result.output.splitlines() if "invalid-keys" in line)
    assert line.startswith("reviews/members.yml:") and message in line, result.output


def test_sshsig_fingerprints_match_the_registry(repo):
    """The retired key is found by the fingerprint the signature carries."""
    from bok.loading import load_registry
    mark_key(repo, "bob", "retired", "2026-06-01")
    member = load_registry(WorkTree(repo.root), []).get("bob")
    fingerprint = sshsig.public_key_of(repo.keys["bob"]).fingerprint
    state = member.key_state(fingerprint)
    assert state is not None and state.retired == dt.date(2026, 6, 1) and state.revoked is None
    assert fingerprint in member.fingerprints


# --- recognition: member pages and the members index ---------------------------------------


@pytest.fixture
def recognised(repo, tmp_path, monkeypatch):
    """The book of tests/test_feed.py (a year of writing, endorsing, objecting, re-validating),
    built."""
    from bok.publish import build_site

    from .test_feed import history_book
    history_book(repo)
    monkeypatch.setenv("BOK_TODAY", TODAY)
    return repo, build_site(repo.root, tmp_path / "site").site


def _article(site: Path, src: str) -> str:
    html = (site / src / "index.html").read_text(encoding="utf-8")
    return html.split("<article", 1)[1].split("</article>", 1)[0]


def _section(article: str, title: str) -> str:
    return article.split(f">{title}")[1].split("<h2")[0]


def test_member_pages_show_contributions_over_time(recognised):
    repo, site = recognised
    carol = _article(site, "members/carol")
    assert "<strong>Last active</strong> 2026-05-02" in carol
    assert "3 endorsements · 0 re-validations · 1 objection that led to a revision" in carol
    endorsed = _section(carol, "Chapters endorsed")
    assert [line.split("·")[1].strip()[:10] for line in endorsed.split("<li>")[1:]] == [
        "2026-05-02", "2026-02-11", "2026-01-12"]  # newest first, both ABS revisions
    assert '<a href="../../engines/oil/">Oil changes</a>' in endorsed
    objections = _section(carol, "Objections that led to a revision")
    assert "Oil changes</a> · objected 2026-02-03, revised 2026-02-10" in objections
    assert "None yet." in _section(carol, "Re-validations")
    years = _section(carol, "Contributions by year")
    assert "<td>2026</td>" in years and "<td>3</td>" in years
    bob = _article(site, "members/bob")
    assert "ABS bleeding</a> · 2026-11-20" in _section(bob, "Re-validations")
    alice = _article(site, "members/alice")
    assert "ABS bleeding</a> · 2026-01-10" in _section(alice, "Chapters written")
    assert "Secret drums" not in alice  # never endorsed: not part of anyone's record
    # she wrote ABS (its front matter says so) on 01-10; her commit of 05-01 credits nobody:
    # Git's author name and email are nobody's signature
    assert "<strong>Last active</strong> 2026-01-10" in alice
    erin = _article(site, "members/erin")
    assert "Last active" not in erin and "0 chapters written" in erin


def test_members_index_sorts_by_recent_activity_with_domains(recognised):
    repo, site = recognised
    index = _article(site, "members")
    order = ["Bob Okafor", "Carol Lin", "Dave Ruiz", "Alice Martin", "Erin Walsh"]
    positions = {name: index.index(name) for name in order}
    # bob re-validated on 2026-11-20, carol endorsed on 05-02, dave wrote oil changes after
    # alice wrote ABS on 01-10 (commits credit nobody); erin never contributed
    assert sorted(order, key=positions.get) == order
    assert "Carol Lin</a> · expert in Brakes, Engines · last active 2026-05-02" in index
    assert "Erin Walsh</a></li>" in index


def test_a_member_page_does_not_grow_with_the_registry(repo, tmp_path, monkeypatch):
    from bok.publish import build_site
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", "site_name: B\ndocs_dir: .bok/stage\ntheme: {name: material}\n"
                             "plugins: [bok]\n")
    repo.chapter(ABS, title="ABS bleeding")
    repo.endorse_fully(ABS)
    repo.commit("ABS")
    small = build_site(repo.root, tmp_path / "small").site
    extra = "".join(f"  m{i:03d}:\n    name: Member {i:03d}\n    expert_in: [brakes]\n"
                    for i in range(60))
    repo.members(extra=extra)
    text = repo.read("reviews/members.yml")
    repo.write("reviews/members.yml", text)
    large = build_site(repo.root, tmp_path / "large").site
    assert "Member 059" in _article(large, "members")
    for page in ("members/bob", "brakes/abs"):
        assert (large / page / "index.html").read_text() == \
               (small / page / "index.html").read_text(), page


def test_browser_shows_a_member_page(recognised, browser):  # noqa: F811
    from playwright.sync_api import expect

    from .test_search_browser import hermetic, serving
    _repo, site = recognised
    errors: list[str] = []
    with serving(site) as served, hermetic(browser, served) as context:
        reader = context.new_page()
        reader.on("pageerror", lambda exc: errors.append(str(exc)))
        reader.goto(served + "members/")
        first = reader.locator("article li a").first
        expect(first).to_have_text("Bob Okafor")
        first.click()
        reader.wait_for_url("**/members/bob/")
        expect(reader.locator("article h1")).to_have_text("Bob Okafor")
        revalidated = reader.locator("article h2:has-text('Re-validations') + ul li")
        expect(revalidated).to_have_text("ABS bleeding · 2026-11-20")
        expect(reader.locator("article table")).to_be_visible()
        revalidated.locator("a").click()
        reader.wait_for_url("**/brakes/abs/")
        expect(reader.locator("article h1").first).to_contain_text("ABS bleeding")
        assert errors == []
