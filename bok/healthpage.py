"""The site's health pages: the health of the book (``book-health/``) and of each domain
(``book-health/<domain>.md``), as Markdown made from escaped data (:func:`bok.site.text`,
:func:`bok.site.link`).

A reader sees what the community must tend, as ``bok health`` prints it. Chapters the site
does not publish are named by their path alone (their titles were written by authors and
endorsed by nobody); a drafts preview shows their titles too.
"""

from __future__ import annotations

import functools

from .health import HORIZON, Health
from .revisions import book_health
from .site import (
    HEALTH_DIR,
    HEALTH_PAGE,
    MEMBERS_DIR,
    Page,
    SitePlan,
    _Context,
    _member_name,
    earlier_records,
    link,
    member_page,
    text,
)

FOLDER, BOOK_PAGE = HEALTH_DIR, HEALTH_PAGE
#: Rows of each chapter list on the book's page, most urgent first; each domain's page lists
#: all of its own. (A 3,000-chapter book's lists made a page of 1.3 MB nobody reads whole.)
BOOK_ROWS = 25


def domain_page(domain: str) -> str:
    return f"{FOLDER}/{domain}.md"


def health_pages(ctx: _Context, plan: SitePlan) -> list[Page]:
    """The book's health page and one per domain."""
    found = book_health(ctx.root, ctx.book, ctx.statuses, ctx.verifications, ctx.hist,
                        ctx.today, earlier_records(ctx))
    pages = [_page(ctx, plan, found, BOOK_PAGE, "Health of the book")]
    for domain in sorted(ctx.book.domains):
        title = f"Health of {ctx.book.domains[domain].title}"
        pages.append(_page(ctx, plan, found.for_domain(domain), domain_page(domain), title))
    return pages


def _page(ctx: _Context, plan: SitePlan, health: Health, src: str, title: str) -> Page:
    def chapter(path: str, shown: str) -> str:
        page = path.removeprefix("content/")
        if page in plan.pages:
            return link(page, src, plan.pages[page].title)
        return text(shown) if ctx.drafts else f"`{text(path)}`"

    @functools.cache
    def person(member_id: str) -> str:  # a page names the same few experts on every row
        return link(member_page(member_id), src, _member_name(ctx.book, member_id))

    def people(ids) -> str:
        return ", ".join(person(i) for i in ids) or "nobody"

    def table(head: list[str], rows: list[list[str]], capped: bool = False) -> str:
        shown = rows[:BOOK_ROWS] if capped and health.domain is None else rows
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                  for row in shown]
        more = "" if len(shown) == len(rows) else (
            f"\n\nThe {len(shown)} most urgent of {len(rows)}; each domain's page (above) "
            "lists all of its own.")
        return "\n".join(lines) + more + "\n\n"

    counts = health.counts
    share = health.endorsed_share
    parts = [f"# {text(title)}\n\n",
             f"As of {health.today}: {health.chapters} chapter{'s' * (health.chapters != 1)}"
             + (" (" + ", ".join(f"{n} {text(state)}" for state, n in counts.items()) + ")"
                if counts else "")
             + (f"; {share:.0%} endorsed and current" if share is not None else "") + ".\n\n"]
    if health.domain is None:
        parts.append("Each domain: " + ", ".join(
            link(domain_page(s.domain), src, s.title) for s in health.staff) + ".\n\n")
    else:
        parts.append(f"Back to {link(BOOK_PAGE, src, 'the health of the book')} · "
                     f"{link(f'{health.domain}/index.md', src, 'the domain')}.\n\n")
    parts.append("## Due for re-validation\n\n")
    if health.lapsed:
        parts.append(table(["Chapter", "Lapsed on", "May re-validate"], [
            [chapter(x.path, x.title), str(x.on), people(x.may_revalidate)]
            for x in health.lapsed], capped=True))
    else:
        parts.append("No endorsement has lapsed.\n\n")
    parts.append(f"## Lapsing within {HORIZON} days\n\n")
    if health.lapsing:
        parts.append(table(["Chapter", "Lapses on", "In days", "Endorsed by"], [
            [chapter(x.path, x.title), str(x.on), str(x.days), people(x.endorsed_by)]
            for x in health.lapsing], capped=True))
    else:
        parts.append(f"No endorsement lapses within {HORIZON} days.\n\n")
    parts.append("## Review queue\n\n")
    if health.queue:
        parts.append("Oldest first; waiting since the commit that made the current text.\n\n")
        parts.append(table(["Chapter", "State", "Waiting since", "Days", "May endorse"], [
            [chapter(x.path, x.title), text(x.state), str(x.since or "not committed"),
             str(x.days), people(x.may_endorse)] for x in health.queue], capped=True))
    else:
        parts.append("No chapter awaits endorsement.\n\n")
    parts.append("## Reviewer load\n\n")
    if health.load:
        parts.append(table(["Expert", "Chapters awaiting them"],
                           [[people([m]), str(n)] for m, n in health.load.items()]))
    else:
        parts.append("No chapter awaits any expert.\n\n")
    parts.append("## People\n\n")
    if health.understaffed:
        parts.append("Chapters fewer experts may endorse than the policy needs:\n\n")
        parts.append(table(["Chapter", "Needs", "Eligible experts"], [
            [chapter(u.path, u.title), str(u.needed), people(u.eligible)]
            for u in health.understaffed], capped=True))
    parts.append(table(["Domain", "Experts", "Stewards among them", "Short of"], [
        [link(f"{s.domain}/index.md", src, s.title), people(s.experts), people(s.stewards),
         text("; ".join(s.problems)) or "-"] for s in health.staff]))
    parts.append("## Activity\n\n")
    if not health.history:
        parts.append("Not known: this site was built without Git history.\n")
    else:
        parts.append(table(["Month", "Written", "Endorsed", "Re-validated"], [
            [m.month, str(m.written), str(m.endorsed), str(m.revalidated)]
            for m in health.activity()]))
        names = [link(member_page(w), src, _member_name(ctx.book, w))
                 if w in ctx.book.registry.members else text(w) for w in health.contributors]
        parts.append(f"Contributors in {health.quarter}: {', '.join(names) or 'none yet'}. "
                     f"See {link(f'{MEMBERS_DIR}/index.md', src, 'every member')}.\n")
    return Page(src, title, "".join(parts))

