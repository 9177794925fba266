"""What a change may do to chapters' review records: a signed statement counts once, for the
change it was made for.

The base's records are the review a book has had. Whoever pushes a pull request, each of them
must come out of it in one of three ways: unchanged; moved together with its chapter, and with
all of that chapter's other records (``bok mv``); or superseded by a newer statement of the same
member, signed with their key. Anything else would let a change pick its own review: deleting
an objection, renaming a chapter and moving only the endorsements, or putting back an
endorsement its member has since replaced.

"Newer" cannot rest on the dates members write. A statement (the exact payload a member
signed: chapter, verdict, digest, date, comments) already in the base's history of the record
files it could have been in (where it was signed, where it is, the records it replaces) is
old, whatever its date; a date earlier than the record it replaces is a roll-back too.

Cost follows the change: the base's listing (already read) gives its records; one ``git log``
limited to the record files of the records the change adds or alters, and one
``git cat-file``, read their past statements.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from . import history
from .errors import WARNING, Finding
from .loading import load_record
from .model import (
    CONTENT,
    REGISTRY_FILES,
    REGISTRY_RECORDS,
    REVIEWS,
    Book,
    Record,
    record_path,
    reviewed_path,
)
from .paths import name_problem
from .policy import NOUNS, future_dated
from .revisions import _Blobs  # earlier versions, read through the loader's interface
from .signing import Verification, record_payload
from .trees import GitTree, WorkTree


def is_chapter_record(path: str) -> bool:
    """A record of a chapter (registry sign-offs live under reviews/_registry/)."""
    return (path.startswith(REVIEWS + "/") and path.endswith(".md")
            and not path.startswith(REGISTRY_RECORDS + "/") and path not in REGISTRY_FILES
            and reviewed_path(path) is not None)


def _is_chapter(path: str) -> bool:
    return path.startswith(CONTENT + "/") and path.endswith(".md") and path.count("/") >= 2


@dataclass
class _Base:
    """The base's records of the chapters a change touches."""

    records: dict[str, Record] = field(default_factory=dict)  # by path
    by_chapter: dict[str, list[Record]] = field(default_factory=lambda: defaultdict(list))


def _base_records(trust: GitTree, chapters: set[str]) -> _Base:
    folders = {record_path(c, "x").rsplit("/", 1)[0]: c for c in chapters}
    paths = [p for p in trust.blobs if posixpath.dirname(p) in folders
             and is_chapter_record(p) and name_problem(p) is None]
    trust.prefetch(paths)
    base = _Base()
    for path in sorted(paths):
        record = load_record(trust, path, [])
        if record is not None:
            base.records[path] = record
            base.by_chapter[folders[posixpath.dirname(path)]].append(record)
    return base


def _lineage(record: Record) -> set[str]:
    """Where a statement equal to ``record``'s was before: where it was signed (bok writes a
    record at its chapter's path and ``bok mv`` keeps what was signed) and where it is."""
    return {record.path, record_path(record.signed_path, record.member)}


def _past_statements(trust: GitTree, paths: set[str]) -> dict[bytes, Record]:
    """Every statement in the base's history of the record files at ``paths``, by payload."""
    specs = [f":(literal){path}" for path in sorted(paths)]
    versions = [(path, blob) for path, blob in trust.past_versions(specs)
                if is_chapter_record(path)]
    contents = trust.read_blobs([blob for _, blob in versions])
    past: dict[bytes, Record] = {}
    for path, blob in versions:
        record = load_record(_Blobs({path: contents[blob]}), path, [])
        if record is not None:
            past.setdefault(record_payload(record), record)
    return past


def record_findings(root: Path, book: Book, trust: GitTree, changes: dict[str, str],
                    verifications: dict[str, Verification], today: dt.date) -> list[Finding]:
    """Judge what the change does to the base's chapter records, and the records it adds."""
    tree = WorkTree(root)
    touched = {p for p, s in changes.items() if s == "D" and _is_chapter(p)}
    touched |= {reviewed_path(p) or "" for p, s in changes.items()
                if s in ("D", "M") and is_chapter_record(p)}
    base = _base_records(trust, touched)
    current = {r.path: r for r in book.records}
    changed = [current[p] for p, s in sorted(changes.items())
               if s in ("A", "M") and p in current and is_chapter_record(p)]
    findings: list[Finding] = []
    # what each changed record must not roll back, by its path
    supersedes: dict[str, list[Record]] = defaultdict(list)
    moved: dict[str, set[bytes]] = defaultdict(set)  # destination chapter -> statements moved in

    for chapter, records in sorted(base.by_chapter.items()):
        if tree.exists(chapter):
            for old in records:
                status = changes.get(old.path)
                if status == "D":
                    findings.append(Finding(
                        old.path, "record-deleted",
                        f"the record of '{old.member}' for {old.chapter} was deleted",
                        fix="Records are never deleted; the member signs a new one to change "
                            "their verdict."))
                elif status == "M":
                    supersedes[old.path].append(old)
            continue
        statements = {record_payload(r) for r in records}
        names = {chapter} | {r.signed_path for r in records}
        targets = sorted({n.chapter for n in changed
                          if n.chapter != chapter and (record_payload(n) in statements
                                                       or n.signed_path in names)})
        for target in targets:
            moved[target] |= statements
            for old in records:
                new_path = record_path(target, old.member)
                if not tree.exists(new_path):
                    findings.append(Finding(
                        old.path, "record-dropped-in-move",
                        f"{chapter} moves to {target} without the "
                        f"{NOUNS.get(old.verdict, 'record')} of '{old.member}'",
                        fix=f"Move every record of the chapter with it ('bok mv'): restore "
                            f"{old.path} at {new_path}."))
                else:
                    supersedes[new_path].append(old)

    judged = []
    for new in changed:
        statement = record_payload(new)
        olds = supersedes.get(new.path, [])
        same_path = [o for o in olds if o.path == new.path]
        if same_path and statement == record_payload(same_path[0]):
            continue  # unchanged but for its bytes
        if not same_path and statement in moved.get(new.chapter, set()):
            continue  # moved with its chapter
        judged.append((new, olds))
    lineage = {p for new, olds in judged for r in (new, *olds) for p in _lineage(r)}
    past = _past_statements(trust, lineage) if lineage else {}
    for new, olds in judged:
        findings.extend(_judge(new, olds, verifications[new.path], past, today))
    if judged and history.is_shallow(root):
        findings.append(Finding(".", "shallow-clone", "this is a shallow clone: a record that "
                                "puts back an earlier statement may go unnoticed",
                                severity=WARNING,
                                fix="Fetch the whole history: fetch-depth: 0, or git fetch "
                                    "--unshallow."))
    findings.extend(_not_current(book, changed, changes))
    return findings


def _judge(new: Record, olds: list[Record], verification: Verification,
           past: dict[bytes, Record], today: dt.date) -> list[Finding]:
    """A record the change adds or alters: a new statement of its own member, or a roll-back."""
    findings = []
    if olds and not verification.valid:
        old = olds[0]
        findings.append(Finding(
            new.path, "record-replaced-by-other",
            f"the {NOUNS.get(old.verdict, 'record')} of '{old.member}' is replaced by a record "
            "that is not theirs (it does not verify with their registered key)",
            fix="Only the member replaces their record, by signing again with bok; restore it."))
    before = past.get(record_payload(new))
    if before is not None:
        findings.append(Finding(
            new.path, "record-rolled-back",
            f"puts back an earlier statement of '{new.member}' ({NOUNS.get(before.verdict)} of "
            f"{before.date}, committed before at {before.path}); it was superseded",
            fix="Restore the current record. To change it, the member signs again with bok; a "
                "statement made before counts once, so say something new in -m."))
        return findings
    for old in olds:
        if new.date < old.date and not future_dated(old.date, today):
            findings.append(Finding(
                new.path, "record-rolled-back",
                f"replaced by an older record of '{old.member}' ({new.date} < {old.date})",
                fix="Restore the newer record."))
            break
    return findings


def _not_current(book: Book, changed: list[Record], changes: dict[str, str]) -> list[Finding]:
    """A record the change adds about content the chapter does not have.

    It reviews nothing in the book, and text on a page must not look like review. An error
    when the change leaves the chapter's content alone (nothing in the change explains such a
    record); a warning when the change edits the chapter too, as a review made before the
    author's last push is (the chapter's own ``not-endorsed`` then decides).
    """
    findings = []
    for new in changed:
        chapter = book.chapters.get(new.chapter)
        if chapter is None or new.digest == chapter.digest:
            continue
        edited = new.chapter in changes
        findings.append(Finding(
            new.path, "record-not-current",
            f"the {NOUNS.get(new.verdict, 'record')} of '{new.member}' is about content that is "
            f"not the current {new.chapter}",
            severity=WARNING if edited else "error",
            fix="The member reviews the current content with bok, or the record is left out."))
    return findings
