"""The book's Atom feed (``feed.xml`` at the site's root): what is new, for feed readers.

The entries are the news of :func:`bok.activity.news`, so only published chapters appear.
The feed is written with `feedgen <https://pypi.org/project/feedgen/>`_ (maintained, Atom 1.0
with proper escaping), not by hand. It is made from the book alone, never from the clock: its
``updated`` is its newest entry's date and every id is derived from what the entry says, so the
same book gives the same bytes (the staged file is rewritten only when the news change).
Entries link to chapter pages by absolute URLs when ``mkdocs.yml`` sets ``site_url``;
without it they are relative to the feed, which ``bok check`` warns about.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from urllib.parse import urljoin

from .activity import NEW, NEWS_REVALIDATED, NEWS_REVISED, RETIRED, NewsItem

FEED = "feed.xml"
#: Entries in the feed; the "what's new" page shows twice as many.
LIMIT = 50
HEADLINES = {NEW: "New", NEWS_REVISED: "Revised", NEWS_REVALIDATED: "Re-validated",
             RETIRED: "Retired"}


@dataclass(frozen=True)
class Entry:
    """A news item with what a reader is told about it (names, not ids)."""

    item: NewsItem
    src: str  # the chapter's page, relative to content/
    title: str
    authors: tuple[str, ...]
    endorsers: tuple[str, ...]  # who endorsed it (for a re-validation: who re-validated)
    summary: str = ""

    @property
    def headline(self) -> str:
        return f"{HEADLINES[self.item.kind]}: {self.title}"


def names(people: tuple[str, ...]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return people[0] if len(people) == 1 else ", ".join(people[:-1]) + " and " + people[-1]


def describe(entry: Entry) -> str:
    """One plain-text paragraph: who wrote it and who endorsed (or re-validated) it."""
    verb = "Re-validated" if entry.item.kind == NEWS_REVALIDATED else "Endorsed"
    parts = [f"Written by {names(entry.authors)}." if entry.authors else "",
             f"{verb} by {names(entry.endorsers)}." if entry.endorsers else "",
             entry.summary]
    return " ".join(p for p in parts if p)


def _day(date: dt.date) -> dt.datetime:
    return dt.datetime(date.year, date.month, date.day, tzinfo=dt.timezone.utc)


def atom(entries: list[Entry], urls: dict[str, str], site_name: str,
         site_url: str | None) -> bytes:
    """The Atom document of the newest ``LIMIT`` entries; ``urls`` maps a page's src to its
    URL from the site's root."""
    from feedgen.feed import FeedGenerator

    base = site_url.rstrip("/") + "/" if site_url else ""
    generator = FeedGenerator()
    generator.id(urljoin(base, FEED) if base else
                 uuid.uuid5(uuid.NAMESPACE_URL, f"bok:{site_name}").urn)
    generator.title(site_name or "Book of Knowledge")
    generator.subtitle("Chapters newly endorsed, revised and re-validated")
    generator.link(href=urljoin(base, FEED) if base else FEED, rel="self")
    generator.link(href=base or "./", rel="alternate")
    shown = entries[:LIMIT]
    newest = max((e.item.date for e in shown), default=dt.date(1970, 1, 1))
    generator.updated(_day(newest))
    for entry in shown:
        item = entry.item
        out = generator.add_entry(order="append")
        out.id(uuid.uuid5(uuid.NAMESPACE_URL, f"bok:{item.kind}:{item.chapter}:{item.digest}:"
                                              f"{item.date.isoformat()}").urn)
        out.title(entry.headline)
        out.link(href=urljoin(base, urls.get(entry.src, entry.src)), rel="alternate")
        out.updated(_day(item.date))
        for author in entry.authors or ("The book's members",):
            out.author({"name": author})
        out.summary(describe(entry))
    return generator.atom_str(pretty=True)
