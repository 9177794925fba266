"""The console examples of README.md and the handbook show what bok prints today: they are
replayed in a real book (tools/console_examples.py) and compared line by line."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent / "tools" / "console_examples.py"


def _tool():
    spec = importlib.util.spec_from_file_location("console_examples", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("console_examples", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_replayed_console_examples_match_what_bok_prints():
    diffs = _tool().drift()
    assert not diffs, ("\n".join(diffs) + "\nRegenerate with: python tools/console_examples.py "
                       "--write")


def test_every_console_block_is_replayed_or_listed_as_pending():
    tool = _tool()
    wrong = {f: counts for f, counts in tool.coverage().items() if counts[0] != sum(counts[1:])}
    assert not wrong, f"file: (blocks, replayed, pending) that do not add up: {wrong}"
    assert tool.coverage()["README.md"] == (6, 6, 0)  # the README is replayed whole


def test_a_drifted_output_is_caught(monkeypatch):
    tool = _tool()
    block = tool.blocks("README.md")[4]
    assert "1 error" in block.text
    edited = tool.Block(block.file, block.index, block.start, block.text.replace("1 error",
                                                                                 "0 errors"))
    real = tool.blocks
    monkeypatch.setattr(tool, "blocks", lambda f: [edited if b.index == 4 and f == "README.md"
                                                   else b for b in real(f)])
    monkeypatch.setattr(tool, "SCENARIOS", {"readme": tool.SCENARIOS["readme"]})
    assert len(tool.drift()) == 1
