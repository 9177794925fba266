#!/usr/bin/env python3
"""The floor for ``bok check``: one ``git log --name-status`` over the book, and every file of
``content/`` and ``reviews/`` read once. Nothing is parsed or verified.

    python bench/floor.py /tmp/bok-bench/1000/book

Prints JSON with the two parts' durations (in-process, without interpreter start-up).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main(root: str) -> None:
    t0 = time.perf_counter()
    log = subprocess.run(
        ["git", "-C", root, "log", "-M", "--name-status", "-z", "--date-order",
         "--format=%x1e%H%x00%h%x00%aI%x00%aN%x00%aE%x00%s", "HEAD", "--", "content", "reviews"],
        capture_output=True, check=True).stdout
    t1 = time.perf_counter()
    files = size = 0
    for top in ("content", "reviews"):
        for folder, _dirs, names in os.walk(os.path.join(root, top)):
            for name in names:
                with open(os.path.join(folder, name), "rb") as fh:
                    size += len(fh.read())
                files += 1
    t2 = time.perf_counter()
    print(json.dumps({"git_log_s": round(t1 - t0, 4), "git_log_bytes": len(log),
                      "read_s": round(t2 - t1, 4), "files": files, "bytes": size}))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
