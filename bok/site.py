"""What the site publishes and how each page reads: the core of the site, free of MkDocs.

Given the loaded book, each chapter's state and the Git history, :func:`plan_site` decides which
pages exist and writes their Markdown: chapters with their attribution, review notes and
revision history; a page per domain and per member; the tags index. Only endorsed practice is
published; a chapter whose current content is not endorsed shows its newest endorsed revision.
The MkDocs plugin (:mod:`bok.plugin`) only hands these pages to MkDocs, so another engine could
take its place.
"""

from __future__ import annotations

import datetime as dt
import html
import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from . import document, history, policy, sanitize
from .errors import FileProblem
from .model import CONTENT, Book, Chapter, Member, content_digest
from .policy import Status
from .revisions import newest_endorsed
from .signing import Verification

MEMBERS_DIR = "members"
TAGS_PAGE = "tags.md"
RESERVED = (MEMBERS_DIR, "tags", "assets", "search", "pagefind")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


@dataclass
class Page:
    """One page of the site, as Markdown, with the metadata the theme shows."""

    src_uri: str  # relative to content/
    title: str
    markdown: str
    description: str = ""
    tags: tuple[str, ...] = ()
    chapter: str | None = None  # the chapter's path, for chapter pages


@dataclass
class SitePlan:
    pages: dict[str, Page] = field(default_factory=dict)
    published: dict[str, Status] = field(default_factory=dict)  # chapter path -> status
    history_available: bool = True


def text(value: str) -> str:
    """Plain text made safe inside Markdown: no HTML, no Markdown syntax."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(value, quote=False)).replace("\n", " ")


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


def plan_site(root: Path, book: Book, statuses: dict[str, Status],
              verifications: dict[str, Verification], hist: history.History | None,
              today: dt.date, drafts: bool = False, repo_url: str | None = None) -> SitePlan:
    """Decide every page of the site and write its Markdown."""
    ctx = _Context(root, book, statuses, verifications, hist, today, drafts,
                   repo_url.rstrip("/") if repo_url else None)
    plan = SitePlan(history_available=hist is not None)
    revisions = _earlier_revisions(ctx)
    blobs = _revision_digests(ctx)
    for path, chapter in sorted(book.chapters.items()):
        status = statuses[path]
        earlier = revisions.get(path)
        if status.published:
            page = _chapter_page(ctx, chapter, status, chapter.body, None, blobs)
        elif earlier is not None:
            shown = _parse_revision(earlier.content)
            if shown is None:
                continue
            page = _chapter_page(ctx, chapter, earlier.status, shown[1], earlier, blobs,
                                 title=shown[0])
            status = earlier.status
        elif drafts:
            page = _chapter_page(ctx, chapter, status, chapter.body, None, blobs)
        else:
            continue
        plan.pages[page.src_uri] = page
        plan.published[path] = status
    for domain in book.domains.values():
        page = _domain_page(ctx, domain.id, plan)
        plan.pages[page.src_uri] = page
    for member in book.registry.members.values():
        page = _member_page(ctx, member, plan)
        plan.pages[page.src_uri] = page
    plan.pages[f"{MEMBERS_DIR}/index.md"] = _members_index(ctx)
    home = _home_page(ctx)
    plan.pages[home.src_uri] = home
    return plan


def _earlier_revisions(ctx: _Context) -> dict:
    """For chapters whose current content is not endorsed: the newest endorsed revision."""
    found = {}
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


def _revision_digests(ctx: _Context) -> dict[tuple[str, str], str]:
    """The content digest of every revision of every chapter, read with one Git process."""
    if ctx.hist is None:
        return {}
    pairs = [(r.commit, r.path) for path in ctx.book.chapters for r in ctx.hist.of(path)
             if r.status != "D"]
    return {pair: content_digest(data)
            for pair, data in history.blobs_at(ctx.root, pairs).items() if data is not None}


def _parse_revision(content: bytes) -> tuple[str, str] | None:
    try:
        doc = document.parse(content)
    except FileProblem:
        return None
    title = doc.meta.get("title")
    return (title if isinstance(title, str) else "Untitled"), doc.body


def _banner(kind: str, title: str, body: str) -> str:
    return f'!!! {kind} "{text(title)}"\n    {body}\n\n'


def _chapter_page(ctx: _Context, chapter: Chapter, status: Status, body: str,
                  earlier, digests: dict, title: str | None = None) -> Page:
    src = _src(chapter.path)
    title = title or chapter.title
    parts = [f"# {text(title)}\n\n"]
    if earlier is not None:
        parts.append(_banner(
            "warning", "A newer revision awaits review",
            f"This is the revision of {_date(earlier.revision.date)} "
            f"({earlier.revision.short}), the newest one its experts endorsed. A newer "
            "revision has not been endorsed yet."))
    if status.state == policy.EXPIRED:
        parts.append(_banner(
            "warning", "Due for re-validation",
            f"The endorsements of this chapter lapsed on {_date(status.revalidate_on)}; "
            "its experts have been asked to review it again."))
    if not status.published:
        parts.append(_banner(
            "danger", "Draft, not endorsed",
            "This preview includes a chapter that is not endorsed. It is not part of the "
            "published book."))
    parts.append(_attribution(ctx, chapter, status, src))
    parts.append(body.strip("\n") + "\n\n")
    parts.append(_review_notes(ctx, chapter, status, src))
    parts.append(_history_section(ctx, chapter, status, digests, earlier))
    return Page(src, title, "".join(parts), chapter.summary, chapter.tags, chapter.path)


def _people(ctx: _Context, ids, src: str) -> str:
    return ", ".join(link(member_page(i), src, _member_name(ctx.book, i)) for i in ids)


def _attribution(ctx: _Context, chapter: Chapter, status: Status, src: str) -> str:
    book = ctx.book
    domain = book.domains[chapter.domain]
    lines = ['<div class="bok-attribution" markdown>', ""]
    signed = set(status.signed_by)
    authors = ", ".join(
        link(member_page(a), src, _member_name(book, a)) + (" ✓" if a in signed else "")
        for a in chapter.authors)
    legend = " <small>(✓ signed this exact content)</small>" if signed else ""
    lines.append(f"**Written by** {authors}{legend}")
    lines.append("")
    if status.endorsements:
        endorsers = ", ".join(
            f"{link(member_page(v.record.member), src, _member_name(book, v.record.member))} "
            f"({_date(v.record.date)}, [notes](#review-notes))"
            for v in sorted(status.endorsements, key=lambda v: v.record.member))
        lines += [f"**Endorsed by** {endorsers}", ""]
    facts = [f"**Domain** {link(f'{chapter.domain}/index.md', src, domain.title)}",
             f"**Type** {text(chapter.type)}"]
    if status.endorsed_on:
        facts.append(f"**Endorsed on** {_date(status.endorsed_on)}")
    if status.revalidate_on:
        facts.append(f"**Re-validate by** {_date(status.revalidate_on)}")
    if chapter.tags:
        facts.append("**Tags** " + ", ".join(text(t) for t in chapter.tags))
    lines += [" · ".join(facts), "", "</div>", "", ""]
    return "\n".join(lines)


def _review_notes(ctx: _Context, chapter: Chapter, status: Status, src: str) -> str:
    notes = []
    for record in sorted(ctx.book.records_for(chapter.path), key=lambda r: (r.date, r.member)):
        verification = ctx.verifications.get(record.path)
        if not (verification and verification.valid):
            continue
        if record.verdict not in ("endorse", "object"):
            continue
        verb = "endorsed" if record.verdict == "endorse" else "objected"
        current = "" if record.digest == chapter.digest else " (an earlier revision)"
        who = link(member_page(record.member), src, _member_name(ctx.book, record.member))
        comments = record.comments.strip() or "*No comments.*"
        quoted = "\n".join("> " + line for line in comments.splitlines())
        notes.append(f"**{who}** {verb} on {_date(record.date)}{current}:\n\n{quoted}\n")
    if not notes:
        return ""
    return "## Review notes { #review-notes }\n\n" + "\n".join(notes) + "\n"


def _history_section(ctx: _Context, chapter: Chapter, status: Status, digests: dict,
                     earlier) -> str:
    out = ["## Revision history { #revision-history }\n"]
    if ctx.hist is None:
        out.append("Revision history is not available for this build (it was made without "
                   "Git history).\n")
        return "\n".join(out) + "\n"
    revisions = ctx.hist.of(chapter.path)
    if not revisions:
        out.append("This chapter has no committed revisions yet.\n")
        return "\n".join(out) + "\n"
    endorsed = {chapter.digest} if status.published and earlier is None else set()
    if earlier is not None:
        endorsed.add(content_digest(earlier.content))
    out += ["| Date | Author | Change | Commit | Endorsed |", "|---|---|---|---|---|"]
    for revision in revisions:
        member = ctx.book.registry.by_email(revision.author_email)
        author = member.name if member else revision.author_name
        short = revision.short
        commit = f"[`{short}`]({ctx.repo_url}/commit/{revision.commit})" if ctx.repo_url \
            else f"`{short}`"
        digest = digests.get((revision.commit, revision.path))
        mark = "✓ endorsed" if digest in endorsed else ""
        if earlier is not None and revision.commit == earlier.revision.commit:
            mark = "✓ endorsed, shown"
        out.append(f"| {_date(revision.date)} | {text(author)} | {text(revision.subject)} | "
                   f"{commit} | {mark} |")
    return "\n".join(out) + "\n\n"


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


def _member_page(ctx: _Context, member: Member, plan: SitePlan) -> Page:
    src = member_page(member.id)
    wrote, endorsed = [], []
    for path, status in plan.published.items():
        chapter = ctx.book.chapters[path]
        title = plan.pages[_src(path)].title
        if member.id in chapter.authors:
            wrote.append(f"- {link(_src(path), src, title)}")
        if member.id in status.endorsed_by:
            endorsed.append(f"- {link(_src(path), src, title)}")
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
    parts.append("## Chapters written\n\n" + ("\n".join(sorted(wrote)) or "None yet.") + "\n\n")
    parts.append("## Chapters endorsed\n\n" + ("\n".join(sorted(endorsed)) or "None yet.")
                 + "\n")
    return Page(src, member.name, "".join(parts))


def _members_index(ctx: _Context) -> Page:
    src = f"{MEMBERS_DIR}/index.md"
    rows = [f"- {link(member_page(m.id), src, m.name)}"
            for m in sorted(ctx.book.registry.members.values(), key=lambda m: m.name)]
    return Page(src, "Members", "# Members\n\nThe people who write and endorse this book.\n\n"
                + "\n".join(rows) + "\n")


def _home_page(ctx: _Context) -> Page:
    full = ctx.root / CONTENT / "index.md"
    body, title = "", "Home"
    if full.is_file() and not full.is_symlink():
        raw = full.read_bytes()
        try:
            doc = document.parse(raw)
            body = doc.body
            title = doc.meta.get("title") if isinstance(doc.meta.get("title"), str) else title
        except FileProblem:
            body = document.decode(raw)
    if sanitize.unsafe_constructs(body):
        body = "The home page holds unsafe content; see `bok check`.\n"
    return Page("index.md", title, "\n" + body)
