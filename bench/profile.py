#!/usr/bin/env python3
"""Profile ``bok build`` and ``bok check`` on a generated book; list the hotspots in bok's code.

    python bench/profile.py --chapters 1000 [--what build,check] [--pyinstrument]
        [--out bench/profile-1000.md]

Runs ``python -m cProfile -m bok ...`` as a subprocess on the book bench/generate.py made in
/tmp/bok-bench/<N>/book (generate it first, or run bench/run.py), then prints, per command:
the wall time, the top functions of bok's own code by self time and by cumulative time, and the
top functions overall by self time. With --pyinstrument, also saves pyinstrument's text tree
next to the report (pip install pyinstrument).
"""

from __future__ import annotations

import argparse
import io
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BOK_DIR = str(HERE.parent / "bok") + os.sep
TODAY = "2025-07-01"


def label(func: tuple) -> str:
    filename, line, name = func
    if filename.startswith(BOK_DIR):
        filename = "bok/" + filename[len(BOK_DIR):]
    elif "site-packages" in filename:
        filename = filename.split("site-packages" + os.sep, 1)[1]
    return f"{filename}:{line}({name})"


def table(stats: pstats.Stats, key: str, only_bok: bool, limit: int) -> list[str]:
    rows = []
    index = 3 if key == "cumulative" else 2
    items = sorted(stats.stats.items(), key=lambda kv: kv[1][index], reverse=True)
    for func, (_cc, nc, tt, ct, _callers) in items:
        if only_bok and not func[0].startswith(BOK_DIR):
            continue
        rows.append(f"| {label(func)} | {nc} | {tt:.2f} | {ct:.2f} |")
        if len(rows) >= limit:
            break
    return ["| function | calls | self s | cumulative s |", "|---|---:|---:|---:|", *rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", type=int, default=1000)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--what", default="build,check")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = (args.work or Path(f"/tmp/bok-bench/{args.chapters}")).resolve()
    book = work / "book"
    if not (book / ".git").exists():
        raise SystemExit(f"no book in {book}: run bench/generate.py --chapters {args.chapters}")
    env = dict(os.environ, BOK_TODAY=TODAY, TZ="UTC")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    commands = {
        "build": ["-C", str(book), "build", "--site-dir", str(work / "sites" / "profile")],
        "check": ["-C", str(book), "check"],
        "check-base": ["-C", str(work / "book-pr"), "check", "--base", "main"],
    }
    out = [f"# Profile of bok at {args.chapters} chapters", ""]
    for what in [w.strip() for w in args.what.split(",") if w.strip()]:
        prof = work / f"profile-{what}.prof"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "bok",
                        *commands[what]], env=env, check=False, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        stats = pstats.Stats(str(prof), stream=io.StringIO())
        out += [f"## `bok {' '.join(commands[what][2:])}`", "",
                f"Wall time under cProfile: {wall:.1f} s (profiling overhead included); "
                f"total profiled time {stats.total_tt:.1f} s.", "",
                "### bok's own functions by self time", "",
                *table(stats, "tottime", True, args.limit), "",
                "### bok's own functions by cumulative time", "",
                *table(stats, "cumulative", True, args.limit), "",
                "### All functions by self time", "",
                *table(stats, "tottime", False, args.limit), ""]
        if args.pyinstrument:
            tree = work / f"pyinstrument-{what}.txt"
            subprocess.run([sys.executable, "-m", "pyinstrument", "-r", "text", "-o", str(tree),
                            "-m", "bok", *commands[what]], env=env, check=False,
                           stdout=subprocess.DEVNULL)
            out += [f"pyinstrument tree: {tree}", ""]
    report = "\n".join(out)
    print(report)
    if args.out:
        args.out.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
