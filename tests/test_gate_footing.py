"""The gate's footing: what the engines read besides the chapters cannot be changed outside the
rules (issue 10, from a red-team review).

Each attack is a pull request (commits on 'change' off main) judged by ``bok check --base``;
where publishing is the question, it is merged and published from a fresh clone
(``bok check && bok build``), and the site must not carry it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bok import limits, stage
from bok.cli import cli
from bok.siteconfig import ENGINE_CONFIGS

from .conftest import TODAY, findings
from .test_gate import gate
from .test_site import ABS, MKDOCS

DRUMS = "content/brakes/drums.md"
HOOK = "import pathlib\npathlib.Path(__file__).with_name('PWNED').write_text('ran')\n"


@pytest.fixture
def pr(repo, monkeypatch):
    """main: a buildable book (mkdocs.yml, one endorsed chapter); branch 'change' checked out."""
    monkeypatch.setenv("BOK_TODAY", TODAY)
    repo.write("mkdocs.yml", MKDOCS)
    repo.chapter(ABS, title="ABS bleeding", body="Endorsed words.\n")
    repo.endorse_fully(ABS)
    repo.commit("main: endorsed book")
    repo.open_pull_request()
    return repo


def errors(data: dict, rule: str) -> list[str]:
    return [f["path"] for f in findings(data, rule) if f["severity"] == "error"]


def merged_clone(repo, tmp_path):
    """What the publish job gets once the change is merged: a fresh clone of main."""
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "change")
    clone = tmp_path / "ci"
    subprocess.run(["git", "clone", "-q", str(repo.root), str(clone)], check=True)
    return clone


def bok_in(clone, *args):
    env = {"BOK_TODAY": TODAY, "GITHUB_STEP_SUMMARY": None}
    return CliRunner().invoke(cli, ["-C", str(clone), *args], env=env)


def link_mkdocs_yml(repo) -> None:
    repo.write("evil.yml", MKDOCS + "hooks:\n  - hooks/evil.py\n")
    repo.write("hooks/evil.py", HOOK)
    (repo.root / "mkdocs.yml").unlink()
    (repo.root / "mkdocs.yml").symlink_to("evil.yml")
    repo.commit("tidy the configuration")


# --- mkdocs.yml itself ------------------------------------------------------------------------

def test_a_linked_mkdocs_yml_fails_the_gate(pr):
    link_mkdocs_yml(pr)
    code, data = gate(pr)
    assert code == 1
    assert errors(data, "symlink") == ["mkdocs.yml"]
    assert "mkdocs.yml" in errors(data, "signoff-missing")  # the signed-off one is gone


def test_bok_build_refuses_a_linked_mkdocs_yml_before_mkdocs_runs(pr, tmp_path):
    link_mkdocs_yml(pr)
    clone = merged_clone(pr, tmp_path)
    for command in (["build"], ["serve", "-a", "127.0.0.1:1"]):
        result = bok_in(clone, *command)
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: mkdocs.yml: error: symbolic link"), result.output
        assert "[symlink]" in result.output and "Traceback" not in result.output
    assert not (clone / "hooks" / "PWNED").exists()
    assert not (clone / "site").exists()


def test_bok_build_applies_the_site_rules_itself(pr, tmp_path):
    """A configuration bok check refuses never builds, even where no gate ran."""
    pr.write("evil.py", HOOK)
    pr.write("mkdocs.yml", MKDOCS + "hooks:\n  - evil.py\n")
    pr.commit("a hook at the top")
    code, data = gate(pr)
    assert code == 1 and "mkdocs.yml" in errors(data, "site-config-refused")
    clone = merged_clone(pr, tmp_path)
    result = bok_in(clone, "build")
    assert result.exit_code == 1
    assert result.output.startswith("Error: mkdocs.yml:"), result.output
    assert "[site-config-refused]" in result.output
    assert not (clone / "PWNED").exists() and not (clone / "site").exists()


def test_deleting_mkdocs_yml_needs_a_signoff(pr):
    (pr.root / "mkdocs.yml").unlink()
    pr.commit("no configuration")
    code, data = gate(pr)
    assert code == 1 and errors(data, "signoff-missing") == ["mkdocs.yml"]


# --- other engines' configurations ------------------------------------------------------------

def test_mkdocs_yml_moved_to_mkdocs_yaml_fails_the_gate_and_the_build(pr, tmp_path):
    """MkDocs reads mkdocs.yaml when mkdocs.yml is missing."""
    pr.write("mkdocs.yaml", MKDOCS + "hooks:\n  - hooks/evil.py\n")
    pr.write("hooks/evil.py", HOOK)
    (pr.root / "mkdocs.yml").unlink()
    pr.commit("use the .yaml extension")
    code, data = gate(pr)
    assert code == 1
    assert errors(data, "engine-config") == ["mkdocs.yaml"]
    assert errors(data, "signoff-missing") == ["mkdocs.yml"]
    clone = merged_clone(pr, tmp_path)
    result = bok_in(clone, "build")
    assert result.exit_code == 1, result.output
    assert not (clone / "hooks" / "PWNED").exists() and not (clone / "site").exists()
    # A direct mkdocs build runs the hook as it loads the configuration (only the gate keeps
    # it off main), but the bok plugin then stops it: nothing is published.
    direct = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", "out"],
                            cwd=clone, capture_output=True, text=True)
    assert direct.returncode != 0 and "[engine-config]" in direct.stderr
    assert not list((clone / "out").glob("**/*.html"))


@pytest.mark.parametrize("name", ENGINE_CONFIGS)
def test_every_other_engine_configuration_is_refused(pr, tmp_path, name):
    """zensical build reads zensical.toml before mkdocs.yml: docs_dir = "content" published
    drafts and raw .html files (measured with Zensical 0.0.73)."""
    pr.write(name, '[project]\nsite_name = "x"\ndocs_dir = "content"\n')
    pr.chapter(DRUMS, title="Drums", body="UNENDORSED\n", extra="draft: true\n")
    pr.commit("add a draft")
    code, data = gate(pr)
    assert code == 1 and errors(data, "engine-config") == [name]
    clone = merged_clone(pr, tmp_path)
    assert errors(json.loads(bok_in(clone, "check", "--format", "json").output),
                  "engine-config") == [name]
    result = bok_in(clone, "build")
    assert result.exit_code == 1 and f"{name}: error:" in result.output
    assert not (clone / "site").exists()


# --- folders builds write to ------------------------------------------------------------------

@pytest.mark.parametrize("path", [".bok/stage/notes.txt", ".bok/preview/brakes/evil.md",
                                  f".bok/stage/{stage.MANIFEST}", "site/notes.txt"])
def test_a_committed_build_folder_fails_the_gate_and_bok_check(pr, tmp_path, path):
    pr.write(path, "x\n")
    pr.git("add", "-f", path)
    pr.git("commit", "-q", "-m", "notes")
    code, data = gate(pr)
    assert code == 1 and errors(data, "build-folder-tracked") == [path]
    clone = merged_clone(pr, tmp_path)
    assert errors(json.loads(bok_in(clone, "check", "--format", "json").output),
                  "build-folder-tracked") == [path]


def test_templates_and_schemas_may_be_committed(pr):
    pr.write(".bok/templates/howto.md", "## Steps\n")
    pr.write(".bok/schemas/howto.yml", "{}\n")
    pr.git("add", "-f", ".bok")
    pr.git("commit", "-q", "-m", "templates")
    code, data = gate(pr)
    assert not findings(data, "build-folder-tracked"), data["findings"]


def test_staging_rewrites_a_file_a_committed_manifest_claims(tmp_path):
    """A manifest is a hint: a staged file whose bytes differ is rewritten whatever it says."""
    folder = tmp_path / "stage"
    real = b"<p>endorsed</p>\n"
    stage.write_tree(folder, {"brakes/abs.md": real})
    (folder / "brakes/abs.md").write_bytes(b"<script>attacker</script>\n")
    stage.write_tree(folder, {"brakes/abs.md": real})
    assert (folder / "brakes/abs.md").read_bytes() == real


# --- what one draft may cost ------------------------------------------------------------------

def test_a_draft_with_thousands_of_repeated_headings_is_refused(pr):
    """Python-Markdown's toc makes repeated heading ids quadratically (60 KB of them: 19 s in
    the gate before bok.limits); bench/hostile.py times what bok still accepts."""
    pr.chapter(DRUMS, title="Drums", body="# x &amp;\n" * 6000, extra="draft: true\n")
    pr.commit("a draft")
    code, data = gate(pr)
    assert code == 1 and set(errors(data, "markdown-too-complex")) == {DRUMS}


def test_the_most_repeated_headings_a_page_may_have_get_unique_ids():
    from bok.render import Renderer
    body = "# x &amp;\n\n" * (limits.MAX_STRUCTURES // 2 - 1)
    assert limits.markdown_problems(body) == []
    ids = [h.id for h in Renderer().render(body, "brakes/drums.md", "brakes/drums/").headings]
    assert len(ids) == len(set(ids)) == limits.MAX_STRUCTURES // 2 - 1


# --- python -m bok ----------------------------------------------------------------------------

def test_python_m_bok_imports_nothing_from_the_book(pr, tmp_path):
    pr.write("nh3.py", HOOK)  # a module bok imports, at the top of the repository
    pr.commit("helper")
    clone = merged_clone(pr, tmp_path)
    done = subprocess.run([sys.executable, "-m", "bok", "check"], cwd=clone,
                          capture_output=True, text=True)
    assert "Traceback" not in done.stderr, done.stderr
    assert not (clone / "PWNED").exists()


# --- Git metadata ----------------------------------------------------------------------------

def test_revision_history_shows_no_unreviewed_commit(pr, tmp_path):
    """An edit and its revert pass the gate (no net change); the edit's commit message must not
    reach the endorsed page (the site shows no unsigned Git metadata)."""
    original = pr.read(ABS)
    pr.write(ABS, original.replace("Endorsed words.", "Skip the pressure test."))
    pr.git("add", "-A")
    pr.git("commit", "-q", "-m", "Safety board: step 3 is obsolete, call +1-555-0100")
    pr.write(ABS, original)
    pr.commit("restore")  # the PR's diff leaves the chapter unchanged
    assert gate(pr)[0] == 0
    clone = merged_clone(pr, tmp_path)
    assert bok_in(clone, "build").exit_code == 0
    html = (clone / "site/brakes/abs/index.html").read_text(encoding="utf-8")
    assert "call +1-555-0100" not in html
