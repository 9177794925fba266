"""Reports of a check: plain text for people, JSON for tools, workflow commands for GitHub.

The JSON shape is a contract (tools and tests read it): keys may be added, never removed or
renamed. See the handbook's chapter on output formats.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import policy
from .errors import Finding, printable
from .gate import Result
from .health import HORIZON, SOON, Health
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


def github_summary(result: Result, endorsed: dict[str, Any] | None = None,
                   compare_url: str | None = None) -> str:
    """A Markdown summary for the run page (GITHUB_STEP_SUMMARY).

    ``endorsed`` maps a chapter that is not endorsed as it is to the newest revision of it
    that was (a :class:`bok.history.Revision`): the summary links each to its diff, on
    ``compare_url`` (``<server>/<repository>/compare/`` and ``{commit}...<head>``) when given,
    else names the ``bok diff`` command that shows it."""
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
    if endorsed:
        out += ["", "### Changes since the endorsed revision", ""]
        for path, revision in sorted(endorsed.items()):
            url = compare_url.replace("{commit}", revision.commit) if compare_url else None
            where = (f"[changes since {revision.short}]({url})" if url
                     else f"`bok diff {cell(path)}`")
            status = result.statuses[path]
            out.append(f"- `{cell(path)}`: endorsed on {revision.date:%Y-%m-%d} "
                       f"({revision.short}); {where}; may endorse: "
                       f"{', '.join(status.may_endorse) or '-'}")
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


# --- the health of the book (bok health, bok queue) -------------------------------------------


def _day(value) -> str | None:
    return value.isoformat() if value is not None else None


def _lapse_record(lapse) -> dict[str, Any]:
    return {"path": lapse.path, "domain": lapse.domain, "title": lapse.title,
            "on": _day(lapse.on), "days": lapse.days, "endorsed_by": list(lapse.endorsed_by),
            "may_revalidate": list(lapse.may_revalidate)}


def _waiting_record(item) -> dict[str, Any]:
    return {"path": item.path, "domain": item.domain, "title": item.title,
            "state": item.state, "since": _day(item.since), "commit": item.commit,
            "days": item.days, "may_endorse": list(item.may_endorse),
            "missing": list(item.missing)}


def health_record(health: Health) -> dict[str, Any]:
    """The health as plain data: the ``bok health --format json`` contract."""
    share = health.endorsed_share
    return {
        "today": health.today.isoformat(),
        "domain": health.domain,
        "chapters": health.chapters,
        "states": health.counts,
        "endorsed_share": round(share, 4) if share is not None else None,
        "lapsing_30": len(health.lapsing_within(SOON)),
        "lapsing_90": len(health.lapsing_within(HORIZON)),
        "lapsing": [_lapse_record(lapse) for lapse in health.lapsing],
        "lapsed": [_lapse_record(lapse) for lapse in health.lapsed],
        "understaffed": [{"path": u.path, "domain": u.domain, "title": u.title,
                          "eligible": list(u.eligible), "needed": u.needed}
                         for u in health.understaffed],
        "domains": [{"domain": s.domain, "title": s.title,
                     "states": {k: v for k, v in health.for_domain(s.domain).counts.items()},
                     "experts": list(s.experts), "stewards": list(s.stewards),
                     "problems": s.problems} for s in health.staff],
        "queue": [_waiting_record(item) for item in health.queue],
        "load": health.load,
        "activity": [{"month": m.month, "written": m.written, "endorsed": m.endorsed,
                      "revalidated": m.revalidated} for m in health.activity()],
        "quarter": health.quarter,
        "contributors": health.contributors,
        "history": health.history,
        "version": FORMAT_VERSION,
    }


def health_json(health: Health) -> str:
    return json.dumps(health_record(health), indent=2, ensure_ascii=False)


def _in_days(days: int) -> str:
    if days > 0:
        return f"in {days} day{'s' * (days != 1)}"
    if days == 0:
        return "today"
    return f"{-days} day{'s' * (days != -1)} ago"


def _names(ids) -> str:
    return ", ".join(ids) or "nobody"


def health_summary(health: Health) -> str:
    """One line: how many chapters, the share endorsed, what is due."""
    share = health.endorsed_share
    counts = ", ".join(f"{n} {state}" for state, n in health.counts.items()) or "none"
    return (f"{health.chapters} chapter{'s' * (health.chapters != 1)} ({counts}); "
            f"{'-' if share is None else f'{share:.0%}'} endorsed and current; "
            f"{len(health.queue)} awaiting review, {len(health.lapsed)} lapsed, "
            f"{len(health.lapsing_within(SOON))} lapsing within {SOON} days.")


def health_text(health: Health) -> str:
    """``bok health`` for people: the summary, then each section that has something in it."""
    out = [f"Health of the book on {health.today}: {health_summary(health)}"]
    if not health.history:
        out.append("(no Git history: waiting times and activity are not known)")

    def section(title: str, rows: list[str]) -> None:
        if rows:
            out.extend(["", f"{title}:", *rows])

    section("Lapsed (re-validation due)", [
        f"  {x.path}  lapsed on {x.on} ({_in_days(x.days)}); may re-validate: "
        f"{_names(x.may_revalidate)}" for x in health.lapsed])
    section(f"Lapsing within {HORIZON} days", [
        f"  {x.path}  lapses on {x.on} ({_in_days(x.days)}); endorsed by "
        f"{_names(x.endorsed_by)}" for x in health.lapsing])
    section("Review queue (oldest first)", [
        f"  {w.path}  {w.state}, waiting {w.days} day{'s' * (w.days != 1)}"
        + (f" since {w.since} ({w.commit})" if w.since else " (not committed)")
        + f"; may endorse: {_names(w.may_endorse)}" for w in health.queue])
    section("Reviewer load (chapters awaiting each expert)", [
        f"  {member}: {count}" for member, count in health.load.items()])
    section("Too few experts may endorse", [
        f"  {u.path}  needs {u.needed} endorsement{'s' * (u.needed != 1)}, "
        f"{len(u.eligible)} eligible expert{'s' * (len(u.eligible) != 1)} "
        f"({_names(u.eligible)})" for u in health.understaffed])
    section("Domains", [
        f"  {s.domain}: {len(s.experts)} expert{'s' * (len(s.experts) != 1)}, "
        f"stewards among them: {_names(s.stewards)}"
        + (f"  <- {'; '.join(s.problems)}" if s.problems else "") for s in health.staff])
    if health.history:
        section("Activity (written / endorsed / re-validated)", [
            f"  {m.month}: {m.written} / {m.endorsed} / {m.revalidated}"
            for m in health.activity() if m.written or m.endorsed or m.revalidated])
        out.extend(["", f"Contributors in {health.quarter}: {_names(health.contributors)}"])
    return "\n".join(out)


def health_annotations(health: Health) -> str:
    """Workflow commands: a warning on each lapsed or understaffed chapter, a notice on each
    endorsement lapsing within 30 days and each domain short of people; then the summary."""
    lines = []

    def command(level: str, path: str, rule: str, message: str) -> None:
        props = f"file={_escape_property(path)},title={_escape_property('bok ' + rule)}"
        lines.append(f"::{level} {props}::{_escape_data(message)}")

    for x in health.lapsed:
        command("warning", x.path, "revalidation-due",
                f"endorsements lapsed on {x.on}; may re-validate: {_names(x.may_revalidate)}")
    for x in health.lapsing_within(SOON):
        command("notice", x.path, "revalidation-soon",
                f"endorsements lapse on {x.on} ({_in_days(x.days)}); endorsed by "
                f"{_names(x.endorsed_by)}")
    for u in health.understaffed:
        command("warning", u.path, "too-few-experts",
                f"needs {u.needed} endorsements, and only {len(u.eligible)} expert(s) of "
                f"'{u.domain}' did not write it; add experts to reviews/members.yml")
    for s in health.staff:
        if s.problems:
            command("notice", f"content/{s.domain}/index.md", "domain-short-of-people",
                    f"domain '{s.domain}': {'; '.join(s.problems)}")
    lines.append(health_summary(health))
    return "\n".join(lines)


def health_markdown(health: Health) -> str:
    """A Markdown report for the run page (GITHUB_STEP_SUMMARY)."""
    def cell(value: str) -> str:
        return value.replace("|", "\\|").replace("\n", " ")

    out = [f"## bok health on {health.today}", "", health_summary(health), ""]
    if health.lapsed or health.lapsing:
        out += ["| chapter | lapses | may re-validate |", "|---|---|---|"]
        out += [f"| `{cell(x.path)}` | {x.on} ({_in_days(x.days)}) | "
                f"{_names(x.may_revalidate)} |" for x in (*health.lapsed, *health.lapsing)]
        out.append("")
    if health.queue:
        out += ["| awaiting review | waiting | may endorse |", "|---|---|---|"]
        out += [f"| `{cell(x.path)}` | {x.days} days | {_names(x.may_endorse)} |"
                for x in health.queue]
        out.append("")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Due:
    """One item of a member's queue."""

    kind: str  # lapsed | lapsing | review
    path: str
    title: str
    domain: str
    note: str
    command: str


def queue_items(health: Health, member: str) -> list[Due]:
    """What awaits ``member``, most urgent first: lapsed endorsements (longest overdue first),
    endorsements lapsing within 30 days, then chapters awaiting review (oldest first)."""
    items = [Due("lapsed", x.path, x.title, x.domain,
                 f"endorsements lapsed on {x.on} ({_in_days(x.days)})",
                 f"bok endorse {x.path}")
             for x in health.lapsed if member in x.may_revalidate]
    items += [Due("lapsing", x.path, x.title, x.domain,
                  f"endorsements lapse on {x.on} ({_in_days(x.days)})",
                  f"bok endorse {x.path}")
              for x in health.lapsing_within(SOON) if member in x.may_revalidate]
    items += [Due("review", x.path, x.title, x.domain,
                  f"{x.state}, waiting {x.days} day{'s' * (x.days != 1)}"
                  + (f" since {x.since} ({x.commit})" if x.since else ""),
                  f"bok diff {x.path}" if x.state == policy.PENDING else f"bok endorse {x.path}")
              for x in health.queue if member in x.may_endorse]
    return items


_DUE_TITLES = {"lapsed": "Re-validation due", "lapsing": f"Lapsing within {SOON} days",
               "review": "Awaiting endorsement"}


def queue_markdown(health: Health, member: str, name: str) -> str:
    """A member's queue as a Markdown task list, ready to paste into an issue."""
    items = queue_items(health, member)
    out = [f"## Review queue of {name} ({member}), {health.today}", ""]
    if not items:
        out.append("Nothing awaits you: no chapter of your domains is due.")
    for kind, title in _DUE_TITLES.items():
        mine = [item for item in items if item.kind == kind]
        if not mine:
            continue
        out += [f"### {title}", ""]
        out += [f"- [ ] `{item.path}` ({item.domain}): {item.title} - {item.note}; "
                f"`{item.command}`" for item in mine]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def queue_json(health: Health, member: str) -> str:
    data = {"member": member, "today": health.today.isoformat(),
            "items": [{"kind": i.kind, "path": i.path, "title": i.title, "domain": i.domain,
                       "note": i.note, "command": i.command}
                      for i in queue_items(health, member)],
            "version": FORMAT_VERSION}
    return json.dumps(data, indent=2, ensure_ascii=False)
