"""The book's format and strict loading: every bad input is one clear finding, and the rest of
the book is still reported."""

from __future__ import annotations

import os

import pytest

from .conftest import findings, state_of

GOOD = "content/brakes/good.md"

BAD_CHAPTERS = {
    # name: (file bytes or text, expected rule, expected line or None)
    "broken-yaml": ("---\ntitle: [unclosed\nauthors: [alice]\n---\nx\n", "yaml-syntax", None),
    "duplicate-key": ("---\ntitle: One\ntitle: Two\nauthors: [alice]\n---\nx\n",
                      "duplicate-key", 3),
    "alias": ("---\ntitle: &t One\nauthors: [alice]\nsummary: *t\n---\nx\n", "yaml-alias", 2),
    "python-tag": ("---\ntitle: !!python/object/apply:os.system [ls]\nauthors: [alice]\n---\n",
                   "yaml-tag", 2),
    "list-front-matter": ("---\n- title\n- authors\n---\nx\n", "front-matter-not-mapping", 2),
    "missing-front-matter": ("# Just a heading\n\ntext\n", "no-front-matter", 1),
    "blank-line-first": ("\n---\ntitle: T\nauthors: [alice]\n---\n", "no-front-matter", 1),
    "multimarkdown": ("Title: T\nAuthors: alice\n\ntext\n", "no-front-matter", 1),
    "dots-closer": ("---\ntitle: T\nauthors: [alice]\n...\ntext\n", "front-matter-closer", 4),
    "unclosed": ("---\ntitle: T\nauthors: [alice]\n", "unclosed-front-matter", 1),
    "missing-title": ("---\nauthors: [alice]\n---\nx\n", "missing-title", None),
    "unknown-author": ("---\ntitle: T\nauthors: [alice, zed]\n---\nx\n", "unknown-author", 3),
    "empty-authors": ("---\ntitle: T\nauthors: []\n---\nx\n", "invalid-authors", 3),
    "unknown-type": ("---\ntitle: T\nauthors: [alice]\ntype: recipe\n---\nx\n",
                     "unknown-type", 4),
    "not-utf8": (b"---\ntitle: caf\xe9\nauthors: [alice]\n---\n", "not-utf8", 2),
    "bom": (b"\xef\xbb\xbf---\ntitle: T\nauthors: [alice]\n---\n", "byte-order-mark", 1),
    "draft-not-bool": ("---\ntitle: T\nauthors: [alice]\ndraft: NO\n---\n", "invalid-draft", 4),
    "deep": ("---\ntitle: T\nauthors: [alice]\ntags: " + "[" * 40 + "]" * 40 + "\n---\n",
             "yaml-too-deep", 4),
    "script-in-title": ("---\ntitle: <img src=x onerror=alert(1)>\nauthors: [alice]\n---\n",
                        "unsafe-html", 2),
}


@pytest.mark.parametrize("name", sorted(BAD_CHAPTERS))
def test_bad_chapter_is_one_clear_finding_and_others_still_reported(repo, name):
    text, rule, line = BAD_CHAPTERS[name]
    repo.chapter(GOOD, title="Good one")
    bad = f"content/brakes/{name}.md"
    repo.write(bad, text)
    result = repo.bok("check", "--format", "json")
    assert result.exit_code == 1
    import json
    data = json.loads(result.output)
    found = findings(data, rule=rule, path=bad)
    assert found, data["findings"]
    assert found[0]["severity"] == "error"
    if line is not None:
        assert found[0]["line"] == line
    assert found[0]["fix"], "every finding says how to fix it"
    assert state_of(data, bad) == "invalid"
    assert state_of(data, GOOD) == "awaiting", "one bad file never hides the others"
    text_result = repo.bok("check")
    assert "Traceback" not in text_result.output
    assert f"{bad}" in text_result.output and f"[{rule}]" in text_result.output


def test_alias_bomb_is_refused_quickly(repo):
    bomb = "---\na: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n"
        for i in range(9)) + "title: T\nauthors: [alice]\n---\n"
    repo.write("content/brakes/bomb.md", bomb)
    data = repo.check_json()
    assert findings(data, "yaml-alias", "content/brakes/bomb.md")


def test_implicit_typing_does_not_change_values(repo):
    repo.chapter(GOOD, title="1.10", extra="summary: NO\ntags: [2024-01-05, 012345, yes]\n")
    data = repo.check_json()
    chapter = next(c for c in data["chapters"] if c["path"] == GOOD)
    assert chapter["title"] == "1.10"
    from bok.loading import load_book
    from bok.trees import WorkTree
    book = load_book(WorkTree(repo.root))
    assert book.chapters[GOOD].summary == "NO"
    assert book.chapters[GOOD].tags == ("2024-01-05", "012345", "yes")


def test_symlink_is_reported_and_never_followed(repo, tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: Secret\nauthors: [alice]\n---\nTOP SECRET\n")
    os.symlink(secret, repo.root / "content/brakes/link.md")
    os.symlink(tmp_path, repo.root / "reviews/linked-dir")
    repo.chapter(GOOD)
    data = repo.check_json()
    assert findings(data, "symlink", "content/brakes/link.md")
    assert findings(data, "symlink", "reviews/linked-dir")
    assert "content/brakes/link.md" not in [c["path"] for c in data["chapters"]]
    assert state_of(data, GOOD) == "awaiting"


def test_paths_differing_only_by_case_are_reported(repo):
    repo.chapter("content/brakes/ABS.md")
    repo.chapter("content/brakes/abs.md")
    data = repo.check_json()
    clashes = findings(data, "case-clash")
    assert {f["path"] for f in clashes} == {"content/brakes/ABS.md", "content/brakes/abs.md"}


def test_invalid_registry_key_names_the_line(repo):
    repo.members(extra="  zed:\n    name: Zed\n    keys:\n      - ssh-ed25519 notakey zed\n")
    data = repo.check_json()
    found = findings(data, "invalid-key", "reviews/members.yml")
    assert found and found[0]["line"] == repo.read("reviews/members.yml").splitlines().index(
        "      - ssh-ed25519 notakey zed") + 1


def test_security_key_is_refused_at_registration(repo):
    line = ("sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIEX/"
            "DyJwyhqvyiLfp0yJ1ZBeLpqwkx4Q7V8tBHc0rDlAAAAABHNzaDo= zed")
    repo.members(extra=f"  zed:\n    name: Zed\n    keys:\n      - {line}\n")
    data = repo.check_json()
    found = findings(data, "invalid-key", "reviews/members.yml")
    assert found and "security key" in found[0]["message"].lower() + found[0]["fix"].lower()


def test_expert_of_unknown_domain_is_reported(repo):
    repo.members(extra="  zed:\n    name: Zed\n    expert_in: [gearboxes]\n")
    data = repo.check_json()
    found = findings(data, "unknown-domain", "reviews/members.yml")
    assert found and "gearboxes" in found[0]["message"]


def test_unknown_key_is_a_warning_with_a_suggestion(repo):
    repo.chapter(GOOD, extra="tittle: oops\n")
    data = repo.check_json()
    found = findings(data, "unknown-key", GOOD)
    assert found[0]["severity"] == "warning" and "title" in found[0]["fix"]
    assert repo.bok("check", "--strict").exit_code == 1


def test_policy_is_validated(repo):
    repo.write("reviews/policy.yml", "endorsements: two\nauthor_signatures: most\n"
                                     "domains:\n  brakes: {endorsements: 3}\n  nowhere: {}\n")
    data = repo.check_json()
    assert findings(data, "invalid-endorsements", "reviews/policy.yml")[0]["line"] == 1
    assert findings(data, "invalid-author_signatures", "reviews/policy.yml")[0]["line"] == 2
    assert findings(data, "unknown-domain", "reviews/policy.yml")


def test_policy_domain_override_applies(repo):
    from bok.loading import load_policy
    from bok.trees import WorkTree
    repo.write("reviews/policy.yml", "endorsements: 1\ndomains:\n  brakes: {endorsements: 3}\n")
    policy = load_policy(WorkTree(repo.root), [])
    assert policy.rules_for("brakes").endorsements == 3
    assert policy.rules_for("engines").endorsements == 1


def test_missing_domain_page_and_page_outside_domain(repo):
    repo.chapter("content/gears/shift.md")
    repo.chapter("content/loose.md")
    data = repo.check_json()
    assert findings(data, "missing-domain-page", "content/gears/index.md")
    assert findings(data, "page-outside-domain", "content/loose.md")


def test_crlf_checkout_keeps_the_digest(repo):
    from bok.model import content_digest
    text = b"---\ntitle: T\nauthors: [alice]\n---\nline one\nline two\n"
    assert content_digest(text) == content_digest(text.replace(b"\n", b"\r\n"))
    repo.write(GOOD, text.replace(b"\n", b"\r\n"))
    data = repo.check_json()
    assert state_of(data, GOOD) == "awaiting" and not findings(data, path=GOOD, rule="yaml-syntax")


def test_chapter_in_subfolder_of_domain(repo):
    repo.chapter("content/brakes/abs/pumps.md", title="Pumps")
    data = repo.check_json()
    chapter = next(c for c in data["chapters"] if c["path"] == "content/brakes/abs/pumps.md")
    assert chapter["domain"] == "brakes"


def test_home_page_is_validated_too(repo):
    repo.write("content/index.md", "---\ntitle: Home\ntitle: Again\n---\n# Home\n")
    data = repo.check_json()
    assert findings(data, "duplicate-key", "content/index.md")[0]["line"] == 3
    repo.write("content/index.md", "# Home\n\n<script>alert(1)</script>\n")
    data = repo.check_json()
    assert findings(data, "unsafe-html", "content/index.md")[0]["line"] == 3


def test_domain_page_body_is_scanned(repo):
    repo.write("content/brakes/index.md", "---\ntitle: Brakes\n---\n\n<script>x()</script>\n")
    data = repo.check_json()
    assert findings(data, "unsafe-html", "content/brakes/index.md")[0]["line"] == 5


def test_invalid_value_says_what_to_set(repo):
    repo.chapter(GOOD, extra="tags: hydraulics\n")
    found = findings(repo.check_json(), "invalid-tags", GOOD)[0]
    assert found["message"] == "'tags': expected a list, received 'hydraulics'"
    assert found["fix"] == "'tags' is a list of tags."


@pytest.mark.parametrize("path", ["content/brakes/abs/index.md", "content/brakes/README.md",
                                  "content/brakes/abs/README.md"])
def test_a_folder_page_is_no_chapter_for_the_loader_new_and_mv(repo, path):
    """One rule for what a chapter's path may be: bok check, bok new and bok mv agree."""
    repo.chapter(path, title="Nested index")
    data = repo.check_json()
    assert "folder-page" in [f["rule"] for f in data["findings"] if f["path"] == path]
    assert path not in [c["path"] for c in data["chapters"] if c["state"] != "invalid"]
    (repo.root / path).unlink()
    result = repo.bok("new", path.removeprefix("content/"), "--title", "T", "--author", "alice")
    assert result.exit_code == 1 and "a folder's page, not a chapter" in result.output
    repo.chapter("content/brakes/abs.md", title="ABS")
    result = repo.bok("mv", "content/brakes/abs.md", path)
    assert result.exit_code == 1 and "a folder's page, not a chapter" in result.output
