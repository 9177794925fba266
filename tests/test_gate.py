"""Signed chapters, expert endorsements and the review gate, with real keys and real Git.

Each attack from the issue is played on a pull-request branch and must end in a non-zero exit
from `bok check --base`, with a finding naming the file and the rule.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest

from bok import sshsig
from bok.signing import payload, render_record, write_record

from .conftest import TODAY, findings, state_of

ABS = "content/brakes/abs.md"
OIL = "content/engines/oil.md"


@pytest.fixture
def pr(repo):
    """main holds an endorsed chapter; a branch 'change' is checked out for the pull request."""
    repo.chapter(ABS, title="ABS bleeding", authors="[alice]")
    repo.endorse_fully(ABS)
    repo.commit("add ABS chapter")
    repo.open_pull_request()
    return repo


def gate(repo) -> tuple[int, dict]:
    result = repo.bok("check", "--base", repo.base, "--format", "json")
    import json
    return result.exit_code, json.loads(result.output)


def revise_with_one_endorsement(repo) -> None:
    """A new revision of ABS, signed by its author and endorsed by one expert of two."""
    repo.chapter(ABS, title="ABS bleeding", body="v2\n")
    repo.review("sign", ABS, "alice")
    repo.review("endorse", ABS, "bob")


def forge(repo, chapter, member, key, verdict="endorse", role="reviewer", digest=None,
          comments="", namespace=sshsig.NAMESPACE, date=dt.date(2026, 11, 22)):
    """Write a record the CLI would refuse to write, signed with whatever key we like."""
    from bok.model import content_digest, record_path
    digest = digest or content_digest((repo.root / chapter).read_bytes())
    message = payload(chapter, member, role, verdict, digest, date, comments)
    signature = sshsig.sign(message, repo.keys[key], namespace=namespace)
    path = record_path(chapter, member)
    repo.write(path, render_record(chapter, member, role, verdict, digest, date, comments,
                                   signature))
    return path


def test_whole_workflow_on_a_branch(pr):
    pr.chapter(OIL, title="Oil changes", authors="[dave]")
    pr.commit("add oil chapter")
    code, data = gate(pr)
    assert code == 1
    [finding] = findings(data, "not-endorsed", OIL)
    assert finding["severity"] == "error" and "carol" in finding["fix"]
    pr.review("sign", OIL, "dave")
    code, data = gate(pr)
    assert code == 1 and "2 more endorsements" in findings(data, "not-endorsed", OIL)[0][
        "message"]
    pr.review("endorse", OIL, "carol", "Good.")
    pr.write("content/engines/index.md", "---\ntitle: Engines\n---\n")  # unrelated edit
    code, data = gate(pr)
    assert code == 1 and "1 more endorsement " in findings(data, "not-endorsed", OIL)[0][
        "message"]
    pr.members({**__import__("tests.conftest", fromlist=["PEOPLE"]).PEOPLE})
    assert gate(pr)[0] == 1
    # a second expert of engines exists only on main: add her there, then rebase the change
    pr.git("checkout", "-q", "main")
    from .conftest import PEOPLE
    people = {**PEOPLE, "erin": ("Erin Walsh", ["engines"], True)}
    pr.members(people)
    pr.review("endorse", "reviews/members.yml", "alice")
    pr.commit("erin joins engines")
    pr.base = pr.git("rev-parse", "HEAD")
    pr.git("checkout", "-q", "change")
    pr.git("rebase", "-q", "main")
    pr.review("endorse", OIL, "erin", "Matches the manual.")
    code, data = gate(pr)
    assert code == 0, data["findings"]
    assert state_of(data, OIL) == "endorsed"
    chapter = next(c for c in data["chapters"] if c["path"] == OIL)
    assert chapter["endorsed_by"] == ["carol", "erin"]


def test_endorsement_by_a_key_not_the_members(pr):
    forge(pr, ABS, "bob", key="mallory")
    code, data = gate(pr)
    assert code == 1
    [finding] = findings(data, "bad-signature", "reviews/brakes/abs/bob.md")
    assert "not registered to 'bob'" in finding["message"]
    assert state_of(data, ABS) == "awaiting"


def test_key_of_another_member_is_named(pr):
    forge(pr, ABS, "bob", key="carol")
    _, data = gate(pr)
    assert "registered to 'carol'" in findings(data, "bad-signature")[0]["message"]


def test_cli_refuses_a_key_not_registered_to_the_member(pr):
    result = pr.bok("endorse", ABS, "--as", "bob", "--key", str(pr.keys["mallory"]))
    assert result.exit_code == 1 and "is not registered to 'bob'" in result.output


def test_record_edited_after_signing(pr):
    pr.review("object", ABS, "bob", "Step 3 is wrong.")
    pr.commit("bob objects")
    pr.base = pr.git("rev-parse", "HEAD")
    record = "reviews/brakes/abs/bob.md"
    pr.write(record, pr.read(record).replace("verdict: object", "verdict: endorse"))
    code, data = gate(pr)
    assert code == 1
    assert "does not match" in findings(data, "bad-signature", record)[0]["message"]


def test_objection_blocks_endorsement(pr):
    pr.review("object", ABS, "bob", "Step 3 is wrong.")
    pr.review("endorse", ABS, "carol")
    pr.chapter(ABS, title="ABS bleeding", body="Changed.\n")
    pr.review("sign", ABS, "alice")
    pr.review("object", ABS, "bob", "Still wrong.")
    pr.review("endorse", ABS, "carol")
    code, data = gate(pr)
    assert code == 1
    assert "objection from bob" in findings(data, "not-endorsed", ABS)[0]["message"]


def test_endorsement_copied_onto_another_chapter(pr):
    pr.chapter("content/brakes/drums.md", title="Drums", authors="[alice]", body="Other.\n")
    pr.review("sign", "content/brakes/drums.md", "alice")
    copied = "reviews/brakes/drums/bob.md"
    pr.write(copied, pr.read("reviews/brakes/abs/bob.md"))
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "record-copied", copied)
    assert findings(data, "not-endorsed", "content/brakes/drums.md")


def test_chapter_changed_by_one_byte_after_endorsement(pr):
    pr.write(ABS, pr.read(ABS) + " ")
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "not-endorsed", ABS)[0]["severity"] == "error"
    assert state_of(data, ABS) in ("pending", "awaiting")


def test_author_endorsing_own_chapter(pr):
    pr.chapter(ABS, title="ABS bleeding", authors="[alice, bob]", body="v2\n")
    pr.review("sign", ABS, "alice")
    pr.review("sign", ABS, "bob")
    forge(pr, ABS, "bob", key="bob")  # overwrites bob's signature with an endorsement
    pr.review("endorse", ABS, "carol")
    assert pr.bok("endorse", ABS, "--as", "bob", "--key", str(pr.keys["bob"])).exit_code == 1
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "self-endorsement", "reviews/brakes/abs/bob.md")


def test_expert_of_another_domain_endorsing(pr):
    revise_with_one_endorsement(pr)
    forge(pr, ABS, "dave", key="dave")
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "not-an-expert", "reviews/brakes/abs/dave.md")
    assert findings(data, "not-endorsed", ABS)


def test_pull_request_adding_its_own_expert(pr):
    from .conftest import PEOPLE
    pr.members({**PEOPLE, "mallory": ("Mallory", ["brakes"], False)})
    revise_with_one_endorsement(pr)
    forge(pr, ABS, "mallory", key="mallory")
    code, data = gate(pr)
    assert code == 1
    assert "not a member" in findings(data, "bad-signature", "reviews/brakes/abs/mallory.md")[0][
        "message"]
    assert findings(data, "registry-signoff-missing", "reviews/members.yml")
    assert state_of(data, ABS) != "endorsed"
    # Without --base the working registry is trusted, so the same book looks endorsed:
    assert state_of(pr.check_json(), ABS) == "endorsed"


def test_pull_request_lowering_the_threshold(pr):
    pr.write("reviews/policy.yml", "endorsements: 1\n")
    revise_with_one_endorsement(pr)
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "registry-signoff-missing", "reviews/policy.yml")
    assert "1 more endorsement" in findings(data, "not-endorsed", ABS)[0]["message"]


def test_registry_change_signed_off_by_a_steward_passes(pr):
    pr.write("reviews/policy.yml", "endorsements: 2\nrevalidate_after_days: 730\n")
    assert gate(pr)[0] == 1
    pr.review("endorse", "reviews/policy.yml", "alice")
    code, data = gate(pr)
    assert code == 0, data["findings"]


def test_registry_change_signed_off_by_a_non_steward(pr):
    pr.write("reviews/policy.yml", "endorsements: 2\nrevalidate_after_days: 730\n")
    assert pr.bok("endorse", "reviews/policy.yml", "--as", "bob", "--key",
                  str(pr.keys["bob"])).exit_code == 1
    forge(pr, "reviews/policy.yml", "bob", key="bob", role="steward")
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "not-a-steward", "reviews/_registry/policy/bob.md")
    assert findings(data, "registry-signoff-missing", "reviews/policy.yml")


@pytest.mark.parametrize("signature", [
    "", "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----",
    "garbage garbage", "-----BEGIN SSH SIGNATURE-----\n!!!!\n-----END SSH SIGNATURE-----"])
def test_malformed_signature(pr, signature):
    record = "reviews/brakes/abs/bob.md"
    text = pr.read(record)
    start, end = text.index("signature: |"), text.index("\n---\n") + 1
    replacement = "signature: \"\"\n" if not signature else "signature: |\n" + "".join(
        f"  {line}\n" for line in signature.splitlines())
    pr.write(record, text[:start] + replacement + text[end:])
    code, data = gate(pr)
    assert code == 1
    found = findings(data, path=record)
    assert found and found[0]["rule"] in ("bad-signature", "missing-signature",
                                          "invalid-signature")
    result = pr.bok("check", "--base", pr.base)
    assert "Traceback" not in result.output


def test_truncated_signature(pr):
    record = "reviews/brakes/abs/bob.md"
    text = pr.read(record)
    lines = text.splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if "END SSH SIGNATURE" in line) - 1
    pr.write(record, "".join(lines[:cut] + lines[cut + 1:]))
    code, data = gate(pr)
    assert code == 1 and findings(data, "bad-signature", record)


@pytest.mark.parametrize("target", ["../../etc/passwd", "content/../../x.md", "/etc/passwd",
                                    "README.md"])
def test_record_pointing_outside_the_book(pr, target):
    record = "reviews/brakes/abs/bob.md"
    pr.write(record, pr.read(record).replace(f"chapter: {ABS}", f"chapter: \"{target}\""))
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "record-outside-book", record)


@pytest.mark.parametrize("target", ["content/brakes/index.md", "content/index.md", "mkdocs.yml"])
def test_record_retargeted_at_a_governed_file_is_misplaced(pr, target):
    """A governed file's sign-offs live in its own folder only (so one never stands in for
    another's)."""
    record = "reviews/brakes/abs/bob.md"
    pr.write(record, pr.read(record).replace(f"chapter: {ABS}", f"chapter: \"{target}\""))
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "record-misplaced", record)


def test_signature_lifted_from_git_namespace_is_refused(pr):
    forge(pr, ABS, "bob", key="bob", namespace="git")
    code, data = gate(pr)
    assert code == 1
    assert "namespace" in findings(data, "bad-signature", "reviews/brakes/abs/bob.md")[0][
        "message"]


def test_deleting_someone_elses_record(pr):
    (pr.root / "reviews/brakes/abs/carol.md").unlink()
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "record-deleted", "reviews/brakes/abs/carol.md")


def test_rolling_back_a_record(pr):
    record = "reviews/brakes/abs/bob.md"
    old = pr.read(record)
    pr.review("endorse", ABS, "bob", "Still good.", today="2026-12-01")
    pr.commit("bob re-endorses")
    pr.base = pr.git("rev-parse", "HEAD")
    pr.write(record, old)
    code, data = gate(pr)
    assert code == 1 and findings(data, "record-rolled-back", record)


def test_missing_base_fails_closed(pr):
    result = pr.bok("check", "--base", "no-such-branch")
    assert result.exit_code == 1
    assert "fails closed" in result.output and "Traceback" not in result.output


def test_moving_a_chapter_keeps_its_endorsements(pr):
    result = pr.bok("mv", ABS, "content/brakes/abs-bleeding.md")
    assert result.exit_code == 0, result.output
    assert (pr.root / "reviews/brakes/abs-bleeding/bob.md").is_file()
    assert not (pr.root / "reviews/brakes/abs").exists()
    data = pr.check_json()
    assert state_of(data, "content/brakes/abs-bleeding.md") == "endorsed", data["findings"]
    assert gate(pr)[0] == 0


def test_moving_to_another_domain_loses_endorsements(pr):
    assert pr.bok("mv", ABS, OIL).exit_code == 1
    subprocess.run(["git", "-C", str(pr.root), "mv", ABS, OIL], check=True)
    (pr.root / "reviews/engines").mkdir()
    subprocess.run(["git", "-C", str(pr.root), "mv", "reviews/brakes/abs",
                    "reviews/engines/oil"], check=True)
    code, data = gate(pr)
    assert code == 1
    assert findings(data, "record-misplaced")
    assert state_of(data, OIL) != "endorsed"


def test_autocrlf_checkout_still_verifies(pr):
    pr.commit("snapshot")
    clone = pr.root.parent / "crlf"
    subprocess.run(["git", "-c", "core.autocrlf=true", "clone", "-q", str(pr.root), str(clone)],
                   check=True)
    assert b"\r\n" in (clone / ABS).read_bytes()
    from bok.gate import check
    result = check(clone, today=dt.date.fromisoformat(TODAY))
    assert result.statuses[ABS].state == "endorsed", [str(f) for f in result.findings]


def test_one_person_counts_once_whatever_the_id(pr):
    bob_key = pr.keys["bob"].with_suffix(".pub").read_text().strip()
    pr.members(extra=f"  bob2:\n    name: Bob Again\n    keys:\n      - {bob_key}\n"
                     "    expert_in: [brakes]\n")
    revise_with_one_endorsement(pr)
    forge(pr, ABS, "bob2", key="bob")
    data = pr.check_json()
    assert findings(data, "shared-key", "reviews/members.yml")
    assert state_of(data, ABS) == "pending"  # v1 stays endorsed; v2 has one endorser


def test_endorsements_lapse_after_revalidate_after_days(repo):
    repo.chapter(ABS)
    repo.endorse_fully(ABS, today="2025-01-10")
    data = repo.check_json(today="2025-06-01")
    assert state_of(data, ABS) == "endorsed"
    data = repo.check_json(today="2026-03-01")
    assert state_of(data, ABS) == "expired"
    chapter = next(c for c in data["chapters"] if c["path"] == ABS)
    assert chapter["revalidate_on"] == "2026-01-10"
    assert findings(data, "revalidation-due", ABS)[0]["severity"] == "warning"


def test_pending_when_an_earlier_revision_was_endorsed(repo):
    repo.chapter(ABS, body="v1\n")
    repo.endorse_fully(ABS)
    repo.commit("v1 endorsed")
    repo.chapter(ABS, body="v2 pushed past the gate\n")
    repo.commit("v2")
    data = repo.check_json()
    assert state_of(data, ABS) == "pending"
    repo.chapter("content/brakes/new.md")
    assert state_of(repo.check_json(), "content/brakes/new.md") == "awaiting"


def test_author_signatures_policy(repo):
    repo.write("reviews/policy.yml", "author_signatures: one\n")
    repo.chapter(ABS, authors="[alice, bob]")
    repo.review("sign", ABS, "alice")
    repo.review("endorse", ABS, "carol")
    forge(repo, ABS, "erin", key="erin")  # erin is no expert of brakes
    assert state_of(repo.check_json(), ABS) == "awaiting"
    repo.members({**__import__("tests.conftest", fromlist=["PEOPLE"]).PEOPLE,
                  "erin": ("Erin Walsh", ["brakes"], True)})
    data = repo.check_json()
    assert state_of(data, ABS) == "endorsed", data["findings"]
    repo.write("reviews/policy.yml", "author_signatures: all\n")
    data = repo.check_json()
    assert state_of(data, ABS) == "awaiting"
    assert "author signature from bob" in next(
        c for c in data["chapters"] if c["path"] == ABS)["missing"][0]


def test_github_format_annotates_and_summarises(pr, tmp_path):
    forge(pr, ABS, "bob", key="mallory")
    summary = tmp_path / "summary.md"
    from click.testing import CliRunner

    from bok.cli import cli
    result = CliRunner().invoke(cli, ["-C", str(pr.root), "check", "--base", pr.base,
                                      "--format", "github"],
                                env={"GITHUB_STEP_SUMMARY": str(summary), "BOK_TODAY": TODAY})
    assert result.exit_code == 1
    assert "::error file=reviews/brakes/abs/bob.md,title=bok bad-signature::" in result.output
    text = summary.read_text()
    assert "| `content/brakes/abs.md` |" in text and "carol" in text


def test_write_record_refuses_nothing_but_cli_checks_authorship(repo):
    repo.chapter(ABS)
    result = repo.bok("sign", ABS, "--as", "bob", "--key", str(repo.keys["bob"]))
    assert result.exit_code == 1 and "not an author" in result.output
    path = write_record(repo.root, ABS, "alice", "author", "sign", "sha256:" + "0" * 64, "",
                        repo.keys["alice"])
    assert path.is_file()


def test_pending_survives_the_author_re_signing(repo):
    repo.chapter(ABS, body="v1\n")
    repo.endorse_fully(ABS)
    repo.commit("v1 endorsed")
    repo.chapter(ABS, body="v2\n")
    repo.review("sign", ABS, "alice")  # overwrites the signature v1 relied on
    repo.commit("v2 signed, awaiting review")
    data = repo.check_json()
    assert state_of(data, ABS) == "pending"
    assert "newest endorsed revision" in findings(data, "not-endorsed", ABS)[0]["fix"]


def test_retired_expert_and_removed_key_do_not_break_main(repo):
    repo.chapter(ABS)
    repo.endorse_fully(ABS)
    from .conftest import PEOPLE
    people = {**PEOPLE, "bob": ("Bob Okafor", [], False)}  # bob leaves brakes
    repo.members(people)
    text = repo.read("reviews/members.yml")
    carol_key = repo.keys["carol"].with_suffix(".pub").read_text().strip()
    repo.write("reviews/members.yml", text.replace(carol_key, repo.keys["mallory"].with_suffix(
        ".pub").read_text().strip()))  # carol replaced her key
    result = repo.bok("check")
    assert result.exit_code == 0, result.output
    data = repo.check_json()
    assert findings(data, "not-an-expert", "reviews/brakes/abs/bob.md")[0]["severity"] == \
        "warning"
    assert findings(data, "signer-not-registered", "reviews/brakes/abs/carol.md")
    assert state_of(data, ABS) == "awaiting"


def test_threshold_that_cannot_be_reached_is_explained(repo):
    repo.write("reviews/policy.yml", "endorsements: 3\n")
    repo.chapter(ABS, authors="[alice, bob]")
    data = repo.check_json()
    message = findings(data, "not-endorsed", ABS)[0]["message"]
    assert "only 1 expert(s) of 'brakes' did not write it, and the policy needs 3" in message


def test_a_folder_page_in_a_pull_request_fails_the_gate(repo):
    """content/brakes/abs/index.md is no chapter (bok new refuses it too): a pull request
    adding one fails, instead of publishing a page the review rules never judged."""
    repo.git("checkout", "-q", "-b", "change")
    path = "content/brakes/abs/index.md"
    repo.chapter(path, title="ABS overview")
    repo.commit("a folder page")
    data = repo.check_json("--base", "main")
    assert not data["ok"] and findings(data, "folder-page", path)


def test_expired_chapter_names_its_previous_endorsers(repo):
    repo.chapter(ABS)
    repo.endorse_fully(ABS, today="2025-01-10")
    data = repo.check_json(today="2026-03-01")
    chapter = next(c for c in data["chapters"] if c["path"] == ABS)
    assert chapter["may_endorse"] == ["bob", "carol"]
    status = repo.bok("status", today="2026-03-01").output
    assert "re-validation due since 2026-01-10" in status


def test_gate_judges_only_what_the_change_touches(pr):
    pr.git("checkout", "-q", "main")
    pr.write("content/engines/broken.md", "no front matter on main\n")
    pr.commit("a broken file lands on main")
    pr.base = pr.git("rev-parse", "HEAD")
    pr.git("checkout", "-q", "-b", "small-change")
    pr.chapter(OIL, title="Oil", authors="[dave]")
    code, data = gate(pr)
    assert code == 1
    assert [c["path"] for c in data["chapters"]] == [OIL]  # only the touched chapter
    assert not findings(data, path="content/engines/broken.md")
    assert findings(pr.check_json(), "no-front-matter", "content/engines/broken.md")


def test_gate_validates_a_changed_registry(pr):
    pr.write("reviews/members.yml", pr.read("reviews/members.yml") + "  zed:\n    name: [x\n")
    code, data = gate(pr)
    assert code == 1 and findings(data, "yaml-syntax", "reviews/members.yml")


def test_gate_reports_a_symlink_the_change_adds(pr, tmp_path):
    (tmp_path / "outside.md").write_text("---\ntitle: X\nauthors: [alice]\n---\n")
    os.symlink(tmp_path / "outside.md", pr.root / "content/brakes/link.md")
    code, data = gate(pr)
    assert code == 1 and findings(data, "symlink", "content/brakes/link.md")


def test_removing_a_member_who_still_authors_chapters_fails_the_gate(pr):
    from .conftest import PEOPLE
    pr.members({k: v for k, v in PEOPLE.items() if k != "alice"})
    pr.review("endorse", "reviews/members.yml", "erin")
    code, data = gate(pr)
    assert code == 1
    found = findings(data, "member-still-author", "reviews/members.yml")
    assert found and ABS in found[0]["message"]


def test_reserved_domain_names_are_refused(repo):
    repo.domain("members")
    data = repo.check_json()
    assert findings(data, "reserved-domain", "content/members")


def test_shallow_clone_is_a_warning_for_check(pr, tmp_path):
    pr.commit("snapshot")
    pr.commit("another")
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{pr.root}", str(clone)],
                   check=True)
    from bok.gate import check
    result = check(clone, today=dt.date.fromisoformat(TODAY))
    assert [f.rule for f in result.findings if f.rule == "shallow-clone"] == ["shallow-clone"]
