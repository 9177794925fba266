"""Earlier endorsed revisions: what the site shows when the current content is not endorsed.

When someone pushes past the gate, or an expert withdraws, the newest revision that *was*
endorsed is still the book's practice (as MediaWiki's FlaggedRevs does for Wikipedia). Its
endorsements are the records whose digest matches that revision's content; its authors are the
ones in that revision's front matter.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import document, health, history, policy, schema
from .errors import FileProblem
from .loading import load_record
from .model import (
    REGISTRY_RECORDS,
    Book,
    Chapter,
    Policy,
    Registry,
    content_digest,
    reviewed_path,
)
from .signing import Verification, verify_record


@dataclass(frozen=True)
class EndorsedRevision:
    revision: history.Revision
    content: bytes
    status: policy.Status


def diff_lines(before: str, after: str, from_label: str = "endorsed",
               to_label: str = "under review", context: int = 3) -> list[str]:
    """The unified diff from an endorsed text to the text under review, as a reviewer reads it
    (``bok diff`` and the drafts preview's "Changes under review" both show this one)."""
    return list(difflib.unified_diff(before.strip("\n").split("\n"),
                                     after.strip("\n").split("\n"), from_label, to_label,
                                     n=context, lineterm=""))


def _authors_of(content: bytes) -> tuple[str, ...] | None:
    try:
        doc = document.parse(content)
        values, problems = schema.CHAPTER.validate(doc.meta, doc.lines)
    except FileProblem:
        return None
    return values["authors"] if values["authors"] else None


class _Blobs:
    """Earlier versions of files, read through the loader's tree interface."""

    def __init__(self, blobs: dict[str, bytes]):
        self.blobs = blobs

    def read(self, path: str) -> bytes | None:
        return self.blobs.get(path)

    def exists(self, path: str) -> bool:
        return path in self.blobs


def earlier_records(root: Path, chapter: Chapter, registry: Registry,
                    hist: history.History) -> list[Verification]:
    """Every committed version of the chapter's records, verified.

    A member keeps one record per chapter, so re-signing new content overwrites the record an
    earlier endorsed revision relied on; its committed versions still prove that endorsement.
    """
    prefix = chapter.reviews_dir + "/"
    return [v for _, v in _committed_versions(root, registry, [
        r for path, revs in hist.revisions.items() if path.startswith(prefix) for r in revs])]


def rewritten_records(root: Path, registry: Registry, hist: history.History
                      ) -> dict[str, list[Verification]]:
    """Every committed version of the chapter records committed more than once, verified and
    read in one ``git cat-file``, by the chapter they review today (for re-validations: a
    member who endorses the same content again replaces the record of their first
    endorsement, and only the history still holds that one)."""
    chapter_of: dict[tuple[str, str], str] = {}
    revisions = []
    for path, revs in hist.revisions.items():
        chapter = reviewed_path(path)
        if len(revs) < 2 or chapter is None or path.startswith(REGISTRY_RECORDS + "/"):
            continue
        for revision in revs:
            chapter_of[(revision.commit, revision.path)] = chapter
            revisions.append(revision)
    found: dict[str, list[Verification]] = {}
    for revision, verification in _committed_versions(root, registry, revisions):
        found.setdefault(chapter_of[(revision.commit, revision.path)], []).append(verification)
    return found


def _committed_versions(root: Path, registry: Registry, revisions: list[history.Revision]
                        ) -> list[tuple[history.Revision, Verification]]:
    """The records these revisions of record files hold, verified (one ``git cat-file``)."""
    revisions = [r for r in revisions if r.status != "D"]
    if not revisions:
        return []
    found = history.blobs_at(root, [(r.commit, r.path) for r in revisions])
    checked = []
    for revision in revisions:
        data = found.get((revision.commit, revision.path))
        if data is None:
            continue
        record = load_record(_Blobs({revision.path: data}), revision.path, [])
        if record is not None:
            checked.append((revision, verify_record(record, registry)))
    return checked


def revision_digests(root: Path, chapter: Chapter, hist: history.History) -> set[str]:
    """The digests of every committed revision of the chapter (one ``git cat-file``)."""
    revisions = [r for r in hist.of(chapter.path) if r.status != "D"]
    contents = history.blobs_at(root, [(r.commit, r.path) for r in revisions])
    return {content_digest(data) for data in contents.values() if data is not None}


def endorsed_revisions(root: Path, chapter: Chapter, checked: list[Verification],
                       registry: Registry, book_policy: Policy, today: dt.date,
                       hist: history.History, include_current: bool = False
                       ) -> Iterator[EndorsedRevision]:
    """The revisions of ``chapter`` whose content its experts endorsed under the policy,
    newest first (the records of today and every committed version of them count)."""
    if not checked:
        return
    checked = checked + earlier_records(root, chapter, registry, hist)
    endorsed_digests = {v.record.digest for v in checked
                        if v.valid and v.record.verdict == "endorse"
                        and (include_current or v.record.digest != chapter.digest)}
    if not endorsed_digests:
        return
    revisions = [r for r in hist.of(chapter.path) if r.status != "D"]
    contents = history.blobs_at(root, [(r.commit, r.path) for r in revisions])
    rules = book_policy.rules_for(chapter.domain, chapter.type)
    for revision in revisions:
        content = contents.get((revision.commit, revision.path))
        if content is None:
            continue
        digest = content_digest(content)
        if digest not in endorsed_digests:
            continue
        authors = _authors_of(content)
        if authors is None:
            continue
        status = policy.evaluate(chapter, checked, registry, rules, today, digest, authors)
        if status.published:
            yield EndorsedRevision(revision, content, status)


def newest_endorsed(root: Path, chapter: Chapter, checked: list[Verification],
                    registry: Registry, book_policy: Policy, today: dt.date,
                    hist: history.History) -> EndorsedRevision | None:
    """The newest earlier revision of ``chapter`` whose content its records endorse."""
    return next(endorsed_revisions(root, chapter, checked, registry, book_policy, today, hist),
                None)


def earlier_endorsed(root: Path, hist: history.History | None = None
                     ) -> Callable[..., bool]:
    """For ``bok check`` and ``bok status``: is an earlier revision of this chapter endorsed?

    History is read once, and only when some chapter has endorsements of other content (a
    build that read it already passes it as ``hist``).
    """
    cache: dict[str, history.History] = {} if hist is None else {"history": hist}

    def test(chapter: Chapter, checked: list[Verification], registry: Registry,
             book_policy: Policy, today: dt.date) -> bool:
        if not checked:
            return False
        if "history" not in cache:
            cache["history"] = history.read_history(root)
        found = newest_endorsed(root, chapter, checked, registry, book_policy, today,
                                cache["history"])
        return found is not None

    return test


def book_health(root: Path, book: Book, statuses: dict[str, policy.Status],
                verifications: dict[str, Verification], hist: history.History | None,
                today: dt.date, earlier: dict[str, list[Verification]] | None = None
                ) -> health.Health:
    """The book's health (:func:`bok.health.compute`), with what it needs read from the
    repository: the earlier versions of re-written records (one ``git cat-file``) and the blob
    ids of the queued chapters' working copies (``earlier``: those records, if read already)."""
    if hist is None:
        return health.compute(book, statuses, verifications, None, today)
    blobs = {}
    for path, status in statuses.items():
        if status.state in health.QUEUED:
            try:
                data = (root / path).read_bytes()
            except OSError:
                continue
            blobs[path] = history.blob_id(data, hist.object_format)
    if earlier is None:
        earlier = rewritten_records(root, book.registry, hist)
    return health.compute(book, statuses, verifications, hist, today, earlier, blobs)


@dataclass(frozen=True)
class ChapterDiff:
    """What ``bok diff`` shows: the change from the newest endorsed revision to the working
    copy (``endorsed`` is None when no revision of the chapter was ever endorsed)."""

    path: str
    endorsed: EndorsedRevision | None
    lines: list[str]


def diff_since_endorsed(root: Path, chapter: Chapter, checked: list[Verification],
                        registry: Registry, book_policy: Policy, today: dt.date,
                        hist: history.History) -> ChapterDiff:
    """The unified diff (front matter and body) from the chapter's newest endorsed revision,
    the current one included, to its working copy."""
    found = next(endorsed_revisions(root, chapter, checked, registry, book_policy, today, hist,
                                    include_current=True), None)
    if found is None:
        return ChapterDiff(chapter.path, None, [])
    current = (root / chapter.path).read_bytes()
    revision = found.revision
    lines = diff_lines(_text(found.content), _text(current),
                       f"{revision.path} (endorsed, {revision.date:%Y-%m-%d} {revision.short})",
                       f"{chapter.path} (working copy)")
    return ChapterDiff(chapter.path, found, lines)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").replace("\r\n", "\n")


def endorsed_commits(root: Path, book: Book, statuses: dict[str, policy.Status],
                     verifications: dict[str, Verification], today: dt.date
                     ) -> dict[str, history.Revision]:
    """For each chapter of ``statuses`` that is not endorsed as it is: the newest revision of it
    that was (for the gate's job summary, which links each to its diff)."""
    waiting = [p for p, s in statuses.items() if p in book.chapters and not s.published
               and s.state != policy.DRAFT]
    if not waiting:
        return {}
    hist = history.read_history(root)
    found = {}
    for path in waiting:
        checked = [verifications[r.path] for r in book.records_for(path)]
        earlier = newest_endorsed(root, book.chapters[path], checked, book.registry,
                                  book.policy, today, hist)
        if earlier is not None:
            found[path] = earlier.revision
    return found
