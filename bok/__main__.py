"""``python -m bok``: the same command as the ``bok`` script."""

import os
import sys

# "python -m" puts the working directory first on sys.path, so a book's own nh3.py or
# markdown.py would be imported in place of the library: a pull request could run code in the
# publish job. bok itself is imported already; the book's folder is taken off the path.
if sys.path and sys.path[0] in ("", os.getcwd()):
    sys.path.pop(0)

from bok.cli import main  # noqa: E402 (after the path is cleaned)

main()
