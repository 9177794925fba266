"""Splitting a Markdown file into front matter and body: one syntax, strictly.

MkDocs and python-frontmatter disagree about what counts as front matter (a byte-order mark, a
``...`` closer, a leading blank line, MultiMarkdown headers), and python-frontmatter silently
returns empty metadata for a file it cannot split. bok accepts exactly one form -- ``---`` on the
very first line, YAML, ``---`` on a line of its own -- and says precisely what is wrong
otherwise. The site build reads chapters through this module too, so the checker and the site
never see different metadata.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from . import strictyaml
from .errors import FileProblem

DELIMITER = "---"


@dataclass(frozen=True)
class Document:
    """A parsed Markdown file: its front matter, the lines of its keys, and its body."""

    meta: dict[str, Any]
    lines: strictyaml.Lines
    body: str
    body_line: int  # the file's line on which the body starts


def decode(data: bytes) -> str:
    """Decode UTF-8 strictly and normalise line endings, naming the line of a bad byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise FileProblem(
            "byte-order-mark",
            "file starts with a UTF-8 byte-order mark",
            1,
            "Save the file as UTF-8 without BOM.",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(
            "not-utf8",
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            line,
            "Save the file as UTF-8.",
        ) from None
    if "\x00" in text:
        raise FileProblem("binary-file", "file contains NUL bytes", None, "Is this really text?")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(data: bytes) -> Document:
    """Parse a Markdown file that must open with YAML front matter."""
    text = decode(data)
    lines = text.split("\n")
    if lines[0].rstrip() != DELIMITER:
        hint = ""
        if not lines[0].strip() and any(line.rstrip() == DELIMITER for line in lines[:5]):
            hint = " (there is a blank line before it)"
        elif ":" in lines[0] and not lines[0].startswith("#"):
            hint = " (MultiMarkdown 'Key: value' headers are not front matter)"
        raise FileProblem(
            "no-front-matter",
            f"front matter must open with '---' on the first line{hint}",
            1,
            "Start the file with '---', the YAML keys, and another '---'.",
        )
    for index, line in enumerate(lines[1:], start=1):
        stripped = line.rstrip()
        if stripped == DELIMITER:
            close = index
            break
        if stripped == "...":
            raise FileProblem(
                "front-matter-closer",
                "front matter is closed with '...'",
                index + 1,
                "Close the front matter with '---'.",
            )
    else:
        raise FileProblem(
            "unclosed-front-matter",
            "front matter opened with '---' is never closed",
            1,
            "Add a line '---' after the last key.",
        )
    meta, key_lines = strictyaml.load("\n".join(lines[1:close]) + "\n", first_line=2)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        kind = "a list" if isinstance(meta, list) else "a single value"
        raise FileProblem(
            "front-matter-not-mapping",
            f"front matter is {kind}, not a mapping of keys",
            2,
            "Write 'key: value' lines, such as 'title: ...'.",
        )
    body = "\n".join(lines[close + 1 :])
    return Document(meta, key_lines, body, close + 2)


#: A string written as it is (a YAML plain scalar that reads back as the same string): ids,
#: paths, digests, dates. Anything else is written double-quoted.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./@+:-]*")
_NOT_PLAIN = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n"})
#: Line breaks YAML knows besides \n, which json.dumps leaves as they are.
_BREAKS = str.maketrans({"\u0085": "\\x85", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def scalar(value: str | bool | int) -> str:
    """``value`` as one line of YAML that every YAML reader (bok's, MkDocs', Zensical's) reads
    back as exactly ``value``: newlines, quotes and control characters escaped."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if _PLAIN.fullmatch(value) and value.lower() not in _NOT_PLAIN and ": " not in value:
        return value
    return json.dumps(value, ensure_ascii=False).translate(_BREAKS)


def front_matter(meta: dict[str, Any]) -> str:
    """The YAML lines of front matter (without the ``---`` lines): the one writer of front
    matter, for chapters, records, the registry bok init writes and the staged pages."""
    lines = []
    for key, value in meta.items():
        if isinstance(value, list | tuple):
            lines.append(f"{key}: [{', '.join(scalar(v) for v in value)}]")
        else:
            lines.append(f"{key}: {scalar(value)}")
    return "".join(f"{line}\n" for line in lines)


def render(meta: dict[str, Any], body: str) -> str:
    """A Markdown file's text: front matter from ``meta``, then the body."""
    return f"{DELIMITER}\n{front_matter(meta)}{DELIMITER}\n{body.lstrip(chr(10))}"
