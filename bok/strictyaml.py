"""A strict YAML reader for everything bok loads.

PyYAML's safe loader accepts what a review tool must not: duplicate keys (the last one silently
wins), anchors and aliases (a few hundred bytes can expand into hundreds of millions of nodes),
implicit typing (``1.10`` becomes ``1.1``, ``NO`` becomes ``False``, ``2024-01-05`` a date) and
deep nesting that ends in a RecursionError. This module reads the *event stream* of PyYAML's
parser and builds plain values itself, so none of that can happen:

* every scalar stays a string (or ``None`` for an empty or ``null`` plain scalar); the schema
  that reads the value decides its type (see :mod:`bok.schema`);
* aliases, anchors, tags outside the core schema, duplicate keys, non-scalar keys, several
  documents, too much nesting and too many bytes are refused with the line where they occur.

The result is the value plus a map from key paths to line numbers, so later rules can say
*where* a bad value is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from .errors import FileProblem

try:  # the C parser is about ten times faster; same events, same marks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is missing on some platforms
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_BYTES = 512 * 1024
MAX_DEPTH = 16
_CORE_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq")
}
_NULLS = {"", "~", "null", "Null", "NULL"}

Lines = dict[tuple, int]


def load(text: str, first_line: int = 1) -> tuple[Any, Lines]:
    """Parse one YAML document; return its value and the line of every key and item.

    ``first_line`` is the line of the file on which ``text`` starts, so that line numbers in
    problems and in the returned map refer to the file, not to the snippet.
    """
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise FileProblem(
            "yaml-too-large",
            f"YAML is larger than {MAX_BYTES // 1024} KB",
            first_line,
            "Split the file or shorten it.",
        )
    builder = _Builder(first_line)
    try:
        return builder.document(iter(yaml.parse(text, Loader=_Loader))), builder.lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + first_line if mark else first_line
        problem = exc.problem or exc.context or "invalid YAML"
        raise FileProblem(
            "yaml-syntax",
            f"invalid YAML: {problem}",
            line,
            "Check indentation, colons and quotes on that line.",
        ) from None
    except yaml.YAMLError as exc:
        raise FileProblem("yaml-syntax", f"invalid YAML: {exc}", first_line) from None


class _Builder:
    def __init__(self, first_line: int):
        self.first_line = first_line
        self.lines: Lines = {}

    def line(self, event: yaml.Event) -> int:
        return (event.start_mark.line if event.start_mark else 0) + self.first_line

    def document(self, events: Iterator[yaml.Event]) -> Any:
        self._events = events
        value, seen = None, False
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                if seen:
                    raise FileProblem(
                        "yaml-multiple-documents",
                        "more than one YAML document",
                        self.line(event),
                        "Remove the extra '---' line.",
                    )
                seen = True
                value = self.node(next(events), (), 0)
        return value

    def node(self, event: yaml.Event, path: tuple, depth: int) -> Any:
        line = self.line(event)
        if isinstance(event, yaml.AliasEvent):
            raise FileProblem(
                "yaml-alias",
                f"YAML alias '*{event.anchor}' is not allowed",
                line,
                "Write the value out in full; bok does not accept anchors and aliases.",
            )
        if anchor := getattr(event, "anchor", None):
            raise FileProblem(
                "yaml-alias",
                f"YAML anchor '&{anchor}' is not allowed",
                line,
                "Remove the anchor; bok does not accept anchors and aliases.",
            )
        tag = getattr(event, "tag", None)
        if tag and tag not in _CORE_TAGS and tag != "!":
            raise FileProblem(
                "yaml-tag",
                f"YAML tag '{tag.replace('tag:yaml.org,2002:', '!!')}' is not allowed",
                line,
                "Remove the tag; only plain values, lists and mappings are accepted.",
            )
        if depth > MAX_DEPTH:
            raise FileProblem(
                "yaml-too-deep",
                f"YAML is nested more than {MAX_DEPTH} levels deep",
                line,
                "Flatten the structure.",
            )
        self.lines.setdefault(path, line)
        if isinstance(event, yaml.ScalarEvent):
            if event.implicit[0] and event.value in _NULLS:
                return None
            return event.value
        if isinstance(event, yaml.SequenceStartEvent):
            return self.sequence(event, path, depth)
        if isinstance(event, yaml.MappingStartEvent):
            return self.mapping(event, path, depth)
        raise FileProblem("yaml-syntax", "unexpected YAML structure", line)  # pragma: no cover

    def sequence(self, start: yaml.Event, path: tuple, depth: int) -> list:
        items: list = []
        events = self._events
        for event in events:
            if isinstance(event, yaml.SequenceEndEvent):
                return items
            items.append(self.node(event, (*path, len(items)), depth + 1))
        raise FileProblem("yaml-syntax", "unterminated list", self.line(start))  # pragma: no cover

    def mapping(self, start: yaml.Event, path: tuple, depth: int) -> dict:
        result: dict[str, Any] = {}
        events = self._events
        for key_event in events:
            if isinstance(key_event, yaml.MappingEndEvent):
                return result
            line = self.line(key_event)
            if not isinstance(key_event, yaml.ScalarEvent):
                raise FileProblem(
                    "yaml-complex-key",
                    "a mapping key must be a plain value",
                    line,
                    "Use a word or a quoted string as the key.",
                )
            key = self.node(key_event, (*path, "__key__"), depth + 1)
            self.lines.pop((*path, "__key__"), None)
            key = "" if key is None else key
            if key in result:
                raise FileProblem(
                    "duplicate-key",
                    f"duplicate key '{key}' (first on line {self.lines[(*path, key)]})",
                    line,
                    "Keep one of them; YAML would silently use the last.",
                )
            self.lines[(*path, key)] = line
            result[key] = self.node(next(events), (*path, key), depth + 1)
            self.lines[(*path, key)] = line
        raise FileProblem(  # pragma: no cover
            "yaml-syntax", "unterminated mapping", self.line(start))
