"""Review-time scan: where a page's Markdown tries to use script-capable markup.

:mod:`bok.sanitize` strips every script vector from the built site whatever happens here; this
module exists so that ``bok check`` can *reject* such a chapter, naming the line, instead of
the site silently publishing a mangled one. It lexes the Markdown source for dangerous tags,
event-handler attributes, script URLs and reserved ids, knows enough of Markdown's code
context (fences, code spans) not to flag examples, and verifies that heuristic by rendering
the page once with Python-Markdown.

Its cost is linear in the page: every pattern here is a bounded or non-backtracking scan
(one pass per pattern, no nested unbounded quantifiers), and the renders that confirm
suspected code have a budget (:data:`CONFIRM_BUDGET`). Python-Markdown's own cost is bounded
before this runs, by :mod:`bok.limits`.
"""

from __future__ import annotations

import bisect
import html
import itertools
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import markdown

from .sanitize import ID_ATTRIBUTES, is_reserved_id

__all__ = [
    "DEFAULT_EXTENSIONS",
    "DEFAULT_EXTENSION_CONFIGS",
    "unsafe_constructs",
    "unsafe_text",
]

# "<", optional spaces and "/", a name: one way to match each, so each "<" costs its own run.
_TAG_LIKE = re.compile(r"<\s*(?:/\s*)?[A-Za-z!?][^<>]{0,60}>?")


def unsafe_text(text: str) -> list[str]:
    """Describe tag-like markup in a plain-text front-matter value (empty if none)."""
    return [f"tag-like markup {m.group(0)!r}" for m in _TAG_LIKE.finditer(text)]


# --------------------------------------------------------------------------------------
# unsafe_constructs
# --------------------------------------------------------------------------------------

#: Raw tags reported by :func:`unsafe_constructs`.
_DANGEROUS_TAGS = frozenset(
    {
        "script", "iframe", "object", "embed", "form", "base", "meta", "style", "svg",
        "math", "frame", "frameset", "applet", "link",
    }
)  # fmt: skip

#: Extensions used to render a chapter when verifying the code-block heuristics.
DEFAULT_EXTENSIONS: tuple[str, ...] = (
    "abbr", "admonition", "attr_list", "def_list", "footnotes", "md_in_html", "tables",
    "toc", "pymdownx.details", "pymdownx.highlight", "pymdownx.inlinehilite",
    "pymdownx.superfences", "pymdownx.tasklist", "pymdownx.tabbed",
)  # fmt: skip
DEFAULT_EXTENSION_CONFIGS: Mapping[str, Mapping[str, Any]] = {
    "pymdownx.tabbed": {"alternate_style": True},
}

_TAG_OPEN = re.compile(r"<([A-Za-z][A-Za-z0-9:-]*)(?=[\s/>]|\Z)")
# A whole start tag, quotes respected, possibly spanning lines.
# Bare text stops at the next "<" (a following "<x onclick=..." is scanned on its own)
# and quoted values are bounded, which keeps this linear on hostile input.
_START_TAG = re.compile(r"<[A-Za-z][^\s/<>]*((?:\"[^\"]{0,4096}\"|'[^']{0,4096}'|[^'\"<>])*)>?")
_ATTR_LIST = re.compile(r"\{[^{}\n]*\}")
_HANDLER = re.compile(r"(?<![^\s/\"'{:;])(on[a-z]+)(?=\s*=)", re.IGNORECASE)
_ATTR_VALUE = re.compile(r"=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>}]+))")
# Link/image destinations and reference definitions; the value is checked from its start.
_LINK_DEST = re.compile(r"\]\(\s*<?")
_REF_DEF = re.compile(r"^[ \t]*\[[^\]\n]+\]:[ \t]*<?", re.MULTILINE)
_SCHEME_ANYWHERE = re.compile(r"(?<![a-z0-9+.\-])(javascript|vbscript|data):", re.IGNORECASE)
_SCHEME_AT_START = re.compile(r"[\x00-\x20]*(javascript|vbscript|data):", re.IGNORECASE)
_TAB_NEWLINE = re.compile(r"[\t\n\r]")

_FENCE_OPEN = re.compile(r"^([ \t]*)(`{3,}(?=[^`]*$)|~{3,})")
_FENCE_CLOSE = re.compile(r"^([ \t]*)(`{3,}|~{3,})[ \t\r]*$")
_BACKTICKS = re.compile(r"`+")


# id="__x" / for=... / name=... in a tag or attr_list, or the attr_list shorthand {#__x}.
_RESERVED_ID = re.compile(
    r"(?<![^\s/\"'{:;])(?:(?:id|for|name)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>}]+))"
    r"|(?<![^\s{:])#([^\s}]+))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Hit:
    pos: int  # index in the source whose replacement by "x" defuses the construct
    desc: str


def _normalise_url(value: str) -> str:
    """Decode entities and drop the characters browsers ignore inside URLs."""
    return _TAB_NEWLINE.sub("", html.unescape(value))


def _code_mask(text: str) -> list[tuple[int, int]]:
    """Return (start, end) source ranges that look like fenced code or code spans."""
    ranges: list[tuple[int, int]] = []
    lines = [line + "\n" for line in text.split("\n")]
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    # fenced_code and superfences both close a fence only with the very same fence
    # string (same indentation, same length); an unclosed fence is not code at all.
    closers: dict[tuple[str, str], list[int]] = {}
    for n, line in enumerate(lines):
        closer = _FENCE_CLOSE.match(line)
        if closer:
            closers.setdefault((closer.group(1), closer.group(2)), []).append(n)

    fenced: set[int] = set()  # line indexes of fences and their content
    i = 0
    while i < len(lines):
        opener = _FENCE_OPEN.match(lines[i])
        if opener:
            candidates = closers.get((opener.group(1), opener.group(2)), [])
            k = bisect.bisect_right(candidates, i)
            if k < len(candidates):
                j = candidates[k]
                ranges.append((starts[i + 1], starts[j]))
                fenced.update(range(i, j + 1))
                i = j
        i += 1

    for n, line in enumerate(lines):
        if n in fenced:
            continue
        for start, end in _code_spans(line):
            ranges.append((starts[n] + start, starts[n] + end))
    return ranges


def _code_spans(line: str) -> list[tuple[int, int]]:
    """Contents of inline code spans on one line.

    Python-Markdown's rule: a run of backticks that is not backslash-escaped, closed by
    the next run of the same length.
    """
    runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(line)]
    by_length: dict[int, list[int]] = {}
    for index, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(index)
    spans = []
    i = 0
    while i < len(runs):
        start, end = runs[i]
        escape = start  # the backslashes right before this run (each is counted once)
        while escape > 0 and line[escape - 1] == "\\":
            escape -= 1
        backslashes = start - escape
        same = by_length[end - start]
        k = bisect.bisect_right(same, i)
        if backslashes % 2 or k == len(same):
            i += 1
            continue
        j = same[k]
        spans.append((end, runs[j][0]))
        i = j + 1
    return spans


_HEADING_LINE = re.compile(
    r"^ {0,3}#{1,6}(?:[ \t].*)?$"  # ATX heading
    r"|^(?=[^\n]*\S)[^\n]*(?=\n {0,3}(?:=+|-+)[ \t]*$)"  # setext heading text
    r"|^.*<h[1-6].*$",  # raw / md_in_html heading
    re.MULTILINE | re.IGNORECASE,
)
_TITLE_CLOSE = re.compile(r"</title", re.IGNORECASE)


def _title_breakouts(text: str) -> list[_Hit]:
    """Headings that would close the page's ``<title>`` element.

    MkDocs takes the page title from the first ``<h1>`` with entities (and the text of
    code spans) left escaped, and Material writes it as ``{{ page.title | striptags }}``;
    ``striptags`` unescapes, so even ``# `</title><script>...` `` becomes live markup.
    Code spans therefore do not protect here, and neither does entity-encoding.
    """
    hits = []
    for m in _HEADING_LINE.finditer(text):
        line = m.group(0)
        for _ in range(4):  # undo nested escaping (&amp;lt; ...) as well
            unescaped = html.unescape(line)
            if unescaped == line:
                break
            line = unescaped
        if _TITLE_CLOSE.search(line):
            hits.append(_Hit(m.start(), "heading closes the page <title> element"))
    return hits


def _scan(text: str) -> list[_Hit]:
    """Find every unsafe construct in *text*, ignoring Markdown code context."""
    hits: list[_Hit] = []

    for m in _TAG_OPEN.finditer(text):
        name = m.group(1).lower()
        if name in _DANGEROUS_TAGS:
            hits.append(_Hit(m.start(1), f"raw <{name}> tag"))

    def attributes(segment: str, offset: int) -> None:
        for h in _HANDLER.finditer(segment):
            hits.append(_Hit(offset + h.start(1), f"event handler attribute {h.group(1).lower()}"))
        for v in _ATTR_VALUE.finditer(segment):
            group = next(g for g in (1, 2, 3) if v.group(g) is not None)
            value = v.group(group)
            s = _SCHEME_ANYWHERE.search(_normalise_url(value))
            if s:
                pos = offset + v.start(group) + (len(value) - len(value.lstrip()))
                hits.append(_Hit(pos, f"{s.group(1).lower()}: URL"))

        for r in _RESERVED_ID.finditer(segment):
            value = html.unescape(next((g for g in r.groups() if g is not None), ""))
            if is_reserved_id(value):
                hits.append(_Hit(offset + r.start(), f"reserved id {value}"))

    for m in _START_TAG.finditer(text):
        attributes(m.group(1), m.start(1))
    for m in _ATTR_LIST.finditer(text):
        attributes(m.group(0), m.start(0))

    for pattern in (_LINK_DEST, _REF_DEF):
        starts = [m.end() for m in pattern.finditer(text)]
        # A destination is read up to the line's end, at most 4096 characters, and never into
        # the next one: windows do not overlap, so "](" * n costs n, not 4096 n.
        for start, following in itertools.pairwise([*starts, len(text)]):
            stop = min(following, start + 4096)
            newline = text.find("\n", start, stop)
            stop = stop if newline < 0 else newline
            if text.find(":", start, stop) < 0 and text.find("&", start, stop) < 0:
                continue  # neither a scheme nor an entity that could spell one
            s = _SCHEME_AT_START.match(_normalise_url(text[start:stop]))
            if s:
                hits.append(_Hit(start, f"{s.group(1).lower()}: URL"))
    return sorted(set(hits), key=lambda h: (h.pos, h.desc))


_URL_ATTRIBUTES = frozenset(
    {
        "href", "src", "xlink:href", "action", "formaction", "data", "poster", "background",
        "srcset", "cite", "ping", "longdesc", "lowsrc", "dynsrc", "content", "codebase",
        "archive", "classid", "manifest", "icon", "srcdoc", "to", "from", "values", "by",
    }
)  # fmt: skip


class _RenderedScanner(HTMLParser):
    """Count unsafe constructs in rendered (not yet sanitised) HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DANGEROUS_TAGS:
            self.found[f"raw <{tag}> tag"] += 1
        for name, value in attrs:
            if name in ID_ATTRIBUTES and value and is_reserved_id(value):
                self.found[f"reserved id {value}"] += 1
            if name.startswith("on"):
                self.found[f"event handler attribute {name}"] += 1
            if value and name in _URL_ATTRIBUTES:
                s = _SCHEME_ANYWHERE.search(_TAB_NEWLINE.sub("", value))
                if s:
                    self.found[f"{s.group(1).lower()}: URL"] += 1

    handle_startendtag = handle_starttag


# Only these can make Markdown emit a tag, an attribute or a URL scheme the scan did not
# see: raw HTML, attribute lists, character references and scheme-like words. A chapter with
# none of them (most prose) skips the verifying render, which costs ~10 ms a chapter.
# Attribute lists are found by _has_attribute_list: as one regex, "{" then "=", "#" or "."
# before "}" backtracks cubically ('{=' * n took 14 s at 4 KB).
_RENDER_NEEDED = re.compile(r"<[A-Za-z/!?]|&#?[A-Za-z0-9]+;|[A-Za-z]\s*:|__", re.ASCII)
_SCHEME_WORD = re.compile(r"(?i)(?:script|data|vbscript)\s*:")
_ATTRIBUTE_MARK = re.compile(r"[=#.]")


def _has_attribute_list(text: str) -> bool:
    """Is there a ``{...}`` on one line, with ``=``, ``#`` or ``.`` inside, and no ``}``?

    One pass: each piece before a ``}`` is searched from its first ``{`` on its last line.
    """
    pieces = text.split("}")
    for piece in pieces[:-1]:
        start = piece.find("{", piece.rfind("\n") + 1)
        if start >= 0 and _ATTRIBUTE_MARK.search(piece, start + 1):
            return True
    return False


def _needs_render(text: str, hits: Sequence[Any]) -> bool:
    if hits or _has_attribute_list(text):
        return True
    for match in _RENDER_NEEDED.finditer(text):
        token = match.group(0)
        if not token[0].isalpha() or _SCHEME_WORD.search(text, max(0, match.start() - 12),
                                                          match.end()):
            return True
    return False


_renderers: dict[tuple, markdown.Markdown] = {}


def _renderer(extensions: Sequence[Any], extension_configs: Mapping[str, Any]
              ) -> markdown.Markdown:
    """One Markdown instance per configuration: building one costs more than a render."""
    key = (tuple(map(str, extensions)), repr(sorted(extension_configs.items())))
    if key not in _renderers:
        configs = {k: dict(v) for k, v in extension_configs.items()}
        # Highlighting changes no tag that matters here, and pygments is the slow part.
        configs.setdefault("pymdownx.highlight", {})["use_pygments"] = False
        _renderers[key] = markdown.Markdown(extensions=list(extensions),
                                            extension_configs=configs)
    return _renderers[key]


def _render_counts(
    text: str, extensions: Sequence[Any], extension_configs: Mapping[str, Any]
) -> Counter[str]:
    md = _renderer(extensions, extension_configs)
    md.reset()
    rendered = md.convert(text)
    scanner = _RenderedScanner()
    scanner.feed(rendered)
    scanner.close()
    return scanner.found


#: Markdown characters the confirming renders may cost, at least: this, or CONFIRM_PAGES times
#: the page, whichever is more. Each render is linear once bok.limits has passed the page.
CONFIRM_BUDGET = 1024 * 1024
CONFIRM_PAGES = 4


def _defuse(text: str, hits: Sequence[_Hit]) -> str:
    chars = list(text)
    for hit in hits:
        chars[hit.pos] = "x"
    return "".join(chars)


def unsafe_constructs(
    markdown_text: str,
    *,
    extensions: Sequence[Any] | None = None,
    extension_configs: Mapping[str, Any] | None = None,
) -> list[tuple[int, str]]:
    """Return ``(line_number, description)`` for each unsafe construct in a chapter.

    Line numbers are 1-based. Constructs inside fenced code blocks and inline code
    spans are not reported, so a chapter may *show* ``<script>`` in code.

    The code-context detection is a heuristic, so it is verified by rendering the
    chapter with Python-Markdown (*extensions*, default :data:`DEFAULT_EXTENSIONS`):
    a construct the heuristic took for code but that renders as live markup is
    reported after all, and anything dangerous in the rendered output that the source
    scan cannot account for is reported with line number 0.
    """
    if extensions is None:
        extensions = DEFAULT_EXTENSIONS
        if extension_configs is None:
            extension_configs = DEFAULT_EXTENSION_CONFIGS
    extension_configs = extension_configs or {}

    text = markdown_text
    hits = _scan(text)
    code = sorted(_code_mask(text)) if hits else []  # only hits need to know about code
    code_starts = [start for start, _ in code]

    def in_code(pos: int) -> bool:  # the ranges do not overlap: bisect, not a scan of them all
        k = bisect.bisect_right(code_starts, pos) - 1
        return k >= 0 and pos < code[k][1]

    reported = [h for h in hits if not in_code(h.pos)] + _title_breakouts(text)
    candidates = [h for h in hits if in_code(h.pos)]
    line_of = _line_numbers(text)
    results = [(line_of(h.pos), h.desc) for h in reported]

    options = (extensions, extension_configs)
    if not _needs_render(text, hits):
        return sorted(set(results))
    try:
        rendered = _render_counts(text, *options)
    except Exception as exc:  # report it, don't crash the review
        results.append((0, f"chapter could not be rendered to verify code blocks: {exc}"))
        return sorted(set(results))

    # Things that render as live markup but have no source occurrence at all.
    in_source = Counter(h.desc for h in hits)
    for desc, count in rendered.items():
        if count > in_source[desc]:
            results.append((0, f"{desc} (rendered output; source location not found)"))

    # Things the heuristic took for code: confirm that they render as text, i.e. that
    # defusing them does not change what the rendered output contains. One render for all
    # of them first; halves of a group that changes the output are checked in turn (group
    # testing), so a few live ones among many code examples cost few renders. The renders
    # have a budget (a few times the page): past it, a group still in doubt is reported.
    budget = [max(CONFIRM_BUDGET, CONFIRM_PAGES * len(text))]

    def live(group: list[_Hit]) -> list[_Hit]:
        if budget[0] < len(text):
            return group
        budget[0] -= len(text)
        if _render_counts(_defuse(text, group), *options) == rendered:
            return []
        if len(group) == 1:
            return group
        middle = len(group) // 2
        return live(group[:middle]) + live(group[middle:])

    suspects = [h for h in candidates if rendered[h.desc]]
    if suspects:
        results.extend((line_of(h.pos), h.desc) for h in live(suspects))

    return sorted(set(results))


def _line_numbers(text: str) -> Callable[[int], int]:
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return bisect.bisect_left(newlines, pos) + 1

    return line_of
