"""What the site publishes and how each page reads: the core of the site, free of MkDocs.

Given the loaded book, each chapter's state and the Git history, :func:`plan_site` decides which
pages exist and what they say: chapters with their attribution, review notes and revision
history; a page per domain and per member; the tags index; the search page. Only endorsed
practice is published; a chapter whose current content is not endorsed shows its newest
endorsed revision.

A chapter page's Markdown is the chapter's body alone. Everything bok adds around it (title,
banners, attribution, review notes, revision history) is generated from data, so it is written
as escaped HTML by :func:`chapter_html` rather than run through Markdown: that is cheaper, and
it may carry attributes the sanitiser would strip from authored content, such as the
``data-pagefind-*`` marks that tell the search indexer what to index and filter on. Links to
other pages are made by a ``resolve`` function the engine supplies (it knows the URLs).
The MkDocs plugin (:mod:`bok.plugin`) only hands these pages to MkDocs, so another engine could
take its place.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import markdown as markdown_lib

from . import activity, feed, history, loading, policy, render, sanitize
from .health import revalidations
from .model import CONTENT, Book, Chapter, Domain, Member, content_digest
from .policy import Status
from .revisions import (
    EndorsedRevision,
    diff_lines,
    endorsed_revisions,
    newest_endorsed,
    revision_digests,
    rewritten_records,
)
from .signing import Verification

MEMBERS_DIR = "members"
TAGS_PAGE = "tags.md"
WHATS_NEW_PAGE = "whats-new.md"
SEARCH_PAGE = "search.md"
HEALTH_DIR = "book-health"
HEALTH_PAGE = f"{HEALTH_DIR}/index.md"
RESERVED = (MEMBERS_DIR, "tags", "assets", "search", "pagefind", HEALTH_DIR, "whats-new")
#: The pages the navigation leaves out (it holds the home page, domains and chapters, so it
#: does not grow with the registry), linked at the end of every other page instead.
SITE_LINKS = ((f"{MEMBERS_DIR}/index.md", "Members"), (SEARCH_PAGE, "Search"), (TAGS_PAGE, "Tags"))
#: Ids of the headings bok adds to a chapter page, with their titles (for the table of contents).
REVIEW_NOTES = ("review-notes", "Review notes")
REVISION_HISTORY = ("revision-history", "Revision history")
REFERENCED_BY = ("referenced-by", "Referenced by")
CHANGES = ("changes-under-review", "Changes under review")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")

#: Turns a page (relative to content/, e.g. ``members/alice.md``) into the href that reaches it
#: from the page being rendered; None if the site has no such page.
Resolve = Callable[[str], "str | None"]


@dataclass
class Page:
    """One page of the site: Markdown, the metadata the theme shows and, for a chapter, the
    blocks bok renders around the chapter's body (see :func:`chapter_html`)."""

    src_uri: str  # relative to content/
    title: str
    markdown: str
    description: str = ""
    tags: tuple[str, ...] = ()
    chapter: str | None = None  # the chapter's path, for chapter pages
    view: ChapterView | None = field(default=None, repr=False)


@dataclass
class DomainNav:
    """A domain in the navigation: its page, then its published chapters in reading order."""

    id: str
    title: str
    chapters: list[str] = field(default_factory=list)  # page src_uris


@dataclass
class SitePlan:
    pages: dict[str, Page] = field(default_factory=dict)
    published: dict[str, Status] = field(default_factory=dict)  # chapter path -> status
    history_available: bool = True
    domains: list[DomainNav] = field(default_factory=list)
    #: chapters left out of the site, by the reason (their state): for the build's summary
    left_out: dict[str, list[str]] = field(default_factory=dict)
    #: what's new, newest first: the feed (feed.xml) and the "what's new" page
    news: list[feed.Entry] = field(default_factory=list)


def text(value: str) -> str:
    """Plain text made safe inside Markdown: no HTML, no Markdown syntax."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(value, quote=False)).replace("\n", " ")


def esc(value: object) -> str:
    """Plain text made safe inside HTML, in text and in quoted attribute values."""
    return html.escape(str(value), quote=True)


def link(target: str, current: str, label: str) -> str:
    """A Markdown link from page ``current`` to page ``target`` (both relative to content/)."""
    rel = render.relpath(target, posixpath.dirname(current) or ".")
    return f"[{text(label)}]({quote(rel)})"


def _src(chapter_path: str) -> str:
    return chapter_path.removeprefix(CONTENT + "/")


def member_page(member_id: str) -> str:
    return f"{MEMBERS_DIR}/{member_id}.md"


def _member_name(book: Book, member_id: str) -> str:
    member = book.registry.get(member_id)
    return member.name if member else member_id


def _date(value: dt.date | dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "-"


def _date_html(value: dt.date | dt.datetime | None) -> str:
    """A date in a page's HTML: one value, which the stylesheet never breaks at its hyphens."""
    return f'<span class="bok-date">{_date(value)}</span>'


@dataclass
class _Context:
    root: Path
    book: Book
    statuses: dict[str, Status]
    verifications: dict[str, Verification]
    hist: history.History | None
    today: dt.date
    drafts: bool
    repo_url: str | None
    by_email: dict[str, Member] = field(default_factory=dict)
    theme_tags: bool = False  # the theme shows a page's tags itself (Material's tags plugin)
    #: folders of reviews/ with a record file that was committed more than once
    rewritten_reviews: set[str] | None = None
    digests: dict[str, set[str]] = field(default_factory=dict)  # chapter -> its revisions'
    #: earlier versions of those records, by chapter (see :func:`earlier_records`)
    rewritten: dict[str, list[Verification]] | None = None


@dataclass
class ChapterView:
    """What a chapter page shows besides its body: enough to render bok's blocks later, once
    the engine knows every page's URL."""

    ctx: _Context
    chapter: Chapter  # the chapter as it is today (its path, records and history)
    status: Status  # the status of the content shown
    earlier: EndorsedRevision | None  # set when an earlier endorsed revision is shown
    shown: Chapter | None = None  # the revision shown, when it is not today's content
    #: in a drafts preview of a pending chapter: the endorsed revision the draft changes
    preview_of: EndorsedRevision | None = None

    @property
    def meta(self) -> Chapter:
        """The front matter of the revision shown: everything on the page comes from it."""
        return self.shown or self.chapter


def plan_site(root: Path, book: Book, statuses: dict[str, Status],
              verifications: dict[str, Verification], hist: history.History | None,
              today: dt.date, drafts: bool = False, repo_url: str | None = None,
              theme_tags: bool = False) -> SitePlan:
    """Decide every page of the site and write its Markdown (a chapter page's is its body;
    :func:`chapter_html` adds the rest once the engine has rendered it)."""
    ctx = _Context(root, book, statuses, verifications, hist, today, drafts,
                   repo_url.rstrip("/") if repo_url else None, theme_tags=theme_tags)
    for member in book.registry.members.values():  # as Registry.by_email: the first one wins
        if member.email:
            ctx.by_email.setdefault(member.email.lower(), member)
    plan = SitePlan(history_available=hist is not None)
    revisions = _earlier_revisions(ctx)
    for path, chapter in sorted(book.chapters.items()):
        page = _plan_chapter(ctx, chapter, statuses[path], revisions.get(path))
        if page is None:
            plan.left_out.setdefault(statuses[path].state, []).append(path)
            continue
        plan.pages[page.src_uri] = page
        assert page.view is not None
        plan.published[path] = page.view.status
    for path in sorted(book.invalid_chapters):
        plan.left_out.setdefault(policy.INVALID, []).append(path)
    for domain in sorted(book.domains.values(), key=lambda d: (d.title.casefold(), d.id)):
        page = _domain_page(ctx, domain.id, plan)
        plan.pages[page.src_uri] = page
        plan.domains.append(DomainNav(domain.id, domain.title, _reading_order(ctx, domain, plan)))
    shown = _shown(plan)
    found = activity.events(root, book, verifications, hist)
    done = activity.contributions(found, shown)
    for member in book.registry.members.values():
        page = _member_page(ctx, member, done.get(member.id, activity.Contributions()), plan)
        plan.pages[page.src_uri] = page
    plan.pages[f"{MEMBERS_DIR}/index.md"] = _members_index(ctx, done)
    from .healthpage import health_pages  # it builds on this module
    plan.pages.update((page.src_uri, page) for page in health_pages(ctx, plan))
    plan.news = _news(ctx, found, shown, plan)
    plan.pages[WHATS_NEW_PAGE] = _whats_new_page(ctx, plan)
    plan.pages[SEARCH_PAGE] = _search_page()
    home = _home_page(ctx, plan)
    plan.pages[home.src_uri] = home
    return plan


def _plan_chapter(ctx: _Context, chapter: Chapter, status: Status,
                  earlier: EndorsedRevision | None) -> Page | None:
    """The page of one chapter, or None when readers (or this preview) get none.

    Endorsed and expired chapters are published as they are. A pending chapter shows its newest
    endorsed revision, all of it (body and front matter) from that revision; in a drafts
    preview it shows today's text instead, with what changed since that revision marked, so a
    reviewer sees the edit under review. Drafts and chapters never endorsed appear only in a
    preview.
    """
    if status.published:
        return _chapter_page(ChapterView(ctx, chapter, status, None))
    if earlier is not None and not ctx.drafts:
        shown = loading.chapter_at(chapter.path, earlier.content)
        if shown is None:
            return None
        return _chapter_page(ChapterView(ctx, chapter, earlier.status, earlier, shown))
    if ctx.drafts:
        return _chapter_page(ChapterView(ctx, chapter, status, None, preview_of=earlier))
    return None


def _reading_order(ctx: _Context, domain: Domain, plan: SitePlan) -> list[str]:
    """The domain's published chapters: first those its page lists under ``order``, then the
    others by title."""
    mine = [(_src(path), plan.pages[_src(path)].title) for path in plan.published
            if ctx.book.chapters[path].domain == domain.id]
    rank = {f"{domain.id}/{slug.removesuffix('.md')}.md": i for i, slug in enumerate(domain.order)}
    mine.sort(key=lambda item: (rank.get(item[0], len(rank)), item[1].casefold(), item[0]))
    return [src for src, _title in mine]


def _earlier_revisions(ctx: _Context) -> dict[str, EndorsedRevision]:
    """For chapters whose current content is not endorsed: the newest endorsed revision."""
    found: dict[str, EndorsedRevision] = {}
    if ctx.hist is None:
        return found
    for path, chapter in ctx.book.chapters.items():
        if ctx.statuses[path].state != policy.PENDING:
            continue
        checked = [ctx.verifications[r.path] for r in ctx.book.records_for(path)]
        earlier = newest_endorsed(ctx.root, chapter, checked, ctx.book.registry,
                                  ctx.book.policy, ctx.today, ctx.hist)
        if earlier is not None:
            found[path] = earlier
    return found


def _chapter_page(view: ChapterView) -> Page:
    meta = view.meta
    return Page(_src(view.chapter.path), meta.title, meta.body.strip("\n") + "\n",
                meta.summary, meta.tags, view.chapter.path, view)


# --- chapter pages as HTML ------------------------------------------------------------------


def chapter_html(page: Page, body_html: str, resolve: Resolve,
                 permalink: str | None = None, title_id: str = "title",
                 referenced_by: Sequence[tuple[str, str]] = (),
                 comments: Callable[[str], str] | None = None) -> str:
    """The whole content of a chapter page: bok's blocks around ``body_html``.

    ``body_html`` is the chapter's body as rendered (and sanitised) by the engine. Everything
    added here is escaped HTML made from data. The searchable region (``data-pagefind-body``)
    is the title, banners, attribution, body and review notes, with filters for domain, type,
    author and state; the revision history is left out of the index. ``permalink`` is the
    symbol of heading anchors (as the toc extension's ``permalink``), None for none;
    ``title_id`` the id of the title's heading; ``referenced_by`` the (src, title) of the
    chapter pages that link to this one; ``comments`` renders a reviewer's comments
    (:func:`comments_html`, or the same through a cache).
    """
    view = page.view
    if view is None:
        return body_html
    state = view.status.state
    parts = [f'<div class="bok-chapter" data-pagefind-body '
             f'data-pagefind-filter="state:{esc(state)}" '
             f'data-pagefind-meta="title:{esc(page.title)}">\n',
             _heading((title_id, page.title), permalink, level=1),
             _banners(view),
             _retired_banner(view, resolve),
             _attribution(view, resolve),
             body_html, "\n",
             _changes_section(view, permalink),
             _review_notes(view, resolve, permalink, comments or comments_html),
             _referenced_section(referenced_by, resolve, permalink),
             _history_section(view, permalink),
             "</div>\n"]
    return "".join(parts)


def chapter_headings(page: Page, referenced: bool = False) -> list[tuple[str, str]]:
    """The (id, title) of the headings :func:`chapter_html` adds, for the table of contents
    (``referenced``: it lists the chapters that link to this one)."""
    if page.view is None:
        return []
    return ([CHANGES] if page.view.preview_of is not None else []) + (
        [REVIEW_NOTES] if _notes(page.view) else []) + (
        [REFERENCED_BY] if referenced else []) + [REVISION_HISTORY]


def indexed(page: Page) -> bool:
    """Whether search indexes the page: chapters, except retired ones (``superseded_by``).

    A retired chapter stays readable, but search leads to its successor: Pagefind ranks by
    the words of each page and has no way to push one page below the others, so a retired
    chapter full of the query's words would still come first. Left out of the index, it
    cannot.
    """
    return page.view is not None and not page.view.meta.superseded_by


def _retired_banner(view: ChapterView, resolve: Resolve) -> str:
    """A retired chapter's banner, pointing readers to its successor."""
    successor = view.meta.superseded_by
    if not successor:
        return ""
    target = _src(successor)
    href = resolve(target)
    if href is not None:
        where = f'<a href="{esc(href)}">{esc(_title_of(view.ctx, successor))}</a>'
        then = f"Read {where} instead."
    else:
        then = "Its successor is not published yet."
    return ('<div class="admonition warning bok-retired">\n'
            '<p class="admonition-title">Retired: superseded</p>\n'
            f"<p>This chapter is kept for reference; it is no longer the book's practice. "
            f"{then}</p>\n</div>\n")


def _title_of(ctx: _Context, path: str) -> str:
    chapter = ctx.book.chapters.get(path)
    return chapter.title if chapter else path


def _referenced_section(referenced_by: Sequence[tuple[str, str]], resolve: Resolve,
                        permalink: str | None) -> str:
    """The published chapters that link to this one, so readers find what builds on it."""
    if not referenced_by:
        return ""
    items = "".join(f"<li>{_a(resolve, src, esc(title))}</li>\n" for src, title in referenced_by)
    return ('<section class="bok-referenced-by" data-pagefind-ignore="all">\n'
            + _heading(REFERENCED_BY, permalink) + f"<ul>\n{items}</ul>\n</section>\n")


def _changes_section(view: ChapterView, permalink: str | None) -> str:
    """In a drafts preview of a pending chapter: the lines the text under review changes in
    the endorsed revision, as a reviewer reads a diff (removed lines, then added ones)."""
    if view.preview_of is None:
        return ""
    endorsed = loading.chapter_at(view.chapter.path, view.preview_of.content)
    before, after = (endorsed.body if endorsed else ""), view.chapter.body
    rows = []
    for line in diff_lines(before, after, context=1):
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "bok-diff__added", "-": "bok-diff__removed", "@": "bok-diff__hunk"}.get(
            line[:1], "bok-diff__same")
        rows.append(f'<span class="{kind}">{esc(line)}</span>')
    listing = "\n".join(rows) if rows else esc("(the body is unchanged; the front matter "
                                                "changed)")
    return ('<section class="bok-changes" data-pagefind-ignore="all">\n'
            + _heading(CHANGES, permalink)
            + f"<p>Compared with the endorsed revision of "
              f"{_date(view.preview_of.revision.date)} ({esc(view.preview_of.revision.short)})"
              ":</p>\n"
            + f'<pre class="bok-diff"><code>{listing}</code></pre>\n</section>\n')


def _heading(anchor: tuple[str, str], permalink: str | None, level: int = 2) -> str:
    ident, title = esc(anchor[0]), anchor[1]
    link_html = (f'<a class="headerlink" href="#{ident}" title="Permanent link">'
                 f"{esc(permalink)}</a>" if permalink else "")
    return f'<h{level} id="{ident}">{esc(title)}{link_html}</h{level}>\n'


def _banner(kind: str, title: str, body: str) -> str:
    return (f'<div class="admonition {kind}">\n<p class="admonition-title">{esc(title)}</p>\n'
            f"<p>{esc(body)}</p>\n</div>\n")


def _banners(view: ChapterView) -> str:
    out = []
    earlier, status = view.earlier, view.status
    if earlier is not None:
        out.append(_banner(
            "warning", "A newer revision awaits review",
            f"This is the revision of {_date(earlier.revision.date)} "
            f"({earlier.revision.short}), the newest one its experts endorsed. A newer "
            "revision has not been endorsed yet."))
    if status.state == policy.EXPIRED:
        out.append(_banner(
            "warning", "Due for re-validation",
            f"The endorsements of this chapter lapsed on {_date(status.revalidate_on)}. "
            "It is shown as last endorsed until an expert of its domain re-validates it."))
    if view.preview_of is not None:
        shown = view.preview_of.revision
        out.append(_banner(
            "danger", "Preview: this revision awaits review",
            f"Readers see the revision of {_date(shown.date)} ({shown.short}), the newest "
            "one its experts endorsed. This preview shows the text under review, and below it "
            "what that text changes."))
    elif not status.published:
        out.append(_banner(
            "danger", "Draft, not endorsed",
            "This preview includes a chapter that is not endorsed. It is not part of the "
            "published book."))
    return "".join(out)


def _a(resolve: Resolve, target: str, label_html: str) -> str:
    """A link to page ``target`` around already escaped ``label_html`` (no link if no page)."""
    href = resolve(target)
    return f'<a href="{esc(href)}">{label_html}</a>' if href is not None else label_html


def site_links(src: str, resolve: Resolve) -> str:
    """The line at the end of page ``src`` that leads to the pages of :data:`SITE_LINKS` the
    site has (the tags index only with the tags plugin), other than ``src`` itself."""
    links = [_a(resolve, target, esc(label)) for target, label in SITE_LINKS
             if target != src and resolve(target) is not None]
    if not links:
        return ""
    return ('<nav class="bok-site-links" aria-label="More of this book" '
            f'data-pagefind-ignore="all">\n<p>{" · ".join(links)}</p>\n</nav>\n')


def _person(view: ChapterView, resolve: Resolve, member_id: str, search: str = "") -> str:
    name = esc(_member_name(view.ctx.book, member_id))
    if search:
        name = f'<span data-pagefind-filter="{search}">{name}</span>'
    return _a(resolve, member_page(member_id), name)


def _attribution(view: ChapterView, resolve: Resolve) -> str:
    book, chapter, status = view.ctx.book, view.meta, view.status
    domain = book.domains[chapter.domain]
    signed = set(status.signed_by)
    authors = ", ".join(_person(view, resolve, a, "author") + (" ✓" if a in signed else "")
                        for a in chapter.authors)
    legend = " <small>(✓ signed this exact content)</small>" if signed else ""
    # Not searched as text (a result's excerpt would be this boilerplate); its filters count.
    lines = ['<div class="bok-attribution" data-pagefind-ignore>',
             f"<p><strong>Written by</strong> {authors}{legend}</p>"]
    if status.endorsements:
        again = revalidations(status.endorsements, earlier_records(view.ctx).get(
            view.chapter.path, []))
        endorsers = ", ".join(
            f"{_person(view, resolve, v.record.member)} "
            + (f"({_date_html(again[v.record.member][0])}, re-validated on "
               f"{_date_html(v.record.date)}, "
               if v.record.member in again else f"({_date_html(v.record.date)}, ")
            + f'<a href="#{REVIEW_NOTES[0]}">notes</a>)'
            for v in sorted(status.endorsements, key=lambda v: v.record.member))
        lines.append(f"<p><strong>Endorsed by</strong> {endorsers}</p>")
    domain_name = f'<span data-pagefind-filter="domain">{esc(domain.title)}</span>'
    facts = [f"<strong>Domain</strong> {_a(resolve, f'{chapter.domain}/index.md', domain_name)}",
             f'<strong>Type</strong> <span data-pagefind-filter="type">{esc(chapter.type)}</span>']
    if status.endorsed_on:
        facts.append(f"<strong>Endorsed on</strong> {_date_html(status.endorsed_on)}")
    if status.revalidate_on:
        facts.append(f"<strong>Re-validate by</strong> {_date_html(status.revalidate_on)}")
    if chapter.tags and not view.ctx.theme_tags:
        facts.append("<strong>Tags</strong> " + ", ".join(esc(t) for t in chapter.tags))
    lines += ["<p>" + " · ".join(facts) + "</p>", "</div>", ""]
    return "\n".join(lines)


def earlier_records(ctx: _Context) -> dict[str, list[Verification]]:
    """Committed earlier versions of the records committed more than once, by chapter: a
    re-validation replaces the record of the first endorsement (read once per build)."""
    if ctx.rewritten is None:
        ctx.rewritten = (rewritten_records(ctx.root, ctx.book.registry, ctx.hist)
                         if ctx.hist is not None else {})
    return ctx.rewritten


def _notes(view: ChapterView) -> list:
    """The endorsements and objections the page may show (policy.review_notes), oldest first."""
    ctx, chapter = view.ctx, view.chapter
    shown = content_digest(view.earlier.content) if view.earlier else chapter.digest

    def about_a_revision(digest: str) -> bool:
        if digest in (shown, chapter.digest):
            return True
        if ctx.hist is None:
            return False
        if chapter.path not in ctx.digests:  # read once per chapter, only when asked
            ctx.digests[chapter.path] = revision_digests(ctx.root, chapter, ctx.hist)
        return digest in ctx.digests[chapter.path]

    checked = [ctx.verifications[r.path] for r in ctx.book.records_for(chapter.path)
               if r.path in ctx.verifications]
    return policy.review_notes(chapter, checked, ctx.book.registry, view.status, ctx.today,
                               about_a_revision)


_COMMENTS = markdown_lib.Markdown()
#: Comments made only of plain paragraphs (no character Markdown or HTML gives a meaning, no
#: line that could open a list, quote, heading or code block) read the same as text: they
#: skip Markdown, which costs about a millisecond per comment even for one plain sentence.
_PLAIN_COMMENT = re.compile(r"[^\\`*_{}\[\]<>#+!|~&=\-\t\r]*")
_BLOCK_START = re.compile(r"^\d+[.)]|^ | $", re.MULTILINE)


@functools.lru_cache(maxsize=4096)
def comments_html(comments: str) -> str:
    """A reviewer's comments (Markdown written by a member) as sanitised HTML."""
    if not comments.strip():
        return "<p><em>No comments.</em></p>"
    if _PLAIN_COMMENT.fullmatch(comments) and not _BLOCK_START.search(comments.strip("\n")):
        paragraphs = re.split(r"\n\n+", comments.strip("\n"))
        return "\n".join(f"<p>{paragraph}</p>" for paragraph in paragraphs)
    return sanitize.clean_html(_COMMENTS.reset().convert(comments))


def _review_notes(view: ChapterView, resolve: Resolve, permalink: str | None,
                  comments: Callable[[str], str]) -> str:
    notes = _notes(view)
    if not notes:
        return ""
    out = ['<section class="bok-review-notes">\n', _heading(REVIEW_NOTES, permalink)]
    for record in notes:
        verb = "endorsed" if record.verdict == "endorse" else "objected"
        current = "" if record.digest == view.chapter.digest else " (an earlier revision)"
        who = _person(view, resolve, record.member)
        out.append(f"<p><strong>{who}</strong> {verb} on {_date_html(record.date)}{current}:</p>\n"
                   f"<blockquote>\n{comments(record.comments)}\n</blockquote>\n")
    out.append("</section>\n")
    return "".join(out)


def _blob_ids(data: bytes, object_format: str) -> set[str]:
    """Git blob ids of ``data`` as it is, and with its line endings normalised to LF."""
    ids = {history.blob_id(data, object_format)}
    normalised = data.replace(b"\r\n", b"\n")
    if normalised != data:
        ids.add(history.blob_id(normalised, object_format))
    return ids


def _endorsed_blobs(view: ChapterView, object_format: str) -> set[str]:
    """Blob ids of every revision whose content was endorsed, to mark them in the history:
    the content shown, and any earlier revision its experts endorsed when it was current."""
    chapter, ctx = view.chapter, view.ctx
    blobs: set[str] = set()
    if view.earlier is not None:
        blobs |= _blob_ids(view.earlier.content, object_format)
    elif view.status.published:
        try:
            data = (ctx.root / chapter.path).read_bytes()
        except OSError:
            data = b""
        if content_digest(data) == chapter.digest:  # unchanged since it was loaded
            blobs |= _blob_ids(data, object_format)
    if ctx.hist is not None and _has_earlier_reviews(ctx, chapter):
        checked = [ctx.verifications[r.path] for r in ctx.book.records_for(chapter.path)]
        for found in endorsed_revisions(ctx.root, chapter, checked, ctx.book.registry,
                                        ctx.book.policy, ctx.today, ctx.hist,
                                        include_current=True):
            blobs.add(found.revision.blob)
    return blobs


def _has_earlier_reviews(ctx: _Context, chapter: Chapter) -> bool:
    """Whether any record of the chapter reviewed other content, today or in a committed
    version (only then can an earlier revision have been endorsed: reading old records and
    revisions is skipped for every other chapter)."""
    assert ctx.hist is not None
    records = ctx.book.records_for(chapter.path)
    if any(r.digest != chapter.digest for r in records):
        return True
    if ctx.rewritten_reviews is None:
        ctx.rewritten_reviews = {path.rsplit("/", 1)[0]
                                 for path, revisions in ctx.hist.revisions.items()
                                 if len(revisions) > 1 and path.startswith("reviews/")}
    return chapter.reviews_dir in ctx.rewritten_reviews


def _history_section(view: ChapterView, permalink: str | None) -> str:
    ctx, chapter, earlier = view.ctx, view.chapter, view.earlier
    out = ['<section class="bok-history" data-pagefind-ignore="all">\n',
           _heading(REVISION_HISTORY, permalink)]
    revisions = ctx.hist.of(chapter.path) if ctx.hist is not None else []
    if ctx.hist is None:
        out.append("<p>Revision history is not available for this build (it was made without "
                   "Git history).</p>\n")
    elif not revisions:
        out.append("<p>This chapter has no committed revisions yet.</p>\n")
    else:
        # Git's commit messages and author names are not signed by anyone, so the page does
        # not show them (the commit link leads there); what it shows is what bok can vouch
        # for: the commit, and whether its content was endorsed.
        endorsed = _endorsed_blobs(view, ctx.hist.object_format)
        out.append('<div class="bok-table"><table>\n<thead>\n<tr><th>Date</th>'
                   "<th>Commit</th><th>Content</th></tr>\n</thead>\n<tbody>\n")
        for revision in revisions:
            short = f"<code>{esc(revision.short)}</code>"
            commit = (f'<a href="{esc(ctx.repo_url)}/commit/{esc(revision.commit)}">{short}</a>'
                      if ctx.repo_url else short)
            mark = "✓ endorsed" if revision.blob and revision.blob in endorsed else "not reviewed"
            if earlier is not None and revision.commit == earlier.revision.commit:
                mark = "✓ endorsed, shown"
            out.append(f'<tr><td class="bok-date">{_date(revision.date)}</td>'
                       f"<td>{commit}</td><td>{mark}</td></tr>\n")
        out.append("</tbody>\n</table></div>\n")
    out.append("</section>\n")
    return "".join(out)


# --- other pages (Markdown; MkDocs resolves their .md links) --------------------------------


def _people(ctx: _Context, ids, src: str) -> str:
    return ", ".join(link(member_page(i), src, _member_name(ctx.book, i)) for i in ids)


#: How a domain page names each state of the chapters it lists.
_STATE_WORDS = {
    policy.ENDORSED: "endorsed",
    policy.EXPIRED: "due for re-validation",
    policy.PENDING: "a newer revision awaits review",
    policy.AWAITING: "draft preview: not endorsed",
    policy.DRAFT: "draft preview",
}


def _domain_page(ctx: _Context, domain_id: str, plan: SitePlan) -> Page:
    book = ctx.book
    domain = book.domains[domain_id]
    src = f"{domain_id}/index.md"
    body = domain.body.strip("\n")
    # the domain's own text may open with its title; then it is not written twice, and the
    # description still follows the title
    heading, _, rest = body.partition("\n") if body.startswith("# ") else (
        f"# {text(domain.title)}", "", body)
    parts = [heading + "\n\n"]
    if domain.description:
        parts.append(f"{text(domain.description)}\n\n")
    if rest.strip():
        parts.append(rest.strip("\n") + "\n\n")
    experts = [m.id for m in book.registry.experts_of(domain_id)]
    stewards = [m.id for m in book.registry.stewards()]
    parts.append(f"**Experts** {_people(ctx, experts, src) or 'none yet'}\n\n")
    parts.append(f"**Stewards** {_people(ctx, stewards, src) or 'none yet'}\n\n")
    parts.append(f"**Health** {link(f'{HEALTH_DIR}/{domain_id}.md', src, 'what is due')}\n\n")
    by_type: dict[str, list[str]] = defaultdict(list)
    for page_src in _reading_order(ctx, domain, plan):
        path = f"{CONTENT}/{page_src}"
        state = ctx.statuses[path].state
        shown = plan.pages[page_src]
        about = f"  \n  {text(shown.description)}" if shown.description else ""  # a line break
        words = "retired" if shown.view is not None and shown.view.meta.superseded_by else \
            _STATE_WORDS.get(state, state)
        by_type[book.chapters[path].type].append(
            f"- {link(page_src, src, shown.title)} · {text(words)}{about}")
    for chapter_type in book.policy.chapter_types:
        if by_type.get(chapter_type):
            parts.append(f"## {text(chapter_type.capitalize())}\n\n"
                         + "\n".join(by_type[chapter_type]) + "\n\n")
    if not by_type:
        parts.append("No chapter of this domain is endorsed yet.\n")
    return Page(src, domain.title, "".join(parts), domain.description)


def _member_page(ctx: _Context, member: Member, done: activity.Contributions,
                 plan: SitePlan) -> Page:
    """A member's page: their roles, then their contributions to the published book over
    time (its size follows their own contributions, never the registry's size)."""
    src = member_page(member.id)
    parts = [f"# {text(member.name)}\n\n"]
    roles = []
    if member.expert_in:
        roles.append("Expert in " + ", ".join(
            link(f"{d}/index.md", src, ctx.book.domains[d].title if d in ctx.book.domains else d)
            for d in member.expert_in))
    if member.steward:
        roles.append("Steward of the book")
    if roles:
        parts.append(" · ".join(roles) + "\n\n")
    counts = [_count(len(done.written), "chapter written", "chapters written"),
              _count(len(done.endorsed), "endorsement", "endorsements"),
              _count(len(done.revalidated), "re-validation", "re-validations"),
              _count(len(done.objections), "objection that led to a revision",
                     "objections that led to a revision")]
    last = f"**Last active** {_date(done.last_active)} · " if done.last_active else ""
    parts.append(last + " · ".join(counts) + "\n\n")

    def chapter(path: str) -> str:
        return link(_src(path), src, plan.pages[_src(path)].title)

    written = [f"- {chapter(p)}" + (f" · {_date(d)}" if d else "") for p, d in done.written]
    endorsed = [f"- {chapter(e.chapter)} · {_date(e.date)}" for e in done.endorsed]
    revalidated = [f"- {chapter(e.chapter)} · {_date(e.date)}" for e in done.revalidated]
    objections = [f"- {chapter(o.chapter)} · objected {_date(o.date)}, revised "
                  f"{_date(r.date)}" for o, r in done.objections]
    for title, rows in (("Chapters written", written), ("Chapters endorsed", endorsed),
                        ("Re-validations", revalidated),
                        ("Objections that led to a revision", objections)):
        parts.append(f"## {title}\n\n" + ("\n".join(rows) or "None yet.") + "\n\n")
    years = _by_year(done)
    if years:
        parts.append("## Contributions by year\n\n| Year | Written | Revisions | Endorsed "
                     "| Re-validated | Objections |\n| --- | --- | --- | --- | --- | --- |\n"
                     + "".join(f"| {y} | {' | '.join(str(n) for n in row)} |\n"
                               for y, row in years) + "\n")
    return Page(src, member.name, "".join(parts))


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _by_year(done: activity.Contributions) -> list[tuple[int, list[int]]]:
    """Contributions per year, newest first: written, revisions, endorsed, re-validated,
    objections that led to a revision."""
    years: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for _path, day in done.written:
        if day:
            years[day.year][0] += 1
    for column, events in ((1, done.revised), (2, done.endorsed), (3, done.revalidated),
                           (4, [o for o, _ in done.objections])):
        for event in events:
            years[event.date.year][column] += 1
    return sorted(years.items(), reverse=True)


def _members_index(ctx: _Context, done: dict[str, activity.Contributions]) -> Page:
    """Every member, the most recently active first, with the domains they are expert in."""
    src = f"{MEMBERS_DIR}/index.md"

    def recent(member: Member) -> tuple:
        last = done[member.id].last_active if member.id in done else None
        return (-(last.toordinal() if last else 0), member.name.casefold(), member.id)

    rows = []
    for member in sorted(ctx.book.registry.members.values(), key=recent):
        mine = done.get(member.id)
        facts = []
        if member.expert_in:
            facts.append("expert in " + ", ".join(
                text(ctx.book.domains[d].title if d in ctx.book.domains else d)
                for d in member.expert_in))
        if mine is not None and mine.last_active:
            facts.append(f"last active {_date(mine.last_active)}")
        rows.append(f"- {link(member_page(member.id), src, member.name)}"
                    + "".join(f" · {fact}" for fact in facts))
    return Page(src, "Members", "# Members\n\nThe people who write and endorse this book, "
                "the most recently active first.\n\n" + "\n".join(rows) + "\n")


def _shown(plan: SitePlan) -> dict[str, Chapter]:
    """The revision each published chapter's page shows (its front matter and digest)."""
    views = {path: plan.pages[_src(path)].view for path in plan.published}
    return {path: view.meta for path, view in views.items() if view is not None}


def _news(ctx: _Context, found: list[activity.Event], shown: dict[str, Chapter],
          plan: SitePlan) -> list[feed.Entry]:
    """What's new in the published book, for the feed and the "what's new" page."""
    needed = {path: ctx.book.policy.rules_for(chapter.domain).endorsements
              for path, chapter in shown.items()}
    entries = []
    news = activity.news(found, shown, plan.published, ctx.book.registry, needed)
    for item in news[:2 * feed.LIMIT]:
        chapter = shown[item.chapter]
        entries.append(feed.Entry(
            item, _src(item.chapter), plan.pages[_src(item.chapter)].title,
            tuple(_member_name(ctx.book, a) for a in chapter.authors),
            tuple(_member_name(ctx.book, m) for m in item.members), chapter.summary))
    return entries


def _whats_new_page(ctx: _Context, plan: SitePlan) -> Page:
    """The news, newest first, by month; each entry links its chapter and its people."""
    src = WHATS_NEW_PAGE
    parts = ["# What's new\n\nChapters newly endorsed, revised and re-validated, newest "
             f"first. Follow them in a feed reader: [Atom feed]({feed.FEED}).\n\n"]
    month = None
    for entry in plan.news:
        item = entry.item
        if item.date.strftime("%Y-%m") != month:
            month = item.date.strftime("%Y-%m")
            parts.append(f"\n## {item.date.strftime('%B %Y')}\n\n")
        view = plan.pages[entry.src].view
        verb = "re-validated" if item.kind == activity.NEWS_REVALIDATED else "endorsed"
        line = (f"- {_date(item.date)} · **{text(feed.HEADLINES[item.kind])}** "
                f"{link(entry.src, src, entry.title)}")
        if view is not None:
            line += f" · by {_people(ctx, view.meta.authors, src)}"
        if item.members:
            line += f"; {verb} by {_people(ctx, item.members, src)}"
        parts.append(line + "\n")
    if not plan.news:
        parts.append("Nothing is published yet.\n")
    return Page(src, "What's new", "".join(parts))


def _search_page() -> Page:
    """The search page; the engine mounts the search box on it (no script in page content)."""
    return Page(SEARCH_PAGE, "Search", "# Search\n\nSearch the endorsed chapters of this book: "
                "type a few words, then narrow the results by domain, type, author or state.\n")


def _home_page(ctx: _Context, plan: SitePlan) -> Page:
    """The home page: the book's own text, then its domains, members and search."""
    home = ctx.book.home
    src = "index.md"
    parts = [home.body.strip("\n") + "\n\n"] if home and home.body.strip() else []
    rows = []
    for nav in plan.domains:
        domain = ctx.book.domains[nav.id]
        count = len(nav.chapters)
        about = f": {text(domain.description)}" if domain.description else ""
        rows.append(f"- {link(f'{nav.id}/index.md', src, domain.title)}{about} "
                    f"({count} chapter{'s' * (count != 1)})")
    parts.append("## Domains\n\n" + ("\n".join(rows) if rows else "No domain yet.") + "\n\n")
    tags = f" Browse them by {link(TAGS_PAGE, src, 'tag')}." if ctx.theme_tags else ""
    parts.append(f"The {link(f'{MEMBERS_DIR}/index.md', src, 'members')} write and endorse "
                 f"this book. {link(SEARCH_PAGE, src, 'Search')} its endorsed chapters, or "
                 f"see {link(WHATS_NEW_PAGE, src, 'what is new')}.{tags}\n")
    parts.append(f"\nWhat its community must tend: {link(HEALTH_PAGE, src, 'its health')}.\n")
    return Page(src, home.title if home else "Home", "".join(parts),
                home.description if home else "")
