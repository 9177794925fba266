"""The review policy as pure functions: given verified records, what state is a chapter in?

No I/O here: the loader supplies the model, :mod:`bok.signing` says which records verify, and
these rules decide. The gate, ``bok status`` and the site all ask the same questions here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import Finding
from .model import Book, Chapter, Policy, Record, Registry, Rules
from .signing import Verification, verify_record

#: A record may be dated this much after the day it is checked (the signer's clock and time
#: zone may be ahead of the checker's); a later date is not believed.
CLOCK_SKEW = dt.timedelta(days=1)
#: The longest revalidate_after_days the policy takes: a century (later lapse dates overflow).
MAX_REVALIDATE_DAYS = 36500

DRAFT, AWAITING, PENDING, ENDORSED, EXPIRED, INVALID = (
    "draft", "awaiting", "pending", "endorsed", "expired", "invalid")
STATES = (DRAFT, AWAITING, PENDING, ENDORSED, EXPIRED, INVALID)
NOUNS = {"endorse": "endorsement", "object": "objection", "sign": "signature"}


@dataclass
class Status:
    """A chapter's standing under the policy, with the reasons."""

    path: str
    state: str
    signed_by: list[str] = field(default_factory=list)
    endorsed_by: list[str] = field(default_factory=list)
    endorsements: list[Verification] = field(default_factory=list)  # the ones that count
    objections: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    may_endorse: list[str] = field(default_factory=list)
    endorsed_on: dt.date | None = None
    revalidate_on: dt.date | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def published(self) -> bool:
        return self.state in (ENDORSED, EXPIRED)


def evaluate(chapter: Chapter, checked: list[Verification], registry: Registry, rules: Rules,
             today: dt.date, digest: str | None = None, authors: tuple[str, ...] | None = None
             ) -> Status:
    """Judge ``chapter`` (or an earlier revision of it, by ``digest`` and ``authors``)."""
    digest = digest or chapter.digest
    authors = chapter.authors if authors is None else authors
    status = Status(chapter.path, AWAITING)
    believed = []
    for v in checked:
        if v.valid and future_dated(v.record.date, today):
            status.findings.append(_future_finding(v.record, today))
        elif v.valid:
            believed.append(v)
    on_content = [v for v in believed if v.record.digest == digest]
    experts = {m.id for m in registry.experts_of(chapter.domain)}

    signatures = sorted({v.record.member for v in on_content
                         if v.record.verdict == "sign" and v.record.member in authors})
    status.signed_by = signatures
    needed = {"all": len(authors), "one": min(1, len(authors)), "none": 0}[rules.author_signatures]

    counted: list[Verification] = []
    people: set[str] = set()
    for v in sorted(on_content, key=lambda v: v.record.date, reverse=True):
        record = v.record
        if record.verdict not in ("endorse", "object"):
            continue
        if record.member in authors:
            status.findings.append(Finding(
                record.path, "self-endorsement",
                f"'{record.member}' is an author of {chapter.path} and cannot {record.verdict} it",
                fix="Ask an expert of the domain who did not write it."))
            continue
        if record.member not in experts:
            status.findings.append(Finding(
                record.path, "not-an-expert",
                f"'{record.member}' is not an expert of '{chapter.domain}'; the "
                f"{NOUNS[record.verdict]} does not count",
                fix=f"Experts of '{chapter.domain}': {', '.join(sorted(experts)) or 'none'}."))
            continue
        if record.verdict == "object":
            status.objections.append(record.member)
            continue
        if record.member in people or v.fingerprint in people:
            continue  # one person counts once, whatever ids they appear under
        people.update((record.member, v.fingerprint))
        counted.append(v)

    days = rules.revalidate_after_days
    fresh = [v for v in counted
             if days == 0 or (lapse_date(v.record.date, days) or dt.date.max) > today]
    status.endorsements = counted
    status.endorsed_by = sorted(v.record.member for v in counted)
    status.may_endorse = sorted(experts - set(authors) - set(status.endorsed_by)
                                - set(status.objections))

    if len(signatures) < needed:
        unsigned = [a for a in authors if a not in signatures]
        status.missing.append(f"author signature from {_either(unsigned, needed, signatures)}")
    if len(counted) < rules.endorsements:
        short = rules.endorsements - len(counted)
        status.missing.append(f"{short} more endorsement{'s' * (short > 1)} from an expert of "
                              f"'{chapter.domain}'")
        eligible = len(experts - set(authors))
        if eligible < rules.endorsements:
            status.missing.append(f"more experts: only {eligible} expert(s) of "
                                  f"'{chapter.domain}' did not write it, and the policy needs "
                                  f"{rules.endorsements}")
    if status.objections:
        status.missing.append(f"objection from {', '.join(sorted(status.objections))} to resolve")
    if status.missing:
        return status

    k = rules.endorsements
    dates = sorted(v.record.date for v in counted)
    sign_dates = [v.record.date for v in on_content if v.record.verdict == "sign"
                  and v.record.member in authors]
    reached = sign_dates + ([dates[k - 1]] if k else [])
    status.endorsed_on = max(reached) if reached else None
    if k and days:
        newest_k = sorted(dates, reverse=True)[k - 1]
        status.revalidate_on = lapse_date(newest_k, days)
        if status.revalidate_on is None:
            status.findings.append(Finding(
                chapter.path, "date-out-of-range", f"its endorsements of {newest_k} would lapse "
                f"{days} days later, after {dt.date.max}", fix="Lower revalidate_after_days in "
                f"reviews/policy.yml (at most {MAX_REVALIDATE_DAYS}, or 0 for never)."))
    status.state = ENDORSED if len(fresh) >= k else EXPIRED
    if status.state == EXPIRED:
        status.missing.append(f"re-validation, due since {status.revalidate_on}")
        # whoever endorsed before may re-validate: only fresh endorsements are settled
        settled = {v.record.member for v in fresh}
        status.may_endorse = sorted(experts - set(authors) - settled - set(status.objections))
    return status


def _either(unsigned: list[str], needed: int, signed: list[str]) -> str:
    if needed == 1 and not signed and len(unsigned) > 1:
        return "one of " + ", ".join(unsigned)
    return ", ".join(unsigned)


def future_dated(when: dt.date, today: dt.date) -> bool:
    """Is a record dated after the day it is checked (beyond the clock skew allowed)?

    A record's date is its signer's word. One dated in the future would never lapse and would
    look newer than the objection its member makes tomorrow, so it is not believed.
    """
    return when > (lapse_date(today, CLOCK_SKEW.days) or dt.date.max)


def _future_finding(record: Record, today: dt.date) -> Finding:
    return Finding(record.path, "record-future-dated",
                   f"dated {record.date}, after the day it is checked ({today}); it does not count",
                   fix="The member signs again with bok, which dates the record today.")


def lapse_date(when: dt.date, days: int) -> dt.date | None:
    """``when`` plus ``days``; None past the last date Python can hold (9999-12-31)."""
    try:
        return when + dt.timedelta(days=days)
    except OverflowError:
        return None


def review_notes(chapter: Chapter, checked: list[Verification], registry: Registry,
                 status: Status, today: dt.date, about_a_revision: Callable[[str], bool]
                 ) -> list[Record]:
    """The records a chapter's page may show as review notes, oldest first.

    A note on the page reads as review, so only review is shown: the records that count for
    the content shown (``status``), and the endorsements and objections that an expert of the
    domain who is not an author made about a revision of the chapter
    (``about_a_revision(digest)``, asked only for such records). A record by anyone else, or
    pinned to content that never was the chapter, stays off the page.
    """
    counted = {v.record.path for v in status.endorsements}
    experts = {m.id for m in registry.experts_of(chapter.domain)}
    notes = []
    for v in checked:
        record = v.record
        if (not v.valid or record.verdict not in ("endorse", "object")
                or future_dated(record.date, today)):
            continue
        eligible = record.member in experts and record.member not in chapter.authors
        if record.path in counted or (eligible and about_a_revision(record.digest)):
            notes.append(record)
    return sorted(notes, key=lambda r: (r.date, r.member))


@dataclass(frozen=True)
class LostEndorsements:
    """A chapter below the policy because endorsements of its content stopped counting."""

    path: str
    lost: tuple[tuple[str, str], ...]  # (member id, why it no longer counts)
    missing: tuple[str, ...]  # what the chapter needs now (Status.missing)
    may_endorse: tuple[str, ...]  # who may re-endorse it


def lost_endorsements(chapter: Chapter, checked: list[Verification], registry: Registry,
                      rules: Rules, status: Status) -> LostEndorsements | None:
    """Whether ``chapter`` (judged as ``status``) falls short of the endorsements the policy
    needs while endorsements of its current content exist that no longer count: their member
    left the registry or the domain's experts, or signed with a key since revoked, retired or
    removed. None when nothing was lost, or the chapter still has enough.

    Pure, for ``bok check`` and ``bok health``: it names what was lost and who may re-endorse.
    """
    if status.state in (DRAFT, INVALID, ENDORSED, EXPIRED) \
            or len(status.endorsements) >= rules.endorsements:
        return None
    experts = {m.id for m in registry.experts_of(chapter.domain)}
    lost: dict[str, str] = {}
    for v in checked:
        record = v.record
        if record.verdict != "endorse" or record.digest != chapter.digest \
                or record.member in chapter.authors:
            continue
        if not v.valid and registry.get(record.member) is None:
            lost[record.member] = "no longer a member"
        elif not v.valid and v.key_status:
            lost[record.member] = f"signed with a key since {v.key_status}"
        elif not v.valid and v.unregistered:
            lost[record.member] = "signed with a key no longer registered to them"
        elif v.valid and record.member not in experts:
            lost[record.member] = f"not an expert of '{chapter.domain}'"
    if not lost:
        return None
    return LostEndorsements(chapter.path, tuple(sorted(lost.items())), tuple(status.missing),
                            tuple(status.may_endorse))


EarlierRevision = Callable[[Chapter, list[Verification], Registry, Policy, dt.date], bool]


def evaluate_book(book: Book, today: dt.date, registry: Registry | None = None,
                  earlier: EarlierRevision | None = None,
                  signer: Callable[[bytes, str], str] | None = None
                  ) -> tuple[dict[str, Status], dict[str, Verification]]:
    """Verify every record and compute every chapter's state: the rules applied to a whole
    book, for the gate, the site and ``bok health`` alike (``signer``: see
    :func:`bok.signing.verify_record`; ``earlier``: whether an earlier revision of a chapter
    that awaits endorsement was endorsed, which makes it pending)."""
    registry = registry or book.registry
    verifications = {r.path: verify_record(r, registry, signer) for r in book.records}
    statuses: dict[str, Status] = {}
    for path, chapter in sorted(book.chapters.items()):
        checked = [verifications[r.path] for r in book.records_for(path)]
        if chapter.draft:
            statuses[path] = Status(path, DRAFT)
            continue
        rules = book.policy.rules_for(chapter.domain, chapter.type)
        status = evaluate(chapter, checked, registry, rules, today)
        if status.state == AWAITING and earlier is not None and earlier(
                chapter, checked, registry, book.policy, today):
            status.state = PENDING
        statuses[path] = status
    for path in sorted(book.invalid_chapters):
        statuses[path] = Status(path, INVALID)
    return statuses, verifications
