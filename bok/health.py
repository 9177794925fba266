"""The health of the book: what its community must tend, computed from the repository alone.

A book of knowledge decays unless someone sees what is due: endorsements about to lapse,
chapters nobody may endorse, a review queue nobody looks at (the backlog FlaggedRevs' users
warn about). :func:`compute` answers from what ``bok check`` and the site already have (the
book, every chapter's status, the verified records and the one Git pass of
:func:`bok.history.read_history`), with no I/O of its own: ``bok health``, ``bok queue`` and the
site's health pages render the same :class:`Health`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from . import policy
from .history import History, Revision
from .model import Book, Chapter
from .policy import Status
from .signing import Verification

#: Endorsements lapsing within these many days are listed (the first is "soon").
SOON, HORIZON = 30, 90
#: Months of activity shown, the current one included.
MONTHS = 12
#: The states of a chapter in the review queue (expired chapters are listed as lapsed).
QUEUED = (policy.AWAITING, policy.PENDING)


@dataclass(frozen=True)
class Waiting:
    """A chapter in the review queue: since when its current content waits, and for whom."""

    path: str
    domain: str
    title: str
    state: str
    since: dt.date | None  # the commit that made the current content; None if uncommitted
    commit: str | None
    days: int  # 0 when not committed yet
    may_endorse: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Lapse:
    """Endorsements that lapse (``days`` > 0: in so many days) or lapsed (``days`` <= 0)."""

    path: str
    domain: str
    title: str
    on: dt.date
    days: int
    endorsed_by: tuple[str, ...]
    may_revalidate: tuple[str, ...]  # experts who are not authors and do not object


@dataclass(frozen=True)
class Understaffed:
    """A chapter with fewer eligible experts (of its domain, not its authors) than it needs."""

    path: str
    domain: str
    title: str
    eligible: tuple[str, ...]
    needed: int


@dataclass(frozen=True)
class Staff:
    """Who tends a domain: its experts, and the stewards among them."""

    domain: str
    title: str
    experts: tuple[str, ...]
    stewards: tuple[str, ...]

    @property
    def problems(self) -> list[str]:
        found = []
        if not self.stewards:
            found.append("no steward among its experts")
        if len(self.experts) < 2:
            found.append("no expert" if not self.experts else "a single expert")
        return found


@dataclass(frozen=True)
class Event:
    """Something a member did to a chapter: wrote it, endorsed it, re-validated it."""

    kind: str  # written | edited | endorsed | revalidated
    date: dt.date
    domain: str
    path: str
    who: str  # a member id, or a commit author's name when no member has their email


@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    written: int
    endorsed: int
    revalidated: int


@dataclass
class Health:
    """The health of the whole book, or of one domain (:meth:`for_domain`)."""

    today: dt.date
    domain: str | None = None
    states: dict[str, dict[str, int]] = field(default_factory=dict)  # domain -> state -> count
    queue: list[Waiting] = field(default_factory=list)  # oldest first
    lapsing: list[Lapse] = field(default_factory=list)  # soonest first, within HORIZON days
    lapsed: list[Lapse] = field(default_factory=list)  # longest overdue first
    understaffed: list[Understaffed] = field(default_factory=list)
    staff: list[Staff] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    history: bool = True  # False: built without Git history (no waiting times, no activity)

    @property
    def counts(self) -> dict[str, int]:
        """Chapters by state, over the domains in scope, in :data:`bok.policy.STATES` order."""
        total: Counter[str] = Counter()
        for by_state in self.states.values():
            total.update(by_state)
        return {state: total[state] for state in policy.STATES if total[state]}

    @property
    def chapters(self) -> int:
        return sum(self.counts.values())

    @property
    def endorsed_share(self) -> float | None:
        """The share of chapters (drafts aside) that are endorsed and current."""
        counts = self.counts
        judged = self.chapters - counts.get(policy.DRAFT, 0)
        return counts.get(policy.ENDORSED, 0) / judged if judged else None

    def lapsing_within(self, days: int) -> list[Lapse]:
        return [lapse for lapse in self.lapsing if lapse.days <= days]

    @property
    def load(self) -> dict[str, int]:
        """How many chapters await each expert: the queue and the lapsed ones, by who may act."""
        counted: Counter[str] = Counter()
        for item in self.queue:
            counted.update(item.may_endorse)
        for lapse in self.lapsed:
            counted.update(lapse.may_revalidate)
        return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))

    def activity(self, months: int = MONTHS) -> list[Month]:
        """Chapters written, endorsed and re-validated per month, the newest month first."""
        per: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for event in self.events:
            per[event.date.strftime("%Y-%m")][event.kind].add(event.path)
        rows = []
        year, month = self.today.year, self.today.month
        for _ in range(months):
            key = f"{year:04d}-{month:02d}"
            kinds = per.get(key, {})
            rows.append(Month(key, len(kinds.get("written", ())), len(kinds.get("endorsed", ())),
                              len(kinds.get("revalidated", ()))))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return rows

    @property
    def quarter(self) -> str:
        return f"{self.today.year}-Q{(self.today.month - 1) // 3 + 1}"

    @property
    def contributors(self) -> list[str]:
        """Who wrote, endorsed or re-validated something this calendar quarter."""
        start = _quarter_start(self.today)
        return sorted({e.who for e in self.events if start <= e.date <= self.today})

    def for_domain(self, domain: str) -> Health:
        """The same health, of one domain's chapters and people."""
        def mine(items: Iterable) -> list:
            return [item for item in items if item.domain == domain]

        return replace(self, domain=domain,
                       states={d: s for d, s in self.states.items() if d == domain},
                       queue=mine(self.queue), lapsing=mine(self.lapsing),
                       lapsed=mine(self.lapsed), understaffed=mine(self.understaffed),
                       staff=mine(self.staff), events=mine(self.events))


def compute(book: Book, statuses: Mapping[str, Status],
            verifications: Mapping[str, Verification], hist: History | None, today: dt.date,
            earlier: Mapping[str, list[Verification]] | None = None,
            working_blobs: Mapping[str, str] | None = None) -> Health:
    """The health of ``book`` on ``today``.

    ``earlier`` holds committed earlier versions of the records, by chapter (a member keeps one
    record per chapter, so a re-validation replaces the record of the first endorsement: only
    the history still shows it; see :func:`bok.revisions.rewritten_records`).
    ``working_blobs`` maps a queued chapter to the Git blob id of its working copy, to find the
    commit that made its current content; without it, the newest revision is taken to hold it.
    """
    health = Health(today, history=hist is not None)
    registry = book.registry
    experts = {d: sorted(m.id for m in registry.experts_of(d)) for d in book.domains}
    for path, status in statuses.items():
        chapter = book.chapters.get(path)
        domain = chapter.domain if chapter else path.split("/")[1]
        by_state = health.states.setdefault(domain, {})
        by_state[status.state] = by_state.get(status.state, 0) + 1
        if chapter is None or status.state in (policy.DRAFT, policy.INVALID):
            continue
        rules = book.policy.rules_for(chapter.domain, chapter.type)
        eligible = tuple(e for e in experts.get(domain, ()) if e not in chapter.authors)
        if len(eligible) < rules.endorsements:
            health.understaffed.append(
                Understaffed(path, domain, chapter.title, eligible, rules.endorsements))
        if status.state in QUEUED:
            health.queue.append(_waiting(chapter, status, hist, today, working_blobs))
        elif status.revalidate_on is not None:
            days = (status.revalidate_on - today).days
            if days <= HORIZON:
                lapse = Lapse(path, domain, chapter.title, status.revalidate_on, days,
                              tuple(status.endorsed_by),
                              tuple(e for e in eligible if e not in status.objections))
                (health.lapsed if status.state == policy.EXPIRED else health.lapsing).append(
                    lapse)
    health.queue.sort(key=lambda w: (-w.days, w.path))
    health.lapsing.sort(key=lambda lapse: (lapse.days, lapse.path))
    health.lapsed.sort(key=lambda lapse: (lapse.days, lapse.path))
    for domain in sorted(book.domains):
        stewards = tuple(e for e in experts[domain] if registry.members[e].steward)
        health.staff.append(Staff(domain, book.domains[domain].title, tuple(experts[domain]),
                                  stewards))
    health.events = sorted(_review_events(book, verifications, earlier or {})
                           + (_writing_events(book, hist, today) if hist is not None else []),
                           key=lambda e: (e.date, e.kind, e.path, e.who))
    return health


def _waiting(chapter: Chapter, status: Status, hist: History | None, today: dt.date,
             working_blobs: Mapping[str, str] | None) -> Waiting:
    revisions = hist.of(chapter.path) if hist is not None else []
    blob = working_blobs.get(chapter.path) if working_blobs is not None else None
    made = content_since(revisions, blob)
    since = made.date.date() if made else None
    return Waiting(chapter.path, chapter.domain, chapter.title, status.state, since,
                   made.short if made else None, max(0, (today - since).days) if since else 0,
                   tuple(status.may_endorse), tuple(status.missing))


def content_since(revisions: list[Revision], blob: str | None = None) -> Revision | None:
    """The commit that made the content of blob ``blob`` (default: the newest revision's), among
    ``revisions`` (newest first): the oldest of the newest run of revisions holding it, so a
    rename that kept the content does not restart the wait. None if no revision holds it."""
    if not revisions:
        return None
    blob = blob or revisions[0].blob
    start = next((i for i, r in enumerate(revisions) if r.blob == blob), None)
    if start is None:
        return None
    end = start
    while end + 1 < len(revisions) and revisions[end + 1].blob == blob:
        end += 1
    return revisions[end]


def revalidations(endorsements: Iterable[Verification], earlier: Iterable[Verification]
                  ) -> dict[str, tuple[dt.date, dt.date]]:
    """For each endorser whose counted record re-validates the same content: (first endorsed,
    re-validated on). A record re-validates when the same member endorsed the same digest
    before, in a record the history still holds."""
    first: dict[tuple[str, str], dt.date] = {}
    for v in earlier:
        if v.valid and v.record.verdict == "endorse":
            key = (v.record.member, v.record.digest)
            first[key] = min(first.get(key, v.record.date), v.record.date)
    found = {}
    for v in endorsements:
        began = first.get((v.record.member, v.record.digest))
        if began is not None and began < v.record.date:
            found[v.record.member] = (began, v.record.date)
    return found


def _review_events(book: Book, verifications: Mapping[str, Verification],
                   earlier: Mapping[str, list[Verification]]) -> list[Event]:
    """A member's first endorsement of some content, then each later record of it."""
    events = []
    for path, chapter in book.chapters.items():
        dates: dict[tuple[str, str], set[dt.date]] = defaultdict(set)
        current = [verifications[r.path] for r in book.records_for(path)]
        for v in (*current, *earlier.get(path, ())):
            if v.valid and v.record.verdict == "endorse":
                dates[(v.record.member, v.record.digest)].add(v.record.date)
        for (member, _digest), days in dates.items():
            ordered = sorted(days)
            events.append(Event("endorsed", ordered[0], chapter.domain, path, member))
            events += [Event("revalidated", day, chapter.domain, path, member)
                       for day in ordered[1:]]
    return events


def _writing_events(book: Book, hist: History, today: dt.date) -> list[Event]:
    """Each chapter's first commit (its writing), credited to the authors its front matter
    names (registry ids). Git's author names and emails are not signed by anyone, so they
    credit nobody: a commit made as "bob@example.com" is not Bob's. Drafts are not counted."""
    events = []
    for path, chapter in book.chapters.items():
        revisions = hist.of(path)
        if chapter.draft or not revisions:
            continue
        day = revisions[-1].date.date()
        if day > today:  # a commit date is the committer's word: never in the future
            continue
        for author in dict.fromkeys(chapter.authors):
            events.append(Event("written", day, chapter.domain, path, author))
    return events


def _quarter_start(today: dt.date) -> dt.date:
    return dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
