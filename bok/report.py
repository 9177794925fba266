"""Reports of a check: plain text for people, JSON for tools, workflow commands for GitHub.

The JSON shape is a contract (tools and tests read it): keys may be added, never removed or
renamed. See the handbook's chapter on output formats.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from . import policy
from .errors import Finding, printable
from .gate import Result
from .policy import STATES, Status

FORMAT_VERSION = 1


def chapter_record(result: Result, status: Status) -> dict[str, Any]:
    chapter = result.book.chapters.get(status.path)
    return {
        "path": status.path,
        "domain": chapter.domain if chapter else status.path.split("/")[1],
        "title": chapter.title if chapter else None,
        "state": status.state,
        "authors": list(chapter.authors) if chapter else [],
        "endorsed_by": status.endorsed_by,
        "type": chapter.type if chapter else None,
        "signed_by": status.signed_by,
        "objections": sorted(status.objections),
        "missing": status.missing,
        "may_endorse": status.may_endorse,
        "endorsed_on": status.endorsed_on.isoformat() if status.endorsed_on else None,
        "revalidate_on": status.revalidate_on.isoformat() if status.revalidate_on else None,
    }


def finding_record(finding: Finding) -> dict[str, Any]:
    return {
        "path": finding.path,
        "line": finding.line,
        "severity": finding.severity,
        "rule": finding.rule,
        "message": finding.message,
        "fix": finding.fix,
    }


def as_json(result: Result) -> str:
    data = {
        "ok": result.ok,
        "chapters": [chapter_record(result, s) for s in result.statuses.values()],
        "findings": [finding_record(f) for f in result.findings],
        "base": result.base,
        "base_commit": result.base_commit,
        "version": FORMAT_VERSION,
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def summary_line(result: Result) -> str:
    states = Counter(s.state for s in result.statuses.values())
    parts = [f"{states[s]} {s}" for s in STATES if states[s]]
    errors = sum(f.is_error for f in result.findings)
    warnings = len(result.findings) - errors
    total = len(result.statuses)
    return (f"{total} chapter{'s' * (total != 1)}: {', '.join(parts) or 'none'}; "
            f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}.")


def check_text(result: Result) -> str:
    lines = [str(f) for f in result.findings]
    lines.append(summary_line(result))
    return "\n".join(lines)


def status_text(result: Result) -> str:
    lines = []
    for status in result.statuses.values():
        row = chapter_record(result, status)
        authors = ", ".join(row["authors"]) or "-"
        lines.append(f"{row['state']:<9} {row['domain']:<14} {row['type'] or '-':<10} "
                     f"{row['path']}  (by {authors})")
        if status.endorsed_by and status.state == "expired":
            lines.append(f"          endorsed by {', '.join(status.endorsed_by)}; "
                         f"re-validation due since {status.revalidate_on}")
        elif status.endorsed_by:
            lines.append(f"          endorsed by {', '.join(status.endorsed_by)}"
                         + (f" on {status.endorsed_on}" if status.endorsed_on else "")
                         + (f"; re-validate by {status.revalidate_on}"
                            if status.revalidate_on else ""))
        if status.missing and status.state not in ("draft", "invalid"):
            lines.append(f"          missing: {'; '.join(status.missing)}")
            if status.may_endorse:
                lines.append(f"          may endorse: {', '.join(status.may_endorse)}")
    # what the per-chapter lines above already say is not repeated
    lines += [str(f) for f in result.findings if f.rule not in ("not-endorsed",
                                                                 "revalidation-due")]
    lines.append(summary_line(result))
    return "\n".join(printable(line) for line in lines)


def _escape_data(text: str) -> str:
    """Control characters shown as in text output (``\\r``), then as workflow commands need."""
    return printable(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(result: Result) -> str:
    """Workflow commands; GitHub shows each as an annotation on the file and line."""
    lines = []
    for f in result.findings:
        props = f"file={_escape_property(f.path)}"
        if f.line:
            props += f",line={f.line}"
        props += f",title={_escape_property('bok ' + f.rule)}"
        message = f"{f.message}. {f.fix}" if f.fix else f.message
        lines.append(f"::{f.severity} {props}::{_escape_data(message)}")
    lines.append(summary_line(result))
    return "\n".join(lines)


def github_summary(result: Result) -> str:
    """A Markdown summary for the run page (GITHUB_STEP_SUMMARY)."""
    icon = {"endorsed": "✅", "expired": "⏰", "pending": "🕓", "awaiting": "⏳",
            "draft": "📝", "invalid": "❌"}
    out = [f"## bok check: {'passed' if result.ok else 'failed'}", "",
           summary_line(result), ""]
    if not result.statuses:  # an empty table would look like a rendering fault
        out.append("No chapters" + (" in this change." if result.base else " in this book."))
    else:
        out += ["| chapter | state | endorsed by | may still endorse | missing |",
                "|---|---|---|---|---|"]
    def cell(value: str) -> str:
        return printable(value.replace("|", "\\|").replace("\n", " "))

    for status in result.statuses.values():
        out.append(f"| `{cell(status.path)}` | {icon.get(status.state, '')} {status.state} | "
                   f"{', '.join(status.endorsed_by) or '-'} | "
                   f"{', '.join(status.may_endorse) or '-'} | "
                   f"{cell('; '.join(status.missing)) or '-'} |")
    if result.findings:
        out += ["", "### Findings", ""]
        out += [printable(f"- **{f.severity}** `{f.location()}`: {f.message} ({f.rule})")
                for f in result.findings]
    return "\n".join(out) + "\n"


#: Why a chapter in each state is not on the site, for the build's summary.
_LEFT_OUT_WHY = {
    policy.AWAITING: "awaiting endorsement",
    policy.PENDING: "pending, with no endorsed revision in the history",
    policy.DRAFT: "draft",
    policy.INVALID: "invalid (see bok check)",
}


def build_summary(report, root: Path) -> str:
    """What ``bok build`` published and what it left out, and why."""
    try:
        where = report.site.relative_to(root).as_posix() + "/"
    except ValueError:
        where = str(report.site)
    count = report.chapters
    text = f"built the site into {where}: {count} chapter{'s' * (count != 1)} published"
    left = [f"{len(paths)} {_LEFT_OUT_WHY.get(state, state)}"
            for state, paths in sorted(report.left_out.items()) if paths]
    if left:
        text += "; left out: " + ", ".join(left) + " ('bok status' says what each needs)"
    elif count == 0:
        text += " (no chapter is endorsed yet: 'bok status' says what each needs)"
    return text + "."
