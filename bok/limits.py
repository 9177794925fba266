"""What one file may cost: size limits, and the Markdown shapes Python-Markdown is slow on.

No single file of a pull request may make ``bok check`` or ``bok build`` take more than a few
seconds or a few hundred megabytes. Sizes are checked before a file is decoded (the limits are
in the policy, read from the base revision in a pull request, so a change cannot raise its
own). Size alone is not enough: Python-Markdown, which renders every page, spends time
quadratic (some shapes cubic) in what it is given -- 25 KB of ``[`` ran past 20 s, 25 KB of
``# h`` lines took 13 s, 60 KB of ``<a `` 33 s, 500 KB of ``~~~`` lines 58 s -- so
:func:`markdown_problems` estimates its work in one linear pass and refuses a page above a
budget, naming the line to change.

The estimates follow Python-Markdown's own mechanisms (measured, see ``bench/hostile.py``):

* blocks (text between blank lines) are re-split and re-searched by every block processor
  at every heading, rule, container or abbreviation line, and every inline match rebuilds
  its text: a block costs its length times its inline markers and (much more) its
  splitting lines;
* a ``[`` (or the ``(`` of a link) is matched by scanning, character by character, to its
  closing bracket, or to the end of the block if there is none;
* the HTML block parser (``md_in_html``) scans from each ``<tag``, ``<!`` or ``<?`` to its
  end, or to the end of the page if there is none, and starts over at the next ``<``;
* the fenced-code preprocessor searches the whole page again after each fence;
* footnote references look through the earlier ones; and every block, list item, heading or
  other structure costs 0.1-0.3 ms, however short.

The budgets sit far above any chapter written by a person (the largest chapter of bok's own
handbook, 29 KB, uses less than 1 % of each) and far below what takes a second to render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import FileProblem

KB = 1024


@dataclass(frozen=True)
class Limits:
    """The policy's ``limits:``, in KB (1 KB = 1,024 bytes)."""

    # A chapter, a domain page or the home page, front matter included. Python-Markdown costs
    # up to 16 ms a KB on dense markup (nested list items: 8.3 s for 511 KB), so 128 KB keeps
    # the worst page near 2 s; the largest chapter of bok's handbook is 29 KB.
    chapter_kb: int = 128
    record_kb: int = 64  # a review record, its comments included


#: Estimated work per page, in the units of the module docstring; each budget is about a
#: second of rendering on a 2-core CI machine, where ordinary chapters use well under 1 %.
BLOCK_WORK = 100_000_000
BRACKET_WORK = 300_000
HTML_WORK = 1_000_000
#: Fences times the page's length: the fenced-code preprocessor searches the page again after
#: each fence (``~~~`` lines filling 500 KB took 58 s).
FENCE_WORK = 100_000_000
#: Blocks and structural lines (list items, headings, quotes, definitions, containers, fences,
#: HTML block tags) on one page: each costs Python-Markdown 0.1-0.3 ms, however short it is.
MAX_STRUCTURES = 3_000
#: Inline markers (``*``, `````, ``[``, ``<``, ``&``...) on one page: each inline element costs
#: Python-Markdown about 30 us (127 KB of `` `a` `` took 3-4 s); chapters hold 15-35 a KB.
MAX_INLINE_MARKERS = 16_000
#: Block quotes nested on one line (``> > > ...``), each parsed recursively.
MAX_QUOTE_DEPTH = 32
#: Lists and containers nested by indentation: Python-Markdown recurses once per level and
#: raised RecursionError at about 300 (a list nested 200 deep took 0.6 s).
MAX_NESTING = 16
#: Footnote references on one page: each looks through the earlier ones (4,000 took 10 s).
MAX_FOOTNOTE_REFS = 500
#: A splitting line costs this many times an ordinary one: every block processor looks at the
#: rest of the block again after it.
SPLIT_WEIGHT = 64

_FIX = "Split the page into smaller pages, or the long block with blank lines."
_BLANK = re.compile(r"\n[ \t]*\n")
_SPLITTER = re.compile(
    r"^[ \t]*(?:#|[-=*_](?:[ \t]*[-=*_])*[ \t]*$|!!!|\?\?\?|===|\*\[)", re.MULTILINE)
_INLINE_MARKERS = "*_`[<&\\!~^="
_QUOTES = re.compile(rf"^[ \t]*((?:>[ \t]*){{{MAX_QUOTE_DEPTH + 1},}})", re.MULTILINE)
_NESTED = re.compile(
    rf"^(?:    |\t){{{MAX_NESTING + 1},}}(?:[-*+]|\d{{1,9}}[.)]|!!!|\?\?\?|===|>)", re.MULTILINE)
_FOOTNOTE_REF = re.compile(r"\[\^")
_STRUCTURE = re.compile(
    r"^[ \t]*(?:>[ \t]*)*(?:[-*+][ \t]|\d{1,9}[.)][ \t]|#|!!!|\?\?\?|===|:[ \t]|```|~~~|<[A-Za-z])"
    r"|^[ \t]*(?:>[ \t]*)+$", re.MULTILINE)
_FENCE = re.compile(r"^[ \t]*(?:`{3,}|~{3,})", re.MULTILINE)
_HTML_OPEN = re.compile(r"<(?:[A-Za-z/]|!--|!\[|!|\?)")
_HTML_CLOSERS = {"<!--": "-->", "<![": "]>"}
_BRACKETS = re.compile(r"[\[\]()]")


def size_problem(size: int, limit_kb: int, what: str, key: str) -> FileProblem | None:
    """A problem if ``size`` bytes are over the limit: checked before anything is decoded."""
    if size <= limit_kb * KB:
        return None
    return FileProblem(
        "file-too-large",
        f"{-(-size // KB)} KB is over the {what} size limit of {limit_kb} KB",
        None,
        f"Split it, or raise limits.{key} in reviews/policy.yml (a steward signs off).")


def markdown_problems(text: str) -> list[FileProblem]:
    """Shapes of ``text`` that Python-Markdown would take too long on (lines from 1).

    Linear in ``text``; fenced code counts like any other text (it is cheap to render, so
    this over-estimates, which is safe).
    """
    problems: list[FileProblem] = []
    line_of = _LineOf(text)
    for check in (_block_work, _bracket_work, _html_work):
        problem = check(text, line_of)
        if problem is not None:
            problems.append(problem)
    fences = sum(1 for _ in _FENCE.finditer(text))
    if fences * len(text) > FENCE_WORK:
        problems.append(FileProblem(
            "markdown-too-complex", f"{fences} code fences would take Markdown too long on a "
            f"page of {len(text) // KB} KB", None, _FIX))
    structures = (sum(1 for start, end in _blocks(text) if end > start)
                  + sum(1 for _ in _STRUCTURE.finditer(text)))
    if structures > MAX_STRUCTURES:
        problems.append(FileProblem(
            "markdown-too-complex", f"{structures} blocks, list items, headings, quotes and "
            f"other structures are more than the {MAX_STRUCTURES} a page may have", None, _FIX))
    markers = sum(text.count(c) for c in _INLINE_MARKERS)
    if markers > MAX_INLINE_MARKERS:
        problems.append(FileProblem(
            "markdown-too-complex", f"{markers} inline markers (* _ ` [ < & and others) are "
            f"more than the {MAX_INLINE_MARKERS} a page may have", None, _FIX))
    refs = sum(1 for _ in _FOOTNOTE_REF.finditer(text))
    if refs > MAX_FOOTNOTE_REFS:
        problems.append(FileProblem(
            "markdown-too-complex", f"{refs} footnote references are more than the "
            f"{MAX_FOOTNOTE_REFS} a page may have", None, _FIX))
    for pattern, what in ((_QUOTES, f"block quotes nested more than {MAX_QUOTE_DEPTH} deep"),
                          (_NESTED, f"lists or blocks nested more than {MAX_NESTING} deep")):
        deep = pattern.search(text)
        if deep:
            problems.append(FileProblem("markdown-too-complex", what, line_of(deep.start()),
                                        "Nest less deeply."))
    return problems


class _LineOf:
    """Line numbers of offsets asked for in increasing order (one pass over the text)."""

    def __init__(self, text: str):
        self.text, self.pos, self.line = text, 0, 1

    def __call__(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def _blocks(text: str):
    """(start, end) of each block: the text between blank lines."""
    start = 0
    for blank in _BLANK.finditer(text):
        yield start, blank.start()
        start = blank.end()
    yield start, len(text)


def _block_work(text: str, line_of: _LineOf) -> FileProblem | None:
    total, worst, worst_start = 0, 0, 0
    for start, end in _blocks(text):
        block = text[start:end]
        lines = block.count("\n") + 1
        if lines == 1 and end - start < 4096:
            continue  # a short one-line block costs its length at most, whatever it holds
        markers = sum(block.count(c) for c in _INLINE_MARKERS)
        splitters = sum(1 for _ in _SPLITTER.finditer(block))
        work = (end - start) * (markers + SPLIT_WEIGHT * splitters)
        total += work
        if work > worst:
            worst, worst_start = work, start
    if total <= BLOCK_WORK:
        return None
    return FileProblem(
        "markdown-too-complex",
        f"its blocks would take Markdown too long to render ({_ratio(total, BLOCK_WORK)} the "
        "budget); the costliest starts here: a long run of lines without a blank line, "
        "dense with headings, rules, containers or inline markup",
        line_of(worst_start), _FIX)


def _bracket_work(text: str, line_of: _LineOf) -> FileProblem | None:
    """Characters Markdown's link parser reads: from each ``[`` to its ``]`` (or the block's
    end), and from each ``](`` to its ``)``."""
    total, first = 0, None
    for start, end in _blocks(text):
        if text.find("[", start, end) < 0:
            continue
        opened: list[int] = []
        parens: list[int] = []
        for bracket in _BRACKETS.finditer(text, start, end):
            i, c = bracket.start(), bracket.group(0)
            if c == "[":
                opened.append(i)
            elif c == "]" and opened:
                total += i - opened.pop()
            elif c == "(" and i > start and text[i - 1] == "]":
                parens.append(i)
            elif c == ")" and parens:
                total += i - parens.pop()
        for i in (*opened, *parens):
            total += end - i
            first = i if first is None else min(first, i)
        if total > BRACKET_WORK:
            break
    if total <= BRACKET_WORK:
        return None
    where = first if first is not None else 0
    return FileProblem(
        "markdown-too-complex",
        f"its brackets would take Markdown too long to match ({_ratio(total, BRACKET_WORK)} "
        "the budget): '[' or '](' that are not closed, or nested very deep; the first "
        "unclosed one is here", line_of(where),
        "Close the brackets, escape a literal one as \\[, or put it in `code`.")


def _html_work(text: str, line_of: _LineOf) -> FileProblem | None:
    """Characters the HTML block parser reads: from each ``<tag`` to its ``>`` (or the end)."""
    total, first = 0, None
    found: dict[str, int] = {}  # closer -> where it was last found (amortised: linear)
    for match in _HTML_OPEN.finditer(text):
        opener = match.group(0)
        closer = _HTML_CLOSERS.get(opener, ">")
        at = found.get(closer, -1)
        if at < match.end():
            at = text.find(closer, match.end())
            at = len(text) if at < 0 else at
            found[closer] = at
        distance = at - match.start()
        if distance > 4096 and first is None:
            first = match.start()
        total += distance
        if total > HTML_WORK:
            break
    if total <= HTML_WORK:
        return None
    return FileProblem(
        "markdown-too-complex",
        f"its HTML would take Markdown too long to parse ({_ratio(total, HTML_WORK)} the "
        "budget): tags opened with '<' and not closed with '>'; the first far from its '>' "
        "is here", line_of(first if first is not None else 0),
        "Close the tags, or write a literal '<' as &lt; or in `code`.")


def _ratio(work: int, budget: int) -> str:
    return f"{work / budget:.0f} times" if work >= 2 * budget else "over"
