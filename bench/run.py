#!/usr/bin/env python3
"""Benchmark ``bok build`` / ``bok check`` against plain MkDocs-Material and the Git plugins.

    python bench/run.py --chapters 300 --repeat 3 [--skip-git-plugins] [--out bench/results-300.md]

Generates (or reuses) a synthetic book with bench/generate.py, then runs every configuration as
a subprocess, side by side: one counting run per configuration first (a wrapper ``git`` first
on PATH logs every Git process; it doubles as the warm-up and is not timed unless a
configuration has no timed runs), then ``--repeat`` timed rounds, configurations interleaved
round-robin so that noise from a shared machine spreads over all of them. Prints a Markdown
report: median, min-max and ratios of wall time, CPU time, peak RSS (``wait4`` rusage of the
process tree), Git processes, site size per chapter page, and the bytes a reader's browser
fetches for a first search, measured in a headless Chromium (``--browser``, on by default when
Playwright and Chromium are installed) along with how long that first search takes; then the
targets, met or not.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
TODAY = "2025-07-01"  # matches bench/generate.py
from generate import HEAD, MARKDOWN_EXTENSIONS  # noqa: E402 - bench/ is on sys.path

PLAIN_PRUNE = HEAD + "  features:\n    - navigation.prune\nplugins:\n  - search\n" + \
    MARKDOWN_EXTENSIONS
PLAIN = HEAD + "plugins:\n  - search\n" + MARKDOWN_EXTENSIONS
GIT_PLUGINS = HEAD + ("  features:\n    - navigation.prune\nplugins:\n  - search\n"
                      "  - git-revision-date-localized\n  - git-authors\n") + MARKDOWN_EXTENSIONS


@dataclass
class Config:
    key: str
    label: str
    kind: str  # build | check | floor
    slow: bool = False  # repeats follow --slow-repeat


CONFIGS = [
    Config("bok-build", "`bok build`", "build"),
    Config("plain-prune", "mkdocs-material + navigation.prune (no bok)", "build"),
    Config("plain", "mkdocs-material, no prune (no bok)", "build", slow=True),
    Config("git-plugins", "material + prune + git-revision-date-localized + git-authors",
           "build", slow=True),
    Config("check", "`bok check` (whole book)", "check"),
    Config("check-base", "`bok check --base main` (3-chapter PR)", "check"),
    Config("floor", "floor: `git log --name-status` + read every file once", "floor"),
]
BY_KEY = {c.key: c for c in CONFIGS}


@dataclass
class Run:
    wall: float
    cpu: float
    maxrss_kb: int
    rc: int
    counted: bool
    stdout: str = ""
    git: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------


def real_git() -> str:
    found = shutil.which("git")
    if not found:
        raise SystemExit("git not found")
    return os.path.realpath(found)


def make_git_wrapper(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "git"
    wrapper.write_text(
        "#!/bin/sh\n"
        "printf '%s\\n' \"$*\" >> \"$BOK_BENCH_GIT_LOG\"\n"
        f"exec {shlex.quote(real_git())} \"$@\"\n")
    wrapper.chmod(0o755)
    return folder


def git_subcommand(line: str) -> str:
    words = line.split()
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("-c", "-C", "--git-dir", "--work-tree", "--namespace"):
            i += 2
            continue
        if w.startswith("-"):
            i += 1
            continue
        return w
    return "?"


def command_for(cfg: Config, book: Path, pr: Path, sites: Path, bindir: Path) -> tuple[list, Path]:
    site = sites / cfg.key
    py = sys.executable
    if cfg.key == "bok-build":
        return [str(bindir / "bok"), "-C", str(book), "build", "--site-dir", str(site)], book
    if cfg.key in ("plain-prune", "plain", "git-plugins"):
        return [str(bindir / "mkdocs"), "build", "-q", "-f", str(book / f"bench-{cfg.key}.yml"),
                "-d", str(site)], book
    if cfg.key == "check":
        return [str(bindir / "bok"), "-C", str(book), "check"], book
    if cfg.key == "check-base":
        return [str(bindir / "bok"), "-C", str(pr), "check", "--base", "main"], pr
    if cfg.key == "floor":
        return [py, str(HERE / "floor.py"), str(book)], book
    raise KeyError(cfg.key)


def run_once(cmd: list[str], cwd: Path, env: dict, log: Path, git_log: Path | None) -> Run:
    env = dict(env)
    if git_log is not None:
        git_log.unlink(missing_ok=True)
        git_log.touch()
        env["BOK_BENCH_GIT_LOG"] = str(git_log)
        env["PATH"] = str(git_log.parent / "gitwrap") + os.pathsep + env["PATH"]
    with open(log, "w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    git = git_log.read_text().splitlines() if git_log is not None else []
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode,
               git_log is not None, text, git)


def tree_bytes(folder: Path) -> tuple[int, int]:
    files = total = 0
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            total += os.path.getsize(os.path.join(dirpath, name))
            files += 1
    return total, files


def gz_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 6))


def site_facts(site: Path, chapter_uris: list[str]) -> dict:
    if not site.is_dir():
        return {}
    total, files = tree_bytes(site)
    pages = [site / uri / "index.html" for uri in chapter_uris]
    present = [p for p in pages if p.is_file()]
    sizes = sorted(p.stat().st_size for p in present)
    facts = {"bytes": total, "files": files, "chapter_pages": len(present),
             "median_chapter_html": statistics.median(sizes) if sizes else 0}
    index = site / "search" / "search_index.json"
    workers = sorted((site / "assets" / "javascripts" / "workers").glob("search.*.min.js"))
    if index.is_file():
        facts["search_index"] = index.stat().st_size
        facts["search_index_gz"] = gz_size(index)
    if workers:
        facts["search_worker"] = sum(w.stat().st_size for w in workers)
        facts["search_worker_gz"] = sum(gz_size(w) for w in workers)
    pagefind = site / "pagefind"
    if pagefind.is_dir():
        facts["pagefind_bytes"] = tree_bytes(pagefind)[0]
    return facts


#: In-page probe: resolves once the search UI shows the answer to ``query``; times from the
#: moment it is installed (just before the query is typed) with performance.now().
_WAIT_FOR_ANSWER = """([kind, query]) => {
  window.__bokSearch = null;
  const t0 = performance.now();
  const done = () => {
    if (kind === "pagefind") {
      const m = document.querySelector(".pagefind-ui__message");
      const text = m ? m.textContent : "";
      return text.includes("for " + query) && !text.includes("Searching");
    }
    const m = document.querySelector(".md-search-result__meta");
    return m && /matching|No matching/.test(m.textContent);
  };
  const tick = () => {
    if (done()) {
      window.__bokSearch = {ms: performance.now() - t0};
    } else {
      requestAnimationFrame(tick);
    }
  };
  tick();
}"""

#: In-page cold search through Pagefind's JS API: load pagefind.js, search, load the data of
#: the first page of results (5, as the UI shows).
_PAGEFIND_API = """async ([bundle, query]) => {
  const t0 = performance.now();
  const pagefind = await import(bundle + "pagefind.js");
  await pagefind.options({baseUrl: "/"});
  const search = await pagefind.search(query);
  const data = await Promise.all(search.results.slice(0, 5).map(r => r.data()));
  return {ms: performance.now() - t0, results: search.results.length, shown: data.length};
}"""


def _median_of(runs: int, measure) -> dict:
    """``runs`` measurements, each in a fresh context: the last one's facts, the median time
    and every time."""
    results = [measure() for _ in range(max(1, runs))]
    times = [r["ms"] for r in results]
    return {**results[-1], "ms": statistics.median(times), "all_ms": times}


def browser_search(site: Path, queries: list[str], runs: int = 5) -> list[dict]:
    """What a reader's browser fetches, and waits, for a first search of each of ``queries``.

    The site is served on 127.0.0.1 (no compression) to a fresh headless Chromium (no cache,
    nothing off the server). Pagefind sites: (1) the engine, cold, through Pagefind's JS API
    from a page that has loaded nothing of it: every byte fetched (entry, pagefind.js, wasm,
    metadata, the index chunks and the fragments of the first 5 results) and the time until
    those results' data is in; (2) the UI: the search page is opened, then the query typed;
    the time until its answer shows (including the UI's debounce), and the UI's own files.
    Each is measured ``runs`` times in fresh contexts; times are medians.
    Material sites: the home page is opened, the query typed into the search box at once, and
    everything the search fetches (index and worker) counted, with the time until the answer
    shows (download and index build included).
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return [{"query": q, "error": "playwright is not installed"} for q in queries]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return [{"query": q, "error": "chromium is not installed"} for q in queries]
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    kind = "pagefind" if (site / "pagefind" / "pagefind-entry.json").is_file() else "material"
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    measured = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            try:
                for query in queries:
                    measured.append(_measure(browser, base, kind, query, runs))
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return measured


def _measure(browser, base: str, kind: str, query: str, runs: int) -> dict:
    out: dict = {"engine": kind, "query": query}
    try:
        if kind == "pagefind":
            out.update(_median_of(runs, lambda: _pagefind_api(browser, base, query)))
            out["ui"] = _median_of(runs, lambda: _typed(browser, base, "search/", kind, query))
        else:
            out.update(_median_of(runs, lambda: _typed(browser, base, "", kind, query)))
    except Exception as exc:  # a measurement, not a test: report and go on
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def _searches(site: dict) -> list[dict]:
    found = site.get("browser_search") or []
    return [found] if isinstance(found, dict) else found


def _context(browser, base: str):
    """A fresh browser context that only reaches the local server, and a list of what it got."""
    context = browser.new_context(service_workers="block")
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base)
                  else route.abort())
    fetched: list[tuple[str, int]] = []

    def got(response) -> None:
        try:
            size = len(response.body())
        except Exception:  # redirects, aborted requests
            size = 0
        fetched.append((response.url[len(base):], size))

    return context, fetched, got


def _pagefind_api(browser, base: str, query: str) -> dict:
    context, fetched, got = _context(browser, base)
    try:
        page = context.new_page()
        page.goto(base + "members/")  # a page that loads nothing of Pagefind
        page.wait_for_load_state("networkidle")
        page.on("response", got)
        result = page.evaluate(_PAGEFIND_API, [base + "pagefind/", query])
        page.wait_for_timeout(200)  # let late responses land in `fetched`
        files = [(url, size) for url, size in fetched if url.startswith("pagefind/")]
        return {"bytes": sum(size for _, size in files), "requests": len(files),
                "files": files, "ms": result["ms"], "results": result["results"]}
    finally:
        context.close()


def _typed(browser, base: str, path: str, kind: str, query: str) -> dict:
    context, fetched, got = _context(browser, base)
    try:
        page = context.new_page()
        page.on("response", got)
        page.goto(base + path, wait_until="domcontentloaded")
        box = ".pagefind-ui__search-input" if kind == "pagefind" else "input.md-search__input"
        if kind == "material":
            page.keyboard.press("/")
        page.wait_for_selector(box)
        page.evaluate(_WAIT_FOR_ANSWER, [kind, query])
        page.fill(box, query)
        if kind == "material":
            page.press(box, "End")  # Material reads the query on keyup
        page.wait_for_function("window.__bokSearch !== null", timeout=120_000)
        ms = page.evaluate("window.__bokSearch.ms")
        page.wait_for_load_state("networkidle")
        if kind == "pagefind":
            ui = [(u, n) for u, n in fetched if u.startswith("pagefind/pagefind-ui")]
            engine = [(u, n) for u, n in fetched
                      if u.startswith("pagefind/") and not u.startswith("pagefind/pagefind-ui")]
            return {"ms": ms, "ui_bytes": sum(n for _, n in ui),
                    "engine_bytes": sum(n for _, n in engine)}
        search = [(u, n) for u, n in fetched if "search" in u.split("?")[0]]
        return {"ms": ms, "bytes": sum(n for _, n in search), "requests": len(search),
                "files": search}
    finally:
        context.close()


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("bok", "mkdocs", "mkdocs-material", "mkdocs-git-revision-date-localized-plugin",
                 "mkdocs-git-authors-plugin", "Markdown", "pymdown-extensions", "cryptography",
                 "pagefind", "playwright"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    git = subprocess.run([real_git(), "--version"], capture_output=True, text=True).stdout
    out["git"] = git.strip().removeprefix("git version ")
    env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")
    rev = subprocess.run([real_git(), "-C", str(PROJECT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, env=env).stdout.strip()
    dirty = subprocess.run([real_git(), "-C", str(PROJECT), "status", "--porcelain",
                            "--untracked-files=no"], capture_output=True, text=True,
                           env=env).stdout.strip()
    if rev:
        out["bok"] += f" (commit {rev}{', with uncommitted changes' if dirty else ''})"
    out["machine"] = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    return out


def fmt_s(x: float) -> str:
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def fmt_kb(n: float) -> str:
    return f"{n / 1024:.1f}"


# --------------------------------------------------------------------------------------------


def ensure_book(args, work: Path) -> dict:
    book = work / "book"
    meta_file = work / "book.json"
    if args.regenerate or not meta_file.is_file() or not (book / ".git").exists():
        sys.path.insert(0, str(HERE))
        import generate  # noqa: E402
        print(f"generating a book of {args.chapters} chapters in {book} ...", file=sys.stderr)
        generate.generate(book, args.chapters,
                          args.domains or generate.default_domains(args.chapters),
                          args.members, args.seed, verbose=False)
    meta = json.loads(meta_file.read_text())
    if meta["chapters"] != args.chapters or meta["seed"] != args.seed:
        raise SystemExit(f"{book} holds another book; pass --regenerate")
    n = args.chapters
    for key, text in (("plain-prune", PLAIN_PRUNE), ("plain", PLAIN),
                      ("git-plugins", GIT_PLUGINS)):
        (book / f"bench-{key}.yml").write_text(text.format(n=n, docs_dir="content"))
    # bench-*.yml are not part of the book; keep `git status` clean for the git plugins.
    exclude = book / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    if not exclude.exists() or "bench-*.yml" not in exclude.read_text():
        with open(exclude, "a") as fh:
            fh.write("bench-*.yml\n")
    return meta


def chapter_uris(book: Path) -> list[str]:
    uris = []
    for path in sorted((book / "content").glob("*/*.md")):
        if path.name != "index.md":
            uris.append(f"{path.parent.name}/{path.stem}")
    return uris


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", type=int, default=300)
    parser.add_argument("--domains", type=int, help="default: chapters/60, 3..60")
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per configuration")
    parser.add_argument("--slow-repeat", type=int,
                        help="timed runs of the slow configurations (plain without prune, git "
                             "plugins); default --repeat. 0 = only the counting run, timed")
    parser.add_argument("--skip-git-plugins", action="store_true")
    parser.add_argument("--skip", default="",
                        help="comma-separated configurations to leave out: "
                             + ", ".join(c.key for c in CONFIGS))
    parser.add_argument("--work", type=Path, help="default: /tmp/bok-bench/<chapters>")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the report here (Markdown); "
                                                 "raw numbers go next to it as .json")
    parser.add_argument("--search-query", action="append", default=[],
                        help="a query of the first-search measurement, repeatable (default: "
                             "torque, a word in nearly every chapter, and hydraulics, a domain "
                             "and tag in about one chapter in eight)")
    parser.add_argument("--search-only", action="store_true",
                        help="with --report-from: measure the first searches again on the "
                             "sites left in --work, update the .json and render the report")
    parser.add_argument("--search-runs", type=int, default=5,
                        help="first searches measured per site, each cold (default 5)")
    parser.add_argument("--no-browser", action="store_true",
                        help="skip measuring the first search in headless Chromium")
    parser.add_argument("--note", action="append", default=[],
                        help="a line to add to the report's notes")
    parser.add_argument("--report-from", type=Path, metavar="RESULTS.json",
                        help="only render the report again from a saved .json (to --out)")
    args = parser.parse_args(argv)
    queries = args.search_query or ["torque", "hydraulics"]
    if args.report_from and args.search_only:
        raw = json.loads(args.report_from.read_text())
        work = (args.work or Path(f"/tmp/bok-bench/{raw['meta']['chapters']}")).resolve()
        for key, res in raw["results"].items():
            if res.get("site") and key in ("bok-build", "plain-prune"):
                print(f"  {key:12} first search in Chromium ...", file=sys.stderr, flush=True)
                res["site"]["browser_search"] = browser_search(
                    work / "sites" / key, queries,
                    args.search_runs if key == "bok-build" else min(args.search_runs, 3))
        args.report_from.write_text(json.dumps(raw, indent=1, default=str) + "\n")
    if args.report_from:
        report = rerender(args.report_from, args.note)
        print(report)
        if args.out:
            args.out.write_text(report)
        return 0
    slow_repeat = args.repeat if args.slow_repeat is None else args.slow_repeat
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.skip_git_plugins:
        skip.add("git-plugins")
    unknown = skip - set(BY_KEY)
    if unknown:
        parser.error(f"unknown configuration(s): {', '.join(sorted(unknown))}")
    configs = [c for c in CONFIGS if c.key not in skip]

    work = (args.work or Path(f"/tmp/bok-bench/{args.chapters}")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    meta = ensure_book(args, work)
    book, pr = work / "book", Path(meta.get("pr_worktree") or work / "book-pr")
    sites, logs = work / "sites", work / "logs"
    sites.mkdir(exist_ok=True)
    logs.mkdir(exist_ok=True)
    make_git_wrapper(work / "gitwrap")
    bindir = Path(sys.executable).parent
    env = dict(os.environ, BOK_TODAY=TODAY, TZ="UTC", PYTHONDONTWRITEBYTECODE="1")
    env["PATH"] = str(bindir) + os.pathsep + env.get("PATH", "")
    env.pop("GITHUB_STEP_SUMMARY", None)
    uris = chapter_uris(book)
    load_before = os.getloadavg()
    started = time.time()

    runs: dict[str, list[Run]] = {c.key: [] for c in configs}
    plan = [(c, None) for c in configs]  # counting runs
    rounds = max([args.repeat] + ([slow_repeat] if any(c.slow for c in configs) else []))
    for r in range(rounds):
        for c in configs:
            if r < (slow_repeat if c.slow else args.repeat):
                plan.append((c, r))
    for cfg, rep in plan:
        cmd, cwd = command_for(cfg, book, pr, sites, bindir)
        site = sites / cfg.key
        if cfg.kind == "build" and site.exists():
            shutil.rmtree(site)
        if cfg.key == "bok-build":  # cold: no cache of rendered pages or checked signatures
            shutil.rmtree(book / ".bok", ignore_errors=True)
        tag = "count" if rep is None else f"r{rep + 1}"
        git_log = work / f"git-{cfg.key}.log" if rep is None else None
        run = run_once(cmd, cwd, env, logs / f"{cfg.key}-{tag}.log", git_log)
        runs[cfg.key].append(run)
        print(f"  {cfg.key:12} {tag:5} {run.wall:8.2f} s  rss {run.maxrss_kb / 1024:7.0f} MB"
              f"  rc {run.rc}" + (f"  git {len(run.git)}" if rep is None else ""),
              file=sys.stderr, flush=True)
    elapsed = time.time() - started
    load_after = os.getloadavg()

    # ---- facts ---------------------------------------------------------------------------
    results = {}
    for cfg in configs:
        all_runs = runs[cfg.key]
        timed = [r for r in all_runs if not r.counted] or all_runs
        counted = next((r for r in all_runs if r.counted), None)
        walls = [r.wall for r in timed]
        res = {
            "label": cfg.label, "kind": cfg.kind,
            "runs": len(timed), "timed_from_count_run": not any(not r.counted for r in all_runs),
            "walls": walls, "median": statistics.median(walls), "min": min(walls),
            "max": max(walls), "cpu_median": statistics.median(r.cpu for r in timed),
            "maxrss_mb": max(r.maxrss_kb for r in all_runs) / 1024,
            "rc": sorted({r.rc for r in all_runs}),
            "git_processes": len(counted.git) if counted else None,
            "git_by_command": {},
            "last_line": next((ln for ln in reversed(all_runs[-1].stdout.splitlines())
                               if ln.strip()), ""),
        }
        if counted:
            by: dict[str, int] = {}
            for line in counted.git:
                sub = git_subcommand(line)
                by[sub] = by.get(sub, 0) + 1
            res["git_by_command"] = dict(sorted(by.items(), key=lambda kv: -kv[1]))
        if cfg.kind == "build":
            res["site"] = site_facts(sites / cfg.key, uris)
            if not args.no_browser and res["site"] and cfg.key in ("bok-build", "plain-prune"):
                print(f"  {cfg.key:12} first search in Chromium ...", file=sys.stderr,
                      flush=True)
                res["site"]["browser_search"] = browser_search(
                    sites / cfg.key, queries,
                    args.search_runs if cfg.key == "bok-build" else min(args.search_runs, 3))
        if cfg.key == "floor":
            try:
                res["floor_parts"] = json.loads(all_runs[-1].stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                res["floor_parts"] = {}
        results[cfg.key] = res

    vers = versions()
    cmdline = command_line()
    report = render(cmdline, args.note, meta, results, vers, elapsed, load_before, load_after)
    print(report)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
        raw = {"meta": meta, "results": results, "command": cmdline, "versions": vers,
               "notes": args.note, "elapsed_s": elapsed, "load": [load_before, load_after]}
        args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1, default=str) + "\n")
    failed = [k for k, r in results.items() if any(rc != 0 for rc in r["rc"])]
    return 1 if failed else 0


def command_line() -> str:
    return " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])


def _ms(measured: dict) -> str:
    times = measured.get("all_ms") or [measured.get("ms", 0)]
    return f"{measured.get('ms', 0):.0f} ({min(times):.0f}-{max(times):.0f})"


def first_search_section(measured: dict) -> list[str]:
    out = ["### First search", ""]
    out.append("| Configuration | query | engine | KB fetched | requests | results | "
               "first answer ms (min-max) | UI: typed to shown ms (min-max) | UI files KB |")
    out.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r, b in [(res, b) for res in measured.values() for b in _searches(res["site"])]:
        if "error" in b:
            out.append(f"| {r['label']} | {b.get('query', '')} | {b.get('engine', '')} | "
                       f"not measured: {b['error'][:120]} | | | | | |")
            continue
        ui = (b.get("ui") or {}) if b["engine"] == "pagefind" else b
        ui_kb = fmt_kb(ui["ui_bytes"]) if "ui_bytes" in ui else "-"
        out.append(f"| {r['label']} | `{b['query']}` | {b['engine']} | "
                   f"{fmt_kb(b.get('bytes', 0))} | {b.get('requests', '')} | "
                   f"{b.get('results', '')} | {_ms(b)} | {_ms(ui)} | {ui_kb} |")
    out.append("")
    out.append("Measured in headless Chromium against the site served on 127.0.0.1 without "
               "compression, fresh context, no cache; times are medians of `--search-runs` "
               "measurements (3 for Material). Pagefind: *KB fetched* and *first answer* "
               "are a cold search through Pagefind's JS API from a page that loaded nothing of "
               "it (pagefind.js, entry, wasm, metadata, index chunks, and the fragments of the "
               "first 5 results, as the UI shows them); *UI: typed to shown* opens the search "
               "page and types the query, until the UI shows the answer (its debounce "
               "included); the UI's own script and stylesheet load once, on the search page. "
               "Material: the home page is opened and the query typed at once; *KB fetched* is "
               "the index and the worker, *first answer* the time until the answer shows "
               "(download and index build included).")
    out.append("")
    details = [(r["label"], b) for r in measured.values() for b in _searches(r["site"])]
    for label, b in details:
        files = b.get("files") or []
        if files and b.get("engine") == "pagefind":
            kinds: dict[str, list[int]] = {}
            for url, size in files:
                name = url.split("?")[0].rsplit("/", 1)[-1]
                key = ("index chunks" if name.endswith(".pf_index") else
                       "fragments" if name.endswith(".pf_fragment") else
                       "filters" if name.endswith(".pf_filter") else
                       "metadata" if name.endswith(".pf_meta") else
                       "wasm" if name.startswith("wasm.") else name)
                kinds.setdefault(key, []).append(size)
            out.append(f"{label}, first search of `{b['query']}` by file: " + ", ".join(
                f"{k} {fmt_kb(sum(v))} KB" + (f" ({len(v)})" if len(v) > 1 else "")
                for k, v in kinds.items()) + ".")
            out.append("")
    return out


def rerender(raw_file: Path, notes: list[str]) -> str:
    """The report again from a saved .json (e.g. after changing how it is rendered)."""
    raw = json.loads(raw_file.read_text())
    return render(raw["command"], raw.get("notes", []) + notes, raw["meta"], raw["results"],
                  raw.get("versions") or versions(), raw["elapsed_s"], *raw["load"])


def render(cmdline, notes, meta, results, vers, elapsed, load_before, load_after) -> str:
    n = meta["chapters"]
    out = [f"# bok benchmark: {n} chapters", ""]
    out.append(f"Command: `{cmdline}`")
    out.append("")
    out.append(f"Book: {n} chapters in {meta['domains']} domains, {meta['members']} members, "
               f"{meta.get('commits_on_main', '?')} commits on main ({meta.get('renames', '?')} "
               f"renames), {meta['records']} signed records; seed {meta['seed']}; "
               f"BOK_TODAY={TODAY}. Generated in {meta.get('seconds', '?')} s.")
    out.append(f"Wall time of this run: {elapsed / 60:.1f} min; load average "
               f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (shared machine).")
    out.append("")
    out.append("| Version | |")
    out.append("|---|---|")
    for k, v in vers.items():
        out.append(f"| {k} | {v} |")
    out.append("")

    bok = results.get("bok-build")
    prune = results.get("plain-prune")
    out.append("## Times")
    out.append("")
    out.append("| Configuration | timed runs | median s | min-max s | CPU s (median) | "
               "vs `bok build` | peak RSS MB | Git processes | exit |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for key, r in results.items():
        runs = f"{r['runs']}" + (" (counting run)" if r["timed_from_count_run"] else "")
        ratio = ""
        if bok and r["kind"] == "build":
            ratio = f"{r['median'] / bok['median']:.2f}x"
        if key == "check" and "floor" in results:
            ratio = f"{r['median'] / results['floor']['median']:.2f}x floor"
        out.append(f"| {r['label']} | {runs} | {fmt_s(r['median'])} | {fmt_s(r['min'])}-"
                   f"{fmt_s(r['max'])} | {fmt_s(r['cpu_median'])} | {ratio} | "
                   f"{r['maxrss_mb']:.0f} | {r['git_processes']} | "
                   f"{','.join(map(str, r['rc']))} |")
    out.append("")
    out.append("Ratios are median wall times; \"vs `bok build`\" above 1 means slower than bok. "
               "Git processes are counted in the untimed first run through a wrapper `git` "
               "first on PATH. Peak RSS is the largest process of the tree (`wait4` rusage).")
    out.append("")
    gits = {k: r["git_by_command"] for k, r in results.items() if r["git_by_command"]}
    if gits:
        out.append("Git processes by subcommand: " + "; ".join(
            f"{k}: " + ", ".join(f"{sub} {cnt}" for sub, cnt in v.items())
            for k, v in gits.items()))
        out.append("")
    floor = results.get("floor")
    if floor and floor.get("floor_parts"):
        fp = floor["floor_parts"]
        out.append(f"Floor parts (in-process, last run): `git log -M --name-status` "
                   f"{fp.get('git_log_s')} s ({fp.get('git_log_bytes', 0) / 1e6:.1f} MB of "
                   f"output), reading {fp.get('files')} files ({fp.get('bytes', 0) / 1e6:.1f} MB)"
                   f" {fp.get('read_s')} s; the rest of the floor's wall time is Python start-up.")
        out.append("")
    for key in ("check", "check-base"):
        if key in results:
            out.append(f"`{key}` said: `{results[key]['last_line']}`")
    out.append("")

    builds = {k: r for k, r in results.items() if r.get("site")}
    if builds:
        out.append("## Sites")
        out.append("")
        out.append("| Configuration | site MB | files | chapter pages | site KB / chapter page | "
                   "median chapter HTML KB | search | search files KB | Material index + "
                   "worker KB (gzip) |")
        out.append("|---|---:|---:|---:|---:|---:|---|---:|---:|")
        for r in builds.values():
            s = r["site"]
            search_raw = s.get("search_index", 0) + s.get("search_worker", 0)
            search_gz = s.get("search_index_gz", 0) + s.get("search_worker_gz", 0)
            pages = s.get("chapter_pages") or 1
            material = "search_index" in s  # the worker ships with the theme either way
            engine = "Pagefind" if "pagefind_bytes" in s else "Material" if material else "none"
            files = s.get("pagefind_bytes", search_raw if material else 0)
            material = f"{fmt_kb(search_raw)} ({fmt_kb(search_gz)})" if material else "-"
            out.append(f"| {r['label']} | {s['bytes'] / 1e6:.1f} | {s['files']} | "
                       f"{s['chapter_pages']} | {fmt_kb(s['bytes'] / pages)} | "
                       f"{fmt_kb(s['median_chapter_html'])} | {engine} | {fmt_kb(files)} | "
                       f"{material} |")
        out.append("")
        out.append("Search files = the `pagefind/` folder (all of it, every chunk of the index), "
                   "or Material's `search/search_index.json` + its search worker, raw and gzip -6 "
                   "(what a compressing server sends). Site KB / chapter page = whole site / "
                   "chapter pages.")
        out.append("")
        measured = {k: r for k, r in builds.items() if _searches(r["site"])}
        if measured:
            out += first_search_section(measured)

    out.append("## Targets")
    out.append("")

    def also(a: dict, b: dict) -> str:
        """The same ratio from the fastest runs and from CPU time: less sensitive to noise."""
        return (f"fastest runs {a['min'] / b['min']:.2f}x, CPU time "
                f"{a['cpu_median'] / b['cpu_median']:.2f}x")

    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else ("**met**" if ok else "**not met**")

    if bok and prune:
        ratio = bok["median"] / prune["median"]
        out.append(f"- `bok build` within 1.2x of material + navigation.prune: "
                   f"{verdict(ratio <= 1.2)} ({fmt_s(bok['median'])} s vs "
                   f"{fmt_s(prune['median'])} s = {ratio:.2f}x; {also(bok, prune)})")
    gp = results.get("git-plugins")
    if bok and gp:
        speedup = gp["median"] / bok["median"]
        out.append(f"- `bok build` at least 5x faster than material + git-revision-date-localized"
                   f" + git-authors: {verdict(speedup >= 5)} ({fmt_s(gp['median'])} s vs "
                   f"{fmt_s(bok['median'])} s = {speedup:.1f}x; {also(gp, bok)})")
    if bok:
        out.append(f"- Git processes per `bok build`: {bok['git_processes']} "
                   f"({', '.join(f'{k} {v}' for k, v in bok['git_by_command'].items())}); "
                   "constant if the same at every book size (compare the results files)"
                   + (f"; material + git plugins: {gp['git_processes']}" if gp else ""))
    searches = [b for b in _searches((bok or {}).get("site", {})) if "error" not in b]
    if searches:
        kb = max(b.get("bytes", 0) for b in searches) / 1024
        each = "; ".join(f"`{b['query']}` ({b.get('results', '?')} results) "
                         f"{b.get('bytes', 0) / 1024:.0f} KB, {b['ms']:.0f} ms" for b in searches)
        out.append(f"- A reader's first search under 1 MB at 3,000 chapters: "
                   f"{verdict(kb < 1024)} (at most {kb:.0f} KB at {n} chapters)"
                   + ("" if n == 3000 else " (the target is stated for 3,000 chapters)"))
        slowest = max(b["ms"] for b in searches)
        out.append(f"- First search answers in < 300 ms in a headless browser: "
                   f"{verdict(slowest < 300)} (slowest query {slowest:.0f} ms, cold: downloads "
                   f"included; {each})")
    check, base = results.get("check"), results.get("check-base")
    if check and floor:
        ratio = check["median"] / floor["median"]
        out.append(f"- `bok check` within 5x of the floor: {verdict(ratio <= 5)} "
                   f"({fmt_s(check['median'])} s vs {fmt_s(floor['median'])} s = {ratio:.1f}x; "
                   f"{also(check, floor)})"
                   + ("" if n == 1000 else " (the target is stated for 1,000 chapters)"))
    if base:
        out.append(f"- `bok check --base` on a 3-chapter PR under 1 s: "
                   f"{verdict(base['median'] < 1.0)} ({fmt_s(base['median'])} s)"
                   + ("" if n == 3000 else " (the target is stated for 3,000 chapters)"))
    out.append("")
    notes = list(notes)
    if any(r["timed_from_count_run"] for r in results.values()):
        notes.append("Configurations marked \"(counting run)\" were run once, with the Git "
                     "wrapper on PATH (a `sh` exec per Git process, ~1 ms each).")
    if notes:
        out.append("## Notes")
        out.append("")
        out += [f"- {note}" for note in notes]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
