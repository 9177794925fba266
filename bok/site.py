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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import markdown as markdown_lib

from . import document, history, limits, policy, sanitize, unsafe
from .errors import FileProblem
from .model import CONTENT, Book, Chapter, Member, content_digest
from .policy import Status
from .revisions import EndorsedRevision, newest_endorsed
from .signing import Verification

MEMBERS_DIR = "members"
TAGS_PAGE = "tags.md"
SEARCH_PAGE = "search.md"
RESERVED = (MEMBERS_DIR, "tags", "assets", "search", "pagefind")
#: Ids of the headings bok adds to a chapter page, with their titles (for the table of contents).
REVIEW_NOTES = ("review-notes", "Review notes")
REVISION_HISTORY = ("revision-history", "Revision history")
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
class SitePlan:
    pages: dict[str, Page] = field(default_factory=dict)
    published: dict[str, Status] = field(default_factory=dict)  # chapter path -> status
    history_available: bool = True


def text(value: str) -> str:
    """Plain text made safe inside Markdown: no HTML, no Markdown syntax."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(value, quote=False)).replace("\n", " ")


def esc(value: object) -> str:
    """Plain text made safe inside HTML, in text and in quoted attribute values."""
    return html.escape(str(value), quote=True)


def link(target: str, current: str, label: str) -> str:
    """A Markdown link from page ``current`` to page ``target`` (both relative to content/)."""
    rel = posixpath.relpath(target, posixpath.dirname(current) or ".")
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


@dataclass
class ChapterView:
    """What a chapter page shows besides its body: enough to render bok's blocks later, once
    the engine knows every page's URL."""

    ctx: _Context
    chapter: Chapter
    status: Status  # the status of the content shown
    earlier: EndorsedRevision | None  # set when an earlier endorsed revision is shown


def plan_site(root: Path, book: Book, statuses: dict[str, Status],
              verifications: dict[str, Verification], hist: history.History | None,
              today: dt.date, drafts: bool = False, repo_url: str | None = None) -> SitePlan:
    """Decide every page of the site and write its Markdown (a chapter page's is its body;
    :func:`chapter_html` adds the rest once the engine has rendered it)."""
    ctx = _Context(root, book, statuses, verifications, hist, today, drafts,
                   repo_url.rstrip("/") if repo_url else None)
    for member in book.registry.members.values():  # as Registry.by_email: the first one wins
        if member.email:
            ctx.by_email.setdefault(member.email.lower(), member)
    plan = SitePlan(history_available=hist is not None)
    revisions = _earlier_revisions(ctx)
    for path, chapter in sorted(book.chapters.items()):
        status = statuses[path]
        earlier = revisions.get(path)
        if status.published:
            page = _chapter_page(ctx, chapter, status, chapter.body, None)
        elif earlier is not None:
            shown = _parse_revision(earlier.content)
            if shown is None:
                continue
            page = _chapter_page(ctx, chapter, earlier.status, shown[1], earlier,
                                 title=shown[0])
            status = earlier.status
        elif drafts:
            page = _chapter_page(ctx, chapter, status, chapter.body, None)
        else:
            continue
        plan.pages[page.src_uri] = page
        plan.published[path] = status
    for domain in book.domains.values():
        page = _domain_page(ctx, domain.id, plan)
        plan.pages[page.src_uri] = page
    wrote, endorsed = _members_chapters(ctx, plan)
    for member in book.registry.members.values():
        page = _member_page(ctx, member, wrote[member.id], endorsed[member.id])
        plan.pages[page.src_uri] = page
    plan.pages[f"{MEMBERS_DIR}/index.md"] = _members_index(ctx)
    plan.pages[SEARCH_PAGE] = _search_page()
    home = _home_page(ctx)
    plan.pages[home.src_uri] = home
    return plan


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


def _parse_revision(content: bytes) -> tuple[str, str] | None:
    try:
        doc = document.parse(content)
    except FileProblem:
        return None
    title = doc.meta.get("title")
    return (title if isinstance(title, str) else "Untitled"), doc.body


def _chapter_page(ctx: _Context, chapter: Chapter, status: Status, body: str,
                  earlier: EndorsedRevision | None, title: str | None = None) -> Page:
    src = _src(chapter.path)
    title = title or chapter.title
    return Page(src, title, body.strip("\n") + "\n", chapter.summary, chapter.tags,
                chapter.path, ChapterView(ctx, chapter, status, earlier))


# --- chapter pages as HTML ------------------------------------------------------------------


def chapter_html(page: Page, body_html: str, resolve: Resolve,
                 permalink: str | None = None, title_id: str = "title") -> str:
    """The whole content of a chapter page: bok's blocks around ``body_html``.

    ``body_html`` is the chapter's body as rendered (and sanitised) by the engine. Everything
    added here is escaped HTML made from data. The searchable region (``data-pagefind-body``)
    is the title, banners, attribution, body and review notes, with filters for domain, type,
    author and state; the revision history is left out of the index. ``permalink`` is the
    symbol of heading anchors (as the toc extension's ``permalink``), None for none;
    ``title_id`` the id of the title's heading.
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
             _attribution(view, resolve),
             body_html, "\n",
             _review_notes(view, resolve, permalink),
             _history_section(view, permalink),
             "</div>\n"]
    return "".join(parts)


def chapter_headings(page: Page) -> list[tuple[str, str]]:
    """The (id, title) of the headings :func:`chapter_html` adds, for the table of contents."""
    if page.view is None:
        return []
    return ([REVIEW_NOTES] if _notes(page.view) else []) + [REVISION_HISTORY]


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
            f"The endorsements of this chapter lapsed on {_date(status.revalidate_on)}; "
            "its experts have been asked to review it again."))
    if not status.published:
        out.append(_banner(
            "danger", "Draft, not endorsed",
            "This preview includes a chapter that is not endorsed. It is not part of the "
            "published book."))
    return "".join(out)


def _a(resolve: Resolve, target: str, label_html: str) -> str:
    """A link to page ``target`` around already escaped ``label_html`` (no link if no page)."""
    href = resolve(target)
    return f'<a href="{esc(href)}">{label_html}</a>' if href is not None else label_html


def _person(view: ChapterView, resolve: Resolve, member_id: str, search: str = "") -> str:
    name = esc(_member_name(view.ctx.book, member_id))
    if search:
        name = f'<span data-pagefind-filter="{search}">{name}</span>'
    return _a(resolve, member_page(member_id), name)


def _attribution(view: ChapterView, resolve: Resolve) -> str:
    book, chapter, status = view.ctx.book, view.chapter, view.status
    domain = book.domains[chapter.domain]
    signed = set(status.signed_by)
    authors = ", ".join(_person(view, resolve, a, "author") + (" ✓" if a in signed else "")
                        for a in chapter.authors)
    legend = " <small>(✓ signed this exact content)</small>" if signed else ""
    lines = ['<div class="bok-attribution">',
             f"<p><strong>Written by</strong> {authors}{legend}</p>"]
    if status.endorsements:
        endorsers = ", ".join(
            f"{_person(view, resolve, v.record.member)} "
            f'({_date(v.record.date)}, <a href="#{REVIEW_NOTES[0]}">notes</a>)'
            for v in sorted(status.endorsements, key=lambda v: v.record.member))
        lines.append(f"<p><strong>Endorsed by</strong> {endorsers}</p>")
    domain_name = f'<span data-pagefind-filter="domain">{esc(domain.title)}</span>'
    facts = [f"<strong>Domain</strong> {_a(resolve, f'{chapter.domain}/index.md', domain_name)}",
             f'<strong>Type</strong> <span data-pagefind-filter="type">{esc(chapter.type)}</span>']
    if status.endorsed_on:
        facts.append(f"<strong>Endorsed on</strong> {_date(status.endorsed_on)}")
    if status.revalidate_on:
        facts.append(f"<strong>Re-validate by</strong> {_date(status.revalidate_on)}")
    if chapter.tags:
        facts.append("<strong>Tags</strong> " + ", ".join(esc(t) for t in chapter.tags))
    lines += ["<p>" + " · ".join(facts) + "</p>", "</div>", ""]
    return "\n".join(lines)


def _notes(view: ChapterView) -> list:
    """The valid endorsements and objections of the chapter, oldest first."""
    ctx = view.ctx
    notes = []
    for record in sorted(ctx.book.records_for(view.chapter.path),
                         key=lambda r: (r.date, r.member)):
        verification = ctx.verifications.get(record.path)
        if verification and verification.valid and record.verdict in ("endorse", "object"):
            notes.append(record)
    return notes


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


def _review_notes(view: ChapterView, resolve: Resolve, permalink: str | None) -> str:
    notes = _notes(view)
    if not notes:
        return ""
    out = ['<section class="bok-review-notes">\n', _heading(REVIEW_NOTES, permalink)]
    for record in notes:
        verb = "endorsed" if record.verdict == "endorse" else "objected"
        current = "" if record.digest == view.chapter.digest else " (an earlier revision)"
        who = _person(view, resolve, record.member)
        out.append(f"<p><strong>{who}</strong> {verb} on {_date(record.date)}{current}:</p>\n"
                   f"<blockquote>\n{comments_html(record.comments)}\n</blockquote>\n")
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
    """Blob ids of the endorsed content shown, to mark the revisions holding it."""
    chapter = view.chapter
    if view.earlier is not None:
        return _blob_ids(view.earlier.content, object_format)
    if not view.status.published:
        return set()
    try:
        data = (view.ctx.root / chapter.path).read_bytes()
    except OSError:
        return set()
    if content_digest(data) != chapter.digest:  # changed since it was loaded
        return set()
    return _blob_ids(data, object_format)


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
        endorsed = _endorsed_blobs(view, ctx.hist.object_format)
        out.append("<table>\n<thead>\n<tr><th>Date</th><th>Author</th><th>Change</th>"
                   "<th>Commit</th><th>Endorsed</th></tr>\n</thead>\n<tbody>\n")
        for revision in revisions:
            email = revision.author_email.lower() if revision.author_email else ""
            member = ctx.by_email.get(email) if email else None
            author = member.name if member else revision.author_name
            short = f"<code>{esc(revision.short)}</code>"
            commit = (f'<a href="{esc(ctx.repo_url)}/commit/{esc(revision.commit)}">{short}</a>'
                      if ctx.repo_url else short)
            mark = "✓ endorsed" if revision.blob and revision.blob in endorsed else ""
            if earlier is not None and revision.commit == earlier.revision.commit:
                mark = "✓ endorsed, shown"
            out.append(f"<tr><td>{_date(revision.date)}</td><td>{esc(author)}</td>"
                       f"<td>{esc(revision.subject)}</td><td>{commit}</td><td>{mark}</td>"
                       "</tr>\n")
        out.append("</tbody>\n</table>\n")
    out.append("</section>\n")
    return "".join(out)


# --- other pages (Markdown; MkDocs resolves their .md links) --------------------------------


def _people(ctx: _Context, ids, src: str) -> str:
    return ", ".join(link(member_page(i), src, _member_name(ctx.book, i)) for i in ids)


def _domain_page(ctx: _Context, domain_id: str, plan: SitePlan) -> Page:
    book = ctx.book
    domain = book.domains[domain_id]
    src = f"{domain_id}/index.md"
    parts = [f"# {text(domain.title)}\n\n"]
    if domain.description:
        parts.append(f"{text(domain.description)}\n\n")
    body = _domain_body(ctx, domain.path)
    if body:
        parts.append(body.strip("\n") + "\n\n")
    experts = [m.id for m in book.registry.experts_of(domain_id)]
    stewards = [m.id for m in book.registry.stewards()]
    parts.append(f"**Experts** {_people(ctx, experts, src) or 'none yet'}\n\n")
    parts.append(f"**Stewards** {_people(ctx, stewards, src) or 'none yet'}\n\n")
    by_type: dict[str, list[str]] = defaultdict(list)
    for path, status in plan.published.items():
        chapter = book.chapters[path]
        if chapter.domain == domain_id:
            by_type[chapter.type].append(
                f"- {link(_src(path), src, plan.pages[_src(path)].title)} · {status.state}")
    for chapter_type in book.policy.chapter_types:
        if by_type.get(chapter_type):
            parts.append(f"## {text(chapter_type.capitalize())}\n\n"
                         + "\n".join(sorted(by_type[chapter_type])) + "\n\n")
    if not by_type:
        parts.append("No chapter of this domain is endorsed yet.\n")
    return Page(src, domain.title, "".join(parts), domain.description)


def _domain_body(ctx: _Context, path: str) -> str:
    full = ctx.root / path
    if not full.is_file() or full.is_symlink():
        return ""
    try:
        return document.parse(full.read_bytes()).body
    except FileProblem:
        return ""


def _members_chapters(ctx: _Context, plan: SitePlan) -> tuple[dict, dict]:
    """For every member: the published chapters they wrote, and those they endorsed."""
    wrote: dict[str, list[str]] = defaultdict(list)
    endorsed: dict[str, list[str]] = defaultdict(list)
    for path, status in plan.published.items():
        src, title = _src(path), plan.pages[_src(path)].title
        for member_id in dict.fromkeys(ctx.book.chapters[path].authors):
            wrote[member_id].append((src, title))
        for member_id in dict.fromkeys(status.endorsed_by):
            endorsed[member_id].append((src, title))
    return wrote, endorsed


def _member_page(ctx: _Context, member: Member, wrote: list, endorsed: list) -> Page:
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
    wrote_list = "\n".join(sorted(f"- {link(c, src, t)}" for c, t in wrote))
    endorsed_list = "\n".join(sorted(f"- {link(c, src, t)}" for c, t in endorsed))
    parts.append("## Chapters written\n\n" + (wrote_list or "None yet.") + "\n\n")
    parts.append("## Chapters endorsed\n\n" + (endorsed_list or "None yet.") + "\n")
    return Page(src, member.name, "".join(parts))


def _members_index(ctx: _Context) -> Page:
    src = f"{MEMBERS_DIR}/index.md"
    rows = [f"- {link(member_page(m.id), src, m.name)}"
            for m in sorted(ctx.book.registry.members.values(), key=lambda m: m.name)]
    return Page(src, "Members", "# Members\n\nThe people who write and endorse this book.\n\n"
                + "\n".join(rows) + "\n")


def _search_page() -> Page:
    """The search page; the engine mounts the search box on it (no script in page content)."""
    return Page(SEARCH_PAGE, "Search", "# Search\n\nSearch the endorsed chapters of this book: "
                "type a few words, then narrow the results by domain, type, author or state.\n")


def _home_page(ctx: _Context) -> Page:
    full = ctx.root / CONTENT / "index.md"
    body, title, refused = "", "Home", False
    if full.is_file() and not full.is_symlink():
        raw = full.read_bytes()
        refused = len(raw) > ctx.book.policy.limits.chapter_kb * limits.KB  # file-too-large
        raw = b"" if refused else raw
        try:
            doc = document.parse(raw)
            body = doc.body
            title = doc.meta.get("title") if isinstance(doc.meta.get("title"), str) else title
        except FileProblem:
            body = document.decode(raw)
    if refused or limits.markdown_problems(body) or unsafe.unsafe_constructs(body):
        body = "The home page holds content that `bok check` refuses; see its findings.\n"
    return Page("index.md", title, "\n" + body)
