"""Time ``bok check`` on hostile chapters: each is refused quickly, or costs little if not.

    python bench/hostile.py            # prints a Markdown table

Makes a throw-away book in a temporary folder (``bok init``), then, for each input, writes one
chapter and runs ``bok check`` as a subprocess, reporting wall time, peak RSS (from ``wait4``)
and the rule that refused the chapter. Two kinds of input:

* the issue's inputs and other shapes Python-Markdown is super-linear on, at and above the
  limits: bok must refuse them (``file-too-large``, ``markdown-too-complex``) in well under
  a second;
* the costliest pages bok still accepts (as many blocks of a dense shape as the
  chapter limit and :mod:`bok.limits` allow): what remains, to be under ~3 s.

Needs Linux or macOS (``os.wait4``) and ``git``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bok import limits

BOK = str(Path(sys.executable).with_name("bok"))
AUTHOR = "b"  # the member "bok init" makes of the Git user below (its e-mail's local part)
LIMIT = limits.Limits.chapter_kb * limits.KB - 512  # room for the front matter


def fill(unit: str, per_block: int = 0) -> str:
    """``unit`` repeated up to the chapter limit; blocks of ``per_block`` units if given."""
    block = unit * per_block + "\n\n" if per_block else unit
    return (block * (LIMIT // len(block) + 1))[:LIMIT]


def largest_passing(unit: str, per_block: int) -> str:
    """The most blocks of ``per_block`` units that bok.limits still passes (a binary search)."""
    block = (unit * per_block).rstrip("\n") + "\n\n"
    low, high = 0, LIMIT // len(block)
    while low < high:
        middle = (low + high + 1) // 2
        if limits.markdown_problems(block * middle + "&amp;\n"):
            high = middle - 1
        else:
            low = middle
    return block * low + "&amp;\n"  # the entity makes the scanner render the page too


REFUSED = {
    "'{=' * n (the issue: cubic regex)": "{=" * 3_500,
    "'<a ' * n, 60 KB (the issue)": "<a " * 20_000,
    "plain Markdown, 5 MB, one &amp; (the issue)": "Plain words.\n" * 400_000 + "&amp;\n",
    "'[' * n": fill("["),
    "'~~~' lines": fill("~~~\n"),
    "'# h' lines in one block": fill("# h\n"),
    "'- a' items": fill("- a\n"),
    "'<![CDATA[>' * n": fill("<![CDATA[>"),
    "'*a* ' in one paragraph": fill("*a* "),
    "'x[^1] ' * n": fill("x[^1] "),
    "'# x &amp;' lines, 60 KB (red-team: repeated heading ids)": "# x &amp;\n" * 6000,
    "'{' + 'a=1 ' * n (red-team)": "{" + "a=1 " * 30_000,
    "'# &amp;amp;amp;lt;/title' lines (red-team)": "# &amp;amp;amp;lt;/title\n" * 20_000,
}
ACCEPTED = {
    "dense code spans, 64 a block": ("`a` ", 64),
    "dense emphasis, 64 a block": ("*a* ", 64),
    "links, 64 a block": ("[a](b) ", 64),
    "raw <a> tags, 64 a block": ("<a>", 64),
    "list items, 4 a block": ("- a\n", 4),
    "nested list items, 4 a block": ("- a\n    - b\n", 4),
    "definitions": ("term\n:   def\n\n", 4),
    "admonitions": ("!!! note\n    x\n\n", 4),
    "short paragraphs": ("a\n", 4),
    "fences": ("~~~\n", 4),
    "repeated heading ids, 1 a block": ("# x &amp;\n", 1),
    "'<a' lines, 1 a block": ("<a\n", 1),
}


def run(book: Path, body: str) -> tuple[float, int, str]:
    (book / "content/handbook/big.md").write_text(
        f"---\ntitle: Big\nauthors: [{AUTHOR}]\n---\n{body}", encoding="utf-8")
    started = time.perf_counter()
    process = subprocess.Popen([BOK, "-C", str(book), "check", "--format", "json"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = process.stdout.read() if process.stdout else b""
    _, _, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    rss = usage.ru_maxrss // 1024 if sys.platform != "darwin" else usage.ru_maxrss // 2**20
    rules = sorted({f["rule"] for f in json.loads(out)["findings"]
                    if f["path"].endswith("big.md") and f["severity"] == "error"})
    return elapsed, rss, ", ".join(rules) or "(accepted)"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        book = Path(folder)
        env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@e.invalid",
               "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@e.invalid"}
        subprocess.run(["git", "init", "-q", str(book)], check=True, env=env)
        subprocess.run(["git", "-C", str(book), "config", "user.name", "bench"], check=True)
        subprocess.run(["git", "-C", str(book), "config", "user.email", "b@e.invalid"],
                       check=True)
        subprocess.run([BOK, "init", str(book)], check=True, capture_output=True, env=env)
        print(f"chapter limit {limits.Limits.chapter_kb} KB; bok check on one chapter\n")
        print("| input | size | wall | peak RSS | verdict |\n|---|---:|---:|---:|---|")
        cases = [(name, body) for name, body in REFUSED.items()]
        cases += [(f"accepted: {name}", largest_passing(*shape)) for name, shape in
                  ACCEPTED.items()]
        for name, body in cases:
            elapsed, rss, verdict = run(book, body)
            size = len(body.encode()) // limits.KB
            print(f"| {name} | {size} KB | {elapsed:.2f} s | {rss} MB | {verdict} |",
                  flush=True)


if __name__ == "__main__":
    main()
