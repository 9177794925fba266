"""Findings and errors: the only ways bok tells a user something is wrong.

A *finding* is a problem in one file of the book. It carries structured fields (path, line,
rule, fix) so that every report format -- text, JSON, GitHub annotations -- is built from data,
never by parsing strings. A *BokError* stops a command (a bad option, a missing base revision)
and reaches the user as one line, through click, without a traceback.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, replace

import click

ERROR = "error"
WARNING = "warning"


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
        return f"{text} {self.fix}" if self.fix else text


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
