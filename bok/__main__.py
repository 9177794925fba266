"""``python -m bok``: Python puts the current folder first on ``sys.path``, so a book's own
``nh3.py`` (any module bok imports) would run; bok's package is found already, so drop it."""

import os
import sys

if not getattr(sys.flags, "safe_path", False) and sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from .cli import main  # noqa: E402 (after sys.path is fixed)

main()
