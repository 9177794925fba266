"""Rules on file names and on the set of a book's paths, decided from path listings alone.

Some problems are in no one file but between files: two names that differ only by letter case
collide on macOS and Windows checkouts, and two pages that the site writes to one URL overwrite
each other. No file needs to be read to find them, so the gate can judge the whole tree a change
produces (``bok check`` on main would) at the cost of listing its paths.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from .errors import Finding

#: MkDocs writes ``x/index.md`` and ``x/README.md`` to the URL of ``x.md``.
_INDEX_NAMES = ("index", "README")


def shown(path: str) -> str:
    """A path as it can be printed: bytes that are not UTF-8 as ``\\xNN``.

    Names read from disk or from Git keep such bytes as lone surrogates (surrogateescape);
    printing one raises UnicodeEncodeError.
    """
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def name_problem(path: str) -> Finding | None:
    """A file name that is not UTF-8 cannot be signed, published or reported faithfully."""
    if shown(path) == path:
        return None
    return Finding(shown(path), "file-name-encoding", "the file name is not valid UTF-8",
                   fix="Rename the file with a UTF-8 name (git mv OLD NEW).")


def case_clashes(paths: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs (first, later) of paths, in the order given, that differ only by letter case."""
    seen: dict[str, str] = {}
    pairs = []
    for path in paths:
        folded = path.casefold()
        if folded in seen:
            pairs.append((seen[folded], path))
        else:
            seen[folded] = path
    return pairs


def case_clash(path: str, pair: tuple[str, str]) -> Finding:
    """The finding on ``path``, one of the ``pair`` (reported on each that is to be fixed)."""
    return Finding(path, "case-clash", f"'{pair[0]}' and '{pair[1]}' differ only by letter case",
                   fix="Rename one; they collide on macOS and Windows checkouts.")


def page_url(path: str) -> str | None:
    """The page a Markdown file under content/ becomes, as MkDocs names it; None for others."""
    if not path.endswith(".md"):
        return None
    stem = path.removesuffix(".md")
    folder, name = posixpath.split(stem)
    return folder if name in _INDEX_NAMES else stem


def url_clashes(paths: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs (first, later) of Markdown files that the site would publish at the same URL."""
    seen: dict[str, str] = {}
    pairs = []
    for path in paths:
        url = page_url(path)
        if url is None:
            continue
        if url in seen:
            pairs.append((seen[url], path))
        else:
            seen[url] = path
    return pairs


def url_clash(path: str, pair: tuple[str, str]) -> Finding:
    return Finding(path, "url-clash", f"'{pair[0]}' and '{pair[1]}' would be published at the "
                   "same address, one page overwriting the other",
                   fix="Rename one (x.md and x/index.md, or x/README.md, share an address).")


def missing_domain_page(folder: str) -> Finding:
    return Finding(f"content/{folder}/index.md", "missing-domain-page",
                   f"domain '{folder}' has no index.md",
                   fix="Add index.md with front matter 'title:' and 'description:'.")


def tree_findings(paths: list[str], added: set[str], removed: set[str]) -> list[Finding]:
    """What the tree ``paths`` breaks because of the paths a change ``added`` or ``removed``.

    The gate lists the whole tree a change produces (cheap) but reports only what the change
    does: a clash already on the base is the base's to fix.
    """
    findings = [case_clash(path, pair) for pair in case_clashes(sorted(paths))
                for path in pair if path in added]
    content = sorted(p for p in paths if p.startswith("content/"))
    findings += [url_clash(path, pair) for pair in url_clashes(content)
                 for path in pair if path in added]
    folders = {p.split("/")[1] for p in content if p.count("/") >= 2}
    for path in sorted(removed):
        parts = path.split("/")
        if len(parts) == 3 and parts[0] == "content" and parts[2] == "index.md" \
                and parts[1] in folders:
            findings.append(missing_domain_page(parts[1]))
    return findings
