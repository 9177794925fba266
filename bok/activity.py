"""What happened in the book, and when: the events behind the feed, "what's new" and the
member pages.

Read from the Git history bok already has (:func:`bok.history.read_history`): each commit of
a chapter is a revision (the first one wrote it); each committed version of a review record,
and the record as it is today, is a signature, an endorsement, a re-validation (an endorsement
of content the same member had endorsed before) or an objection. Older record versions are read
with one ``git cat-file`` process and verified against today's registry, so a revoked key's
records are not events. Nothing here decides what is published: callers pass the chapters the
site shows, and only those appear.

:func:`events` is the one source of these facts (``bok health`` counts activity per month from
it); :func:`contributions` and :func:`news` shape them for members and for readers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import history
from .loading import load_record
from .model import Book, Chapter, Record, Registry
from .policy import Status
from .signing import Verification, verify_record

WRITTEN, REVISED, SIGNED, ENDORSED, REVALIDATED, OBJECTED = (
    "written", "revised", "signed", "endorsed", "revalidated", "objected")
_VERDICTS = {"sign": SIGNED, "endorse": ENDORSED, "object": OBJECTED}
_ENDORSING = (ENDORSED, REVALIDATED)
#: News: a chapter published for the first time, a new revision of it published, its content
#: re-validated, or a new revision that retires it (``superseded_by``).
NEW, NEWS_REVISED, NEWS_REVALIDATED, RETIRED = ("new", "revised", "revalidated", "retired")


@dataclass(frozen=True)
class Event:
    """One thing that happened to one chapter."""

    kind: str
    chapter: str  # the chapter's path today
    date: dt.date  # a record's own date; a revision's commit date
    member: str | None = None  # the record's member; a revision's Git author, if a member
    digest: str = ""  # the content a record reviews
    commit: str = ""  # the commit that holds it; "" for a record not committed yet
    when: dt.datetime | None = None  # that commit's time: orders the events of one day


@dataclass
class Contributions:
    """One member's contributions to the published book, newest first."""

    written: list[tuple[str, dt.date | None]] = field(default_factory=list)  # (chapter, date)
    revised: list[Event] = field(default_factory=list)  # commits they authored
    endorsed: list[Event] = field(default_factory=list)
    revalidated: list[Event] = field(default_factory=list)
    #: objections followed by a new revision of the chapter: (the objection, that revision)
    objections: list[tuple[Event, Event]] = field(default_factory=list)

    @property
    def last_active(self) -> dt.date | None:
        dates = [d for _, d in self.written if d] + [
            e.date for e in (*self.revised, *self.endorsed, *self.revalidated)] + [
            o.date for o, _ in self.objections]
        return max(dates) if dates else None


@dataclass(frozen=True)
class NewsItem:
    """A line of "what's new" and an entry of the feed."""

    kind: str  # NEW, NEWS_REVISED, NEWS_REVALIDATED or RETIRED
    chapter: str
    date: dt.date
    members: tuple[str, ...]  # who endorsed it (or re-validated it)
    digest: str  # the content published


def events(root: Path, book: Book, verifications: dict[str, Verification],
           hist: history.History | None) -> list[Event]:
    """Every event of the book's chapters, oldest first (see the module's docstring)."""
    found: list[Event] = []
    for path in sorted(book.chapters):
        revisions = list(reversed(hist.of(path))) if hist is not None else []
        for index, revision in enumerate(r for r in revisions if r.status != "D"):
            # A revision is credited to nobody: Git's author name and email are not signed,
            # so a commit made as "bob@example.com" must not count as Bob's work.
            found.append(Event(WRITTEN if index == 0 else REVISED, path, revision.date.date(),
                               None, commit=revision.commit, when=revision.date))
    found += _record_events(root, book, verifications, hist)
    found.sort(key=_order)
    return found


def _order(event: Event) -> tuple:
    when = event.when.timestamp() if event.when else float("inf")
    return (event.date, when, event.chapter, event.kind, event.member or "")


def _record_events(root: Path, book: Book, verifications: dict[str, Verification],
                   hist: history.History | None) -> list[Event]:
    """The events of every version of every record of the book's chapters."""
    current = {r.path: r for r in book.records if r.chapter in book.chapters}
    committed: dict[str, list[history.Revision]] = {}
    if hist is not None:
        folders = {book.chapters[r.chapter].reviews_dir for r in current.values()}
        folders |= {c.reviews_dir for c in book.chapters.values()}
        for path, revisions in hist.revisions.items():
            if path.startswith("reviews/") and path.rsplit("/", 1)[0] in folders:
                committed[path] = [r for r in reversed(revisions) if r.status != "D"]
    today_blob = {path: _blob(root, path, hist) for path in current}
    older = [(r.commit, r.path) for path, revisions in committed.items() for r in revisions
             if r.blob != today_blob.get(path)]
    contents = history.blobs_at(root, older) if older else {}
    found: list[Event] = []
    for path in sorted(set(current) | set(committed)):
        versions: list[tuple[Verification, history.Revision | None]] = []
        seen: set[str] = set()  # a version restored later is the same record, not a new one
        for revision in committed.get(path, []):
            if revision.blob in seen:
                continue
            seen.add(revision.blob)
            if revision.blob == today_blob.get(path):
                versions.append((verifications[path], revision))
                continue
            record = _load(revision.path, contents.get((revision.commit, revision.path)))
            if record is not None:
                versions.append((verify_record(record, book.registry), revision))
        if path in current and not any(r is not None and r.blob == today_blob[path]
                                       for _, r in versions):
            versions.append((verifications[path], None))
        found += _classify(versions, book)
    return found


def _blob(root: Path, path: str, hist: history.History | None) -> str:
    if hist is None:
        return ""
    try:
        return history.blob_id((root / path).read_bytes(), hist.object_format)
    except OSError:
        return ""


class _One:
    """One file's bytes, read through the loader's tree interface."""

    def __init__(self, path: str, data: bytes):
        self.path, self.data = path, data

    def read(self, path: str) -> bytes | None:
        return self.data if path == self.path else None


def _load(path: str, data: bytes | None) -> Record | None:
    return None if data is None else load_record(_One(path, data), path, [])


def _classify(versions: list[tuple[Verification, history.Revision | None]],
              book: Book) -> list[Event]:
    """A record file's versions, oldest first, as events: only those that verify."""
    found = []
    endorsed: set[str] = set()  # digests this member endorsed in earlier versions
    for verification, revision in versions:
        record = verification.record
        if not verification.valid or record.chapter not in book.chapters:
            continue
        kind = _VERDICTS[record.verdict]
        if kind == ENDORSED:
            if record.digest in endorsed:
                kind = REVALIDATED
            endorsed.add(record.digest)
        found.append(Event(kind, record.chapter, record.date, record.member, record.digest,
                           revision.commit if revision else "",
                           revision.date if revision else None))
    return found


def led_to_revision(found: Iterable[Event]) -> list[tuple[Event, Event]]:
    """Objections followed by a new revision of their chapter: (objection, the revision).

    A committed objection is followed by the first revision committed after it; one not
    committed yet by none.
    """
    revisions: dict[str, list[Event]] = defaultdict(list)
    objections = []
    for event in found:
        if event.kind in (REVISED, WRITTEN) and event.when is not None:
            revisions[event.chapter].append(event)
        elif event.kind == OBJECTED and event.when is not None:
            objections.append(event)
    pairs = []
    for objection in objections:
        after = [r for r in revisions[objection.chapter]
                 if r.when is not None and objection.when is not None and r.when > objection.when]
        if after:
            pairs.append((objection, min(after, key=_order)))
    return pairs


def contributions(found: list[Event], shown: dict[str, Chapter]) -> dict[str, Contributions]:
    """What each member contributed to the chapters the site shows (``shown``: path -> the
    revision shown): chapters written (by the front matter of what is shown, dated by their
    first commit), revisions committed, endorsements, re-validations, objections that led to
    a revision."""
    out: dict[str, Contributions] = defaultdict(Contributions)
    first = {e.chapter: e.date for e in found if e.kind == WRITTEN}
    for path, chapter in shown.items():
        for author in dict.fromkeys(chapter.authors):
            out[author].written.append((path, first.get(path)))
    for event in found:
        if event.chapter not in shown or event.member is None:
            continue
        if event.kind == REVISED:
            out[event.member].revised.append(event)
        elif event.kind == ENDORSED:
            out[event.member].endorsed.append(event)
        elif event.kind == REVALIDATED:
            out[event.member].revalidated.append(event)
    for objection, revision in led_to_revision(found):
        if objection.chapter in shown and objection.member is not None:
            out[objection.member].objections.append((objection, revision))
    for mine in out.values():
        mine.written.sort(key=lambda item: (item[1] or dt.date.min, item[0]), reverse=True)
        for listing in (mine.revised, mine.endorsed, mine.revalidated):
            listing.sort(key=_order, reverse=True)
        mine.objections.sort(key=lambda pair: _order(pair[0]), reverse=True)
    return dict(out)


def news(found: list[Event], shown: dict[str, Chapter], statuses: dict[str, Status],
         registry: Registry, endorsements_needed: dict[str, int]) -> list[NewsItem]:
    """The published chapters' news, newest first.

    Each revision's publication, on the day its content had the endorsements it needs: the
    first one is new, the others revised (retired, for a shown revision that retires the
    chapter); and each day the shown content was re-validated. The shown revision is judged
    by its status; an earlier one by its endorsers among today's experts of the domain who are
    not its authors today (its own records were judged when it was current).
    """
    by_chapter: dict[str, list[Event]] = defaultdict(list)
    for event in found:
        by_chapter[event.chapter].append(event)
    items = []
    for path, chapter in shown.items():
        status = statuses[path]
        if not status.published or not status.endorsed_by:
            continue
        mine = by_chapter.get(path, [])
        needed = endorsements_needed.get(path, 1)
        experts = {m.id for m in registry.experts_of(chapter.domain)} - set(chapter.authors)
        published: list[tuple[dt.date, str, tuple[str, ...]]] = []
        for digest in dict.fromkeys(e.digest for e in mine if e.kind in _ENDORSING):
            on_content = [e for e in mine if e.digest == digest]
            if digest == chapter.digest:
                date = _published_on(on_content, status.endorsed_by, chapter.authors, needed)
                published.append((date or status.endorsed_on or dt.date.min, digest,
                                  tuple(status.endorsed_by)))
                continue
            endorsers = tuple(sorted({e.member for e in on_content
                                      if e.kind in _ENDORSING and e.member in experts}))
            date = _published_on(on_content, endorsers, chapter.authors, needed)
            if date is not None:
                published.append((date, digest, endorsers))
        published.sort()
        for index, (date, digest, endorsers) in enumerate(published):
            kind = NEW if index == 0 else NEWS_REVISED
            if digest == chapter.digest and chapter.superseded_by:
                kind = RETIRED
            items.append(NewsItem(kind, path, date, endorsers, digest))
        by_day: dict[dt.date, set[str]] = defaultdict(set)
        for event in mine:
            if event.kind == REVALIDATED and event.digest == chapter.digest \
                    and event.member in status.endorsed_by:
                by_day[event.date].add(event.member)
        for day, members in by_day.items():
            items.append(NewsItem(NEWS_REVALIDATED, path, day, tuple(sorted(members)),
                                  chapter.digest))
    items.sort(key=lambda i: (i.date, i.kind, i.chapter), reverse=True)
    return items


def _published_on(on_content: list[Event], endorsers: Iterable[str], authors: tuple[str, ...],
                  needed: int) -> dt.date | None:
    """The day the content had its authors' signatures and its ``needed``-th endorsement,
    each counted from its member's first record of it (a later re-validation or re-signing
    does not move it); None if the events do not hold that many."""
    endorsed = _firsts(on_content, endorsers, _ENDORSING)
    if not needed or len(endorsed) < needed:
        return None
    return max([endorsed[needed - 1], *_firsts(on_content, authors, (SIGNED,))])


def _firsts(on_content: list[Event], members: Iterable[str], kinds: tuple[str, ...]
            ) -> list[dt.date]:
    """Each member's first date among ``on_content`` events of ``kinds``, ascending."""
    first: dict[str, dt.date] = {}
    wanted = set(members)
    for event in on_content:
        if event.kind in kinds and event.member in wanted:
            known = first.get(event.member)
            first[event.member] = event.date if known is None else min(known, event.date)
    return sorted(first.values())
