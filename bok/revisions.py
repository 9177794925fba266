"""Earlier endorsed revisions: what the site shows when the current content is not endorsed.

When someone pushes past the gate, or an expert withdraws, the newest revision that *was*
endorsed is still the book's practice (as MediaWiki's FlaggedRevs does for Wikipedia). Its
endorsements are the records whose digest matches that revision's content; its authors are the
ones in that revision's front matter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import document, history, policy, schema
from .errors import FileProblem
from .loading import load_record
from .model import Chapter, Policy, Registry, content_digest
from .signing import Verification, verify_record


@dataclass(frozen=True)
class EndorsedRevision:
    revision: history.Revision
    content: bytes
    status: policy.Status


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
    revisions = [r for path, revs in hist.revisions.items() if path.startswith(prefix)
                 for r in revs if r.status != "D"]
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
            checked.append(verify_record(record, registry))
    return checked


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
    rules = book_policy.rules_for(chapter.domain)
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
