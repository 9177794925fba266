"""``bok check``: judge a whole book, or a change against its base revision.

Without a base, every file is validated, every record verified, and each chapter's state
computed; a chapter that is not endorsed is a warning (the site will not publish it).

With a base revision (a pull request's target), trust comes from the base: the registry and the
policy are read from it, never from the change. Every chapter the change adds or alters must be
endorsed (or be a draft); a change to the registry or the policy needs its stewards' sign-off;
deleting a record, or replacing it with an older one, is reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import codeowners, policy
from .errors import WARNING, Finding
from .loading import load_book, load_record
from .model import (
    REGISTRY_FILES,
    Book,
    Chapter,
    Policy,
    Registry,
    content_digest,
)
from .policy import Status
from .signing import Verification, verify_record
from .trees import GitTree, WorkTree

EarlierRevision = Callable[[Chapter, list[Verification], Registry, Policy, dt.date], bool]


@dataclass
class Result:
    """What ``bok check`` and ``bok status`` report."""

    book: Book
    statuses: dict[str, Status]
    verifications: dict[str, Verification]  # by record path
    findings: list[Finding] = field(default_factory=list)
    base: str | None = None

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)

    def strict(self) -> Result:
        """The same result with every warning raised to an error."""
        self.findings = [f.as_error() for f in self.findings]
        return self


def evaluate_book(book: Book, today: dt.date, registry: Registry | None = None,
                  earlier: EarlierRevision | None = None
                  ) -> tuple[dict[str, Status], dict[str, Verification]]:
    """Verify every record and compute every chapter's state."""
    registry = registry or book.registry
    verifications = {r.path: verify_record(r, registry) for r in book.records}
    statuses: dict[str, Status] = {}
    for path, chapter in sorted(book.chapters.items()):
        checked = [verifications[r.path] for r in book.records_for(path)]
        if chapter.draft:
            statuses[path] = Status(path, policy.DRAFT)
            continue
        status = policy.evaluate(chapter, checked, registry, book.policy.rules_for(chapter.domain),
                                 today)
        if status.state == policy.AWAITING and earlier is not None and earlier(
                chapter, checked, registry, book.policy, today):
            status.state = policy.PENDING
        statuses[path] = status
    for path in sorted(book.invalid_chapters):
        statuses[path] = Status(path, policy.INVALID)
    return statuses, verifications


def check(root: Path, base: str | None = None, today: dt.date | None = None,
          earlier: EarlierRevision | None = None) -> Result:
    """Check the book at ``root``; with ``base``, check it as a change against that revision."""
    today = today or dt.date.today()
    tree = WorkTree(root)
    trust = GitTree(root, base) if base else None
    book = load_book(tree, trust)
    statuses, verifications = evaluate_book(book, today, earlier=earlier)
    result = Result(book, statuses, verifications, list(book.findings), base)
    findings = result.findings
    for v in verifications.values():
        if not v.valid:
            findings.append(Finding(v.record.path, "bad-signature",
                                    f"record does not verify: {v.reason}",
                                    fix="The member must sign it again with bok."))
    for status in statuses.values():
        findings.extend(status.findings)
    findings.extend(_codeowners(root, book))
    if trust is None:
        findings.extend(_unendorsed(book, statuses, changed=None))
    else:
        changed = _changed_chapters(book, tree, trust)
        findings.extend(_unendorsed(book, statuses, changed))
        findings.extend(_registry_changes(book, trust, verifications))
        findings.extend(_record_changes(book, tree, trust))
    findings.sort(key=lambda f: (f.path, f.line or 0, f.rule))
    return result


def _codeowners(root: Path, book: Book) -> list[Finding]:
    """A committed CODEOWNERS that no longer matches the registry asks the wrong people."""
    found = codeowners.committed(root)
    if found is None:
        return []
    location, text = found
    if text == codeowners.render(book.registry, list(book.domains)):
        return []
    return [Finding(location, "codeowners-stale",
                    "CODEOWNERS does not match reviews/members.yml, so GitHub requests reviews "
                    "from the wrong people", severity=WARNING,
                    fix="Run 'bok codeowners' and commit the result.")]


def _unendorsed(book: Book, statuses: dict[str, Status], changed: set[str] | None
                ) -> list[Finding]:
    findings = []
    for path, status in statuses.items():
        if status.state in (policy.ENDORSED, policy.DRAFT, policy.INVALID):
            continue
        blocking = changed is not None and path in changed
        severity = "error" if blocking else WARNING
        if status.state == policy.EXPIRED and not blocking:
            findings.append(Finding(path, "revalidation-due",
                                    f"endorsements lapsed on {status.revalidate_on}",
                                    severity=WARNING,
                                    fix="Experts of the domain re-endorse it with 'bok endorse'."))
            continue
        may = ", ".join(status.may_endorse) or "no eligible expert yet"
        what = "changed in this change and is not endorsed" if blocking else "is not endorsed"
        findings.append(Finding(path, "not-endorsed",
                                f"{what}: needs {'; '.join(status.missing)}",
                                severity=severity,
                                fix=f"May endorse: {may}. Not published until endorsed."))
    return findings


def _changed_chapters(book: Book, tree: WorkTree, trust: GitTree) -> set[str]:
    """Chapters whose content differs from the base (line endings aside)."""
    candidates = [p for p, c in book.chapters.items() if not c.draft]
    trust.prefetch([p for p in candidates if p in trust.blobs])
    changed = set()
    for path in candidates:
        before = trust.read(path)
        if before is None or content_digest(before) != book.chapters[path].digest:
            changed.add(path)
    return changed


def _registry_changes(book: Book, trust: GitTree, verifications: dict[str, Verification]
                      ) -> list[Finding]:
    """A change to members.yml or policy.yml needs sign-off by the base's stewards."""
    findings = []
    needed = book.policy.registry_signoffs
    for path in REGISTRY_FILES:
        before = trust.read(path)
        now = book.file_digests.get(path)
        if (content_digest(before) if before is not None else None) == now:
            continue
        signers = set()
        for record in book.records_for(path):
            v = verifications[record.path]
            member = book.registry.get(record.member)
            if record.digest != now or record.verdict != "endorse" or not v.valid:
                continue
            if member is None or not member.steward:
                findings.append(Finding(record.path, "not-a-steward",
                                        f"'{record.member}' is not a steward; the sign-off of "
                                        f"{path} does not count",
                                        fix="Ask a steward of the base registry."))
                continue
            signers.add(v.fingerprint)
        if len(signers) < needed:
            stewards = ", ".join(m.id for m in book.registry.stewards()) or "none"
            findings.append(Finding(path, "registry-signoff-missing",
                                    f"changed without sign-off: {len(signers)} of {needed} "
                                    "steward signature(s) on its new content",
                                    fix=f"A steward runs 'bok endorse {path}'. "
                                        f"Stewards: {stewards}."))
    return findings


def _record_changes(book: Book, tree: WorkTree, trust: GitTree) -> list[Finding]:
    """Records are append-only history: a deleted or rolled-back record is reported."""
    findings = []
    base_records = [e.path for e in trust.walk("reviews") if e.path.endswith(".md")]
    trust.prefetch(base_records)
    current = {r.path: r for r in book.records}
    for path in base_records:
        old = load_record(trust, path, [])
        if old is None:
            continue
        if not tree.exists(path):
            if old.chapter in book.chapters or old.chapter in REGISTRY_FILES:
                findings.append(Finding(path, "record-deleted",
                                        f"the record of '{old.member}' for {old.chapter} was "
                                        "deleted",
                                        fix="Records are never deleted; the member signs a new "
                                            "one to change their verdict."))
            continue
        new = current.get(path)
        if new is not None and new.date < old.date:
            findings.append(Finding(path, "record-rolled-back",
                                    f"replaced by an older record of '{old.member}' "
                                    f"({new.date} < {old.date})",
                                    fix="Restore the newer record."))
    return findings
