#!/usr/bin/env python3
"""Benchmark every engine, plain and with bok, cold and warm, at several book sizes, in one run.

    python bench/speed.py --chapters 300,1000,3000 [--once 10000] [--repeat 2]
                          [--serve-edits 3] [--out bench/results-speed.md]

On the books bench/generate.py makes (``/tmp/bok-bench/<N>/book``, generated if missing), each
round runs, one after another so that a shared machine's noise falls on all of them:

* ``material``: plain ``mkdocs build`` with mkdocs-material, ``navigation.prune`` and Material's
  search, on the same chapters (``docs_dir: content``): what a user without bok runs;
* ``zensical``: plain ``zensical build`` of the same configuration (skipped if Zensical is not
  installed), its cache removed first;
* ``bok``, ``bok-zensical``: a cold ``bok build`` (``--engine mkdocs`` / ``zensical``), with no
  ``.bok/`` and no previous site;
* ``bok-warm``, ``bok-zensical-warm``: ``bok build`` again right after, one chapter's text
  changed (so it is no longer endorsed: its page, its domain page, the health pages and the
  search index change), with the cache and the site the cold build left.

``--serve-edits E`` also measures ``bok serve --drafts`` at each size (``bench/rebuild.py``'s
measurement: from the file write until the served page has the new word). ``--once N`` builds
an N-chapter book once per configuration (no serve), to show how cost grows.

Wall and CPU time and peak RSS (the largest process of the tree, Pagefind's included) come
from ``wait4``. The report gives medians, ratios to plain Material and the issue's targets.
Needs Linux and git.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import time
from importlib.util import find_spec
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import HEAD, MARKDOWN_EXTENSIONS  # noqa: E402 - bench/ is on sys.path
from rebuild import a_chapter, book_for, environment, publish, serve, timed  # noqa: E402

PLAIN = (HEAD.replace("docs_dir: {docs_dir}", "docs_dir: content\nsite_dir: site-zensical")
         + "  features:\n    - navigation.prune\nplugins:\n  - search\n" + MARKDOWN_EXTENSIONS)
ROWS = {
    "material": "mkdocs-material + navigation.prune (no bok)",
    "zensical": "Zensical (no bok)",
    "bok": "`bok build` (MkDocs + Material), cold",
    "bok-warm": "`bok build` (MkDocs + Material), warm, one chapter changed",
    "bok-zensical": "`bok build --engine zensical`, cold",
    "bok-zensical-warm": "`bok build --engine zensical`, warm, one chapter changed",
}


def plain_config(book: Path, chapters: int) -> Path:
    path = book / "bench-plain.yml"
    path.write_text(PLAIN.format(n=chapters))
    return path


def one_round(book: Path, chapters: int, env: dict, bindir: Path, zensical: bool) -> dict:
    """One run of every configuration on ``book``; the edited chapter is restored after."""
    out: dict = {}
    config = plain_config(book, chapters)
    material_site = book.parent / "site-material"
    shutil.rmtree(material_site, ignore_errors=True)
    out["material"] = timed([str(bindir / "mkdocs"), "build", "-q", "-f", str(config),
                             "-d", str(material_site)], env, book)
    if zensical:  # its site_dir is the configuration's (inside the book), its cache too
        for leftover in (book / "site-zensical", book / ".cache"):
            shutil.rmtree(leftover, ignore_errors=True)
        out["zensical"] = timed([sys.executable, "-m", "zensical", "build", "-f", str(config)],
                                env, book)
        shutil.rmtree(book / "site-zensical", ignore_errors=True)
    chapter = a_chapter(book)
    original = chapter.read_bytes()
    try:
        for engine, key in (("mkdocs", "bok"), ("zensical", "bok-zensical")):
            if engine == "zensical" and not zensical:
                continue
            site = book.parent / f"site-{key}"
            shutil.rmtree(site, ignore_errors=True)
            shutil.rmtree(book / ".bok", ignore_errors=True)
            chapter.write_bytes(original)
            cmd = [str(bindir / "bok"), "-C", str(book), "build", "--engine", engine,
                   "--site-dir", str(site)]
            out[key] = timed(cmd, env, book)
            chapter.write_bytes(original + f"\nA sentence added at {time.time()}.\n".encode())
            out[f"{key}-warm"] = timed(cmd, env, book)
            chapter.write_bytes(original)
    finally:
        chapter.write_bytes(original)
    return out


def summarize(rounds: list[dict]) -> dict:
    found: dict = {}
    for key in ROWS:
        runs = [r[key] for r in rounds if r.get(key)]
        if runs:
            found[key] = {m: statistics.median(r[m] for r in runs) for m in ("wall", "cpu")}
            found[key]["rss_mb"] = max(r["rss_mb"] for r in runs)
            found[key]["runs"] = runs
    return found


def measure(chapters: int, repeat: int, serve_edits: int, env: dict, bindir: Path,
            zensical: bool) -> dict:
    book = book_for(chapters, None, False)
    rounds = []
    for n in range(repeat):
        print(f"{chapters} chapters, round {n + 1} of {repeat} ...", file=sys.stderr,
              flush=True)
        rounds.append(one_round(book, chapters, env, bindir, zensical))
    result = {"chapters": chapters, "rows": summarize(rounds)}
    if serve_edits:
        print(f"{chapters} chapters, bok serve ...", file=sys.stderr, flush=True)
        shutil.rmtree(book / ".bok", ignore_errors=True)
        result["serve"] = serve(book, env, str(bindir / "bok"), serve_edits)
    return result


def report(results: list[dict], cmdline: str, load: tuple, elapsed: float) -> str:
    lines = ["# bok speed: every engine, plain and with bok", "",
             f"Command: `{cmdline}`", "",
             f"Machine: {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs; "
             f"load average {load[0]:.1f} before, {load[1]:.1f} after; {elapsed / 60:.0f} min. "
             "A shared machine: read the ratios, measured side by side in each round.", "",
             "| chapters | configuration | runs | wall s | CPU s | peak RSS MB | wall vs "
             "Material | CPU vs Material |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for result in results:
        rows = result["rows"]
        base = rows.get("material")
        for key, label in ROWS.items():
            if key not in rows:
                continue
            r = rows[key]
            ratio = (f"{r['wall'] / base['wall']:.2f}x | {r['cpu'] / base['cpu']:.2f}x"
                     if base else "- | -")
            lines.append(f"| {result['chapters']:,} | {label} | {len(r['runs'])} | "
                         f"{r['wall']:.2f} | {r['cpu']:.2f} | {r['rss_mb']:.0f} | {ratio} |")
    lines += ["", "| chapters | `bok serve --drafts`: edit to served, s (median) | each | "
              "rebuilds per edit | peak RSS MB |", "|---:|---:|---|---|---:|"]
    for result in results:
        s = result.get("serve")
        if s:
            lines.append(f"| {result['chapters']:,} | {s['shown_median']:.2f} | "
                         + ", ".join(f"{x:.2f}" for x in s["shown"])
                         + f" | {s['rebuilds']} | {s['rss_mb']:.0f} |")
    lines += ["", "## Targets", ""]
    lines += targets(results)
    return "\n".join(lines) + "\n"


def targets(results: list[dict]) -> list[str]:
    by = {r["chapters"]: r for r in results}
    out = []

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    for n in sorted(by):
        rows = by[n]["rows"]
        for cold, warm in (("bok", "bok-warm"), ("bok-zensical", "bok-zensical-warm")):
            if cold in rows and warm in rows:
                ratio = rows[cold]["wall"] / rows[warm]["wall"]
                out.append(f"- {n:,} chapters, {ROWS[warm]}: {ratio:.1f}x faster than cold "
                           f"(wall; CPU {rows[cold]['cpu'] / rows[warm]['cpu']:.1f}x)"
                           + (f"; target >= 5x at 3,000: {verdict(ratio >= 5)}" if n == 3000
                              else ""))
        if "bok" in rows and "material" in rows:
            cpu = rows["bok"]["cpu"] / rows["material"]["cpu"]
            out.append(f"- {n:,} chapters, cold `bok build` CPU vs plain Material: {cpu:.2f}x; "
                       f"target <= 1.0: {verdict(cpu <= 1.0)}")
        if "bok-zensical" in rows and "material" in rows:
            speed = rows["material"]["wall"] / rows["bok-zensical"]["wall"]
            out.append(f"- {n:,} chapters, cold `bok build --engine zensical` vs plain Material:"
                       f" {speed:.2f}x as fast (wall)"
                       + (f"; target >= 2x at 1,000: {verdict(speed >= 2)}" if n == 1000
                          else ""))
        s = by[n].get("serve")
        if s:
            out.append(f"- {n:,} chapters, `bok serve` edit to served: {s['shown_median']:.2f} s"
                       + (f"; target < 2 s at 1,000: {verdict(s['shown_median'] < 2)}"
                          if n == 1000 else ""))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", default="300,1000,3000")
    parser.add_argument("--once", default="", help="sizes built once, without serve")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--serve-edits", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    bindir, env = environment()
    zensical = find_spec("zensical") is not None
    load_before, started = os.getloadavg()[0], time.time()
    results = [measure(int(n), args.repeat, args.serve_edits, env, bindir, zensical)
               for n in args.chapters.split(",") if n]
    results += [measure(int(n), 1, 0, env, bindir, zensical)
                for n in args.once.split(",") if n]
    cmdline = "python bench/speed.py " + " ".join(sys.argv[1:])
    publish(report(results, cmdline, (load_before, os.getloadavg()[0]), time.time() - started),
            results, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
