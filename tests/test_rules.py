"""Every rule a finding names is catalogued in bok.rules, documented in the handbook's
troubleshooting chapter, and raised somewhere in the package users install."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from bok.errors import Finding
from bok.rules import FAMILIES, RULES, known

TROUBLESHOOTING = Path(__file__).resolve().parent.parent / "content/authoring/troubleshooting.md"


def _installed_source() -> str:
    return "\n".join(f.read_text(encoding="utf-8") for f in resources.files("bok").iterdir()
                     if f.name.endswith(".py") and f.name != "rules.py")


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_rule_is_documented_in_troubleshooting(rule):
    assert re.search(rf"^\| `{re.escape(rule)}` \|", TROUBLESHOOTING.read_text(encoding="utf-8"),
                     re.M), f"add a row for `{rule}` to {TROUBLESHOOTING.name}"


@pytest.mark.parametrize("prefix", sorted(FAMILIES))
def test_every_family_is_documented(prefix):
    assert f"| `{prefix}<key>` |" in TROUBLESHOOTING.read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_catalogued_rule_is_raised_by_the_package(rule):
    assert f'"{rule}"' in _installed_source(), f"'{rule}' is catalogued but never raised"


def test_a_finding_with_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown rule 'no-such-rule'"):
        Finding("content/x.md", "no-such-rule", "message")
    assert known("missing-title") and known("invalid-authors") and not known("missing-")
