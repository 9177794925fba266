"""Links between chapters, read from their Markdown: for ``bok check``, before any rendering.

The site turns a link to a chapter it does not publish into plain text with a note (see
:mod:`bok.render`), so a reader never meets a 404; this module finds those links in the
chapters' own text, with their lines, so the check can say which line to fix. It reads inline
links ``[text](target)`` and reference definitions ``[id]: target``, and skips code (fenced
blocks, indented blocks, code spans), where a link is only text.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

from . import policy
from .errors import WARNING, Finding
from .model import CONTENT, Book, is_domain_page
from .policy import Status

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
_REFERENCE = re.compile(r"^ {0,3}\[(?:[^\]\\]|\\.)+\]:\s*<?(\S+?)>?(?:\s.*)?$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
#: States whose chapter has a page on the site (a pending one shows its endorsed revision).
PUBLISHED_STATES = (policy.ENDORSED, policy.EXPIRED, policy.PENDING)


def markdown_links(body: str) -> Iterator[tuple[int, str]]:
    """(line of ``body``, counted from 1; target as written) of each link outside code."""
    fence: str | None = None
    for number, line in enumerate(body.split("\n"), start=1):
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        if line.startswith(("    ", "\t")):
            continue  # an indented code block (or a list's continuation: rare for links)
        reference = _REFERENCE.match(line)
        if reference:
            yield number, reference.group(1)
            continue
        for match in _INLINE.finditer(_CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line)):
            yield number, match.group(1)


def chapter_target(source: str, target: str) -> str | None:
    """The chapter path a relative link of chapter ``source`` reaches, None for anything else
    (another site, an anchor, a file that is not a Markdown page)."""
    if not target or target.startswith(("#", "/")) or _SCHEME.match(target):
        return None
    parts = urlsplit(target)
    if parts.query or not parts.path.endswith(".md"):
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(source), unquote(parts.path)))
    if not path.startswith(CONTENT + "/") or path.count("/") < 2 or is_domain_page(path):
        return None  # the home page and domain pages are always published
    return path


def unpublished_links(book: Book, statuses: dict[str, Status]) -> list[Finding]:
    """``link-unpublished``: a published chapter's links to chapters the site does not publish
    (their readers see the link's text, without a link)."""
    findings = []
    for path, chapter in sorted(book.chapters.items()):
        status = statuses.get(path)
        if status is None or status.state not in PUBLISHED_STATES:
            continue
        for line, written in markdown_links(chapter.body):
            target = chapter_target(path, written)
            if target is None or target == path:
                continue
            state = statuses[target].state if target in statuses else None
            if state in PUBLISHED_STATES:
                continue
            why = "which does not exist" if state is None else f"which is not published ({state})"
            findings.append(Finding(
                path, "link-unpublished", f"links to {target}, {why}; readers see the link's "
                "text without a link", chapter.body_line + line - 1, severity=WARNING,
                fix="Link to a published chapter, or have the target endorsed."))
    return findings
