"""The documentation covers what the code does: every command is in the README and the
handbook, and every chapter of the handbook is endorsed (so its site shows all of it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bok.cli import cli

PROJECT = Path(__file__).resolve().parent.parent
COMMANDS = sorted(cli.commands)


def handbook_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8")
                     for p in sorted((PROJECT / "content").rglob("*.md")))


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented(command):
    assert f"bok {command}" in (PROJECT / "README.md").read_text(encoding="utf-8")
    assert f"bok {command}" in handbook_text()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_the_handbook_passes_its_own_gate():
    result = CliRunner().invoke(cli, ["-C", str(PROJECT), "check", "--format", "json"],
                                env={"BOK_TODAY": None})
    data = json.loads(result.output)
    assert data["ok"], data["findings"]
    assert len(data["chapters"]) >= 8
    assert {c["domain"] for c in data["chapters"]} >= {"authoring", "reviewing", "publishing",
                                                      "stewarding"}
    assert all(c["state"] in ("endorsed", "expired") for c in data["chapters"]), [
        (c["path"], c["state"]) for c in data["chapters"]]
