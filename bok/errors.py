"""Findings and errors: the only ways bok tells a user something is wrong.

A *finding* is a problem in one file of the book. It carries structured fields (path, line,
rule, fix) so that every report format -- text, JSON, GitHub annotations -- is built from data,
never by parsing strings. A *BokError* stops a command (a bad option, a missing base revision)
and reaches the user as one line, through click, without a traceback.
"""

from __future__ import annotations

import re
from dataclasses import KW_ONLY, dataclass, replace

import click

from . import rules

ERROR = "error"
WARNING = "warning"


#: Characters that move a terminal's cursor, change its colours or reorder text (C0, DEL, C1,
#: and the bidirectional controls), and lone surrogates (bytes of a name that is not UTF-8).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` as it may be printed on a terminal or a CI log: a file or a key holding a
    carriage return or an escape sequence would otherwise overwrite what is shown. Control
    characters become Python escapes (``\\r``, ``\\x1b``); a byte that is not UTF-8, ``\\xNN``."""
    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if "\udc80" <= char <= "\udcff":  # a byte kept by surrogateescape
            return f"\\x{ord(char) - 0xDC00:02x}"
        return ascii(char)[1:-1]
    return _UNPRINTABLE.sub(escape, text)


@dataclass(frozen=True)
class Finding:
    """One problem in one file, with the rule it breaks and how to fix it."""

    path: str
    rule: str
    message: str
    line: int | None = None
    _: KW_ONLY
    severity: str = ERROR
    fix: str = ""

    def __post_init__(self) -> None:
        if not rules.known(self.rule):  # a name users search for: catalogued, documented
            raise ValueError(f"unknown rule {self.rule!r}: add it to bok.rules.RULES")

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def as_warning(self) -> Finding:
        return replace(self, severity=WARNING)

    def as_error(self) -> Finding:
        return replace(self, severity=ERROR)

    def location(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def __str__(self) -> str:
        text = f"{self.location()}: {self.severity}: {self.message} [{self.rule}]"
        return printable(f"{text} {self.fix}" if self.fix else text)


class FileProblem(Exception):
    """Raised while reading one file; the loader turns it into a Finding and moves on."""

    def __init__(self, rule: str, message: str, line: int | None = None, fix: str = ""):
        super().__init__(message)
        self.rule = rule
        self.message = message
        self.line = line
        self.fix = fix

    def finding(self, path: str) -> Finding:
        return Finding(path, self.rule, self.message, self.line, fix=self.fix)


class BokError(click.ClickException):
    """A command cannot go on; shown to the user as one line, exit status 1."""

    exit_code = 1
