#!/usr/bin/env python3
"""Benchmark bok's rebuilds: a cold and a warm ``bok build``, and a ``bok serve`` preview.

    python bench/rebuild.py --chapters 1000 [--repeat 3] [--serve-edits 5] [--out FILE.md]

On the book bench/generate.py makes (``/tmp/bok-bench/<N>/book``, generated if missing):

* cold build: ``bok build`` with no ``.bok/cache/`` and no staged folder;
* warm build: ``bok build`` again after one chapter's text changed (a sentence appended,
  so the chapter is no longer endorsed: its page shows the endorsed revision, its domain page
  changes), with the cache the previous build left; the chapter is restored afterwards;
* serve: ``bok serve`` is started, and after its first build one chapter is edited (a unique
  word appended, in a drafts preview so the edit is shown); the time from the file write until
  the served chapter page has the word (polling its URL every 20 ms), and until the preview
  settles (no rebuild for 3 s; rebuilds per edit are counted from the server's log).

CPU time and peak RSS of builds come from ``wait4`` (the process tree's CPU, the largest
process's RSS); of ``bok serve``, from /proc (its own VmHWM). Runs alternate cold and warm so
that noise on a shared machine hits both. Needs Linux (``os.wait4``, /proc) and git.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
TODAY = "2025-07-01"  # matches bench/generate.py


def book_for(chapters: int, work: Path | None, regenerate: bool) -> Path:
    work = (work or Path(f"/tmp/bok-bench/{chapters}")).resolve()
    book = work / "book"
    meta = work / "book.json"
    if regenerate or not meta.is_file() or not (book / ".git").exists():
        sys.path.insert(0, str(HERE))
        import generate  # noqa: E402 - bench/ is on sys.path
        print(f"generating a book of {chapters} chapters in {book} ...", file=sys.stderr)
        generate.generate(book, chapters, generate.default_domains(chapters), 50, 1,
                          verbose=False)
    return book


def a_chapter(book: Path) -> Path:
    """The chapter that is edited: the first one of the second domain (deterministic)."""
    domains = sorted(p for p in (book / "content").iterdir() if p.is_dir())
    return sorted(p for p in domains[min(1, len(domains) - 1)].glob("*.md")
                  if p.name != "index.md")[0]


def environment() -> tuple[Path, dict]:
    """The folder of this interpreter's scripts (bok, mkdocs) and the environment every
    measured command runs in (the generated book's day, UTC)."""
    bindir = Path(sys.executable).parent
    env = dict(os.environ, BOK_TODAY=TODAY, TZ="UTC", PYTHONDONTWRITEBYTECODE="1")
    env["PATH"] = str(bindir) + os.pathsep + env.get("PATH", "")
    return bindir, env


def publish(text: str, data: object, out: Path | None) -> None:
    """Print the report; with ``out``, write it there and its raw numbers beside it."""
    print(text)
    if out:
        out.write_text(text)
        out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")


def timed(cmd: list[str], env: dict, cwd: Path) -> dict:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({rc}):\n{output[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_mb": usage.ru_maxrss / 1024}


def builds(book: Path, env: dict, bok: str, repeat: int) -> dict:
    site = book.parent / "site-rebuild"
    chapter = a_chapter(book)
    original = chapter.read_bytes()
    cmd = [bok, "-C", str(book), "build", "--site-dir", str(site)]
    cold, warm = [], []
    try:
        for _ in range(repeat):
            shutil.rmtree(book / ".bok", ignore_errors=True)
            chapter.write_bytes(original)
            cold.append(timed(cmd, env, book))
            chapter.write_bytes(original + f"\nA sentence added at {time.time()}.\n".encode())
            warm.append(timed(cmd, env, book))
    finally:
        chapter.write_bytes(original)
    out = {}
    for name, runs in (("cold", cold), ("warm", warm)):
        out[name] = {k: statistics.median(r[k] for r in runs) for k in ("wall", "cpu", "rss_mb")}
        out[name]["runs"] = runs
    out["ratio_wall"] = out["cold"]["wall"] / out["warm"]["wall"]
    out["ratio_cpu"] = out["cold"]["cpu"] / out["warm"]["cpu"]
    return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode(errors="replace")
    except OSError:
        return None


def _hwm_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(found.group(1)) / 1024 if found else 0.0


def serve(book: Path, env: dict, bok: str, edits: int, settle: float = 3.0) -> dict:
    chapter = a_chapter(book)
    original = chapter.read_bytes()
    rel = chapter.relative_to(book / "content").with_suffix("")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/{rel.as_posix()}/"
    log_path = book.parent / "serve.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([bok, "-C", str(book), "serve", "--drafts", "-a", f"127.0.0.1:{port}"],
                            cwd=book, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    shown, settled, rebuilds = [], [], []
    try:
        start = time.perf_counter()
        while _get(url) is None:
            if proc.poll() is not None:
                raise SystemExit(f"bok serve stopped:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        first_build = time.perf_counter() - start
        _wait_quiet(log_path, settle)
        for n in range(edits):
            word = f"zqxmarker{n}x{int(time.time())}"
            before = _builds(log_path)
            t0 = time.perf_counter()
            chapter.write_bytes(original + f"\nThe word {word} was added.\n".encode())
            while word not in (_get(url) or ""):
                if time.perf_counter() - t0 > 600:
                    raise SystemExit("the edit never showed")
                time.sleep(0.02)
            shown.append(time.perf_counter() - t0)
            quiet_at = _wait_quiet(log_path, settle)
            settled.append(quiet_at - t0)
            rebuilds.append(_builds(log_path) - before)
        hwm = _hwm_mb(proc.pid)
    finally:
        chapter.write_bytes(original)
        proc.send_signal(2)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return {"first_build": first_build, "shown": shown, "settled": settled,
            "rebuilds": rebuilds, "shown_median": statistics.median(shown),
            "settled_median": statistics.median(settled), "rss_mb": hwm}


def _builds(log_path: Path) -> int:
    return log_path.read_text(errors="replace").count("Documentation built in")


def _wait_quiet(log_path: Path, quiet: float) -> float:
    """Wait until the log has not grown for ``quiet`` seconds; return when it last grew."""
    size, changed = -1, time.perf_counter()
    while True:
        now = log_path.stat().st_size
        if now != size:
            size, changed = now, time.perf_counter()
        elif time.perf_counter() - changed > quiet:
            return changed
        time.sleep(0.05)


def report(chapters: int, result: dict, cmdline: str) -> str:
    lines = [f"# bok rebuilds: {chapters} chapters", "", f"Command: `{cmdline}`", ""]
    if "builds" in result:
        b = result["builds"]
        lines += ["| build | runs | median wall s | median CPU s | peak RSS MB |",
                  "|---|---:|---:|---:|---:|"]
        for name, label in (("cold", "cold (no .bok/)"),
                            ("warm", "warm, one chapter changed")):
            r = b[name]
            lines.append(f"| {label} | {len(r['runs'])} | {r['wall']:.2f} | {r['cpu']:.2f} | "
                         f"{r['rss_mb']:.0f} |")
        lines += ["", f"Warm vs cold: {b['ratio_wall']:.1f}x faster (wall), "
                      f"{b['ratio_cpu']:.1f}x (CPU); target >= 5x: "
                      f"{'met' if b['ratio_wall'] >= 5 else 'not met'}.", ""]
    if "serve" in result:
        s = result["serve"]
        lines += [f"`bok serve --drafts`: first build {s['first_build']:.1f} s; after a "
                  f"one-chapter edit, the new page served in {s['shown_median']:.2f} s "
                  f"(median of {len(s['shown'])}: "
                  + ", ".join(f"{x:.2f}" for x in s["shown"])
                  + f"), the preview settled (last rebuild) {s['settled_median']:.2f} s after "
                  f"the write; rebuilds per edit: {s['rebuilds']}; peak RSS "
                  f"{s['rss_mb']:.0f} MB. Target < 2 s: "
                  f"{'met' if s['shown_median'] < 2 else 'not met'}.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", type=int, default=1000)
    parser.add_argument("--work", type=Path, help="default: /tmp/bok-bench/<chapters>")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="cold/warm build pairs")
    parser.add_argument("--serve-edits", type=int, default=5, help="0 skips bok serve")
    parser.add_argument("--no-builds", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the report here (and .json)")
    args = parser.parse_args()
    book = book_for(args.chapters, args.work, args.regenerate)
    bindir, env = environment()
    bok = str(bindir / "bok")
    result: dict = {}
    if not args.no_builds and args.repeat:
        result["builds"] = builds(book, env, bok, args.repeat)
    if args.serve_edits:
        result["serve"] = serve(book, env, bok, args.serve_edits)
    cmdline = "python bench/rebuild.py " + " ".join(sys.argv[1:])
    publish(report(args.chapters, result, cmdline), result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
