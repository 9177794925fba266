"""``bok check``: judge a whole book, or a change against its base revision.

Without a base, every file is validated, every record verified, and each chapter's state
computed; a chapter that is not endorsed is a warning (the site will not publish it).

With a base revision (a pull request's target), trust comes from the base: the registry and the
policy are read from it, never from the change. Every chapter the change adds or alters must be
endorsed (or be a draft); a change to a governed file (the registry, the policy, mkdocs.yml and
the files it names, the home page, a domain page: see :mod:`bok.governance`) needs a sign-off
of that very transition by the base's stewards (or, for a domain page, its experts); what the
change does to review records is judged by :mod:`bok.chapter_records`, and the book-wide rules
a local change can break by :mod:`bok.paths`, on the tree's listing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from . import (
    chapter_records,
    codeowners,
    git,
    governance,
    history,
    links,
    paths,
    policy,
    siteconfig,
)
from .errors import WARNING, Finding
from .loading import DEPENDS_ON_RULES, load_book, load_record, load_registry, rules_problems
from .model import (
    CONTENT,
    MEMBERS_PATH,
    REGISTRY_FILES,
    REGISTRY_RECORDS,
    REVIEWS,
    SITE_CONFIG,
    Book,
    Record,
    Registry,
    content_digest,
    is_governed,
    record_path,
)
from .policy import EarlierRevision, Status, evaluate_book
from .signing import Verification, record_payload
from .siteconfig import SiteConfig, load_site_config
from .trees import GitTree, WorkTree


@dataclass
class Result:
    """What ``bok check`` and ``bok status`` report."""

    book: Book
    statuses: dict[str, Status]
    verifications: dict[str, Verification]  # by record path
    findings: list[Finding] = field(default_factory=list)
    base: str | None = None
    base_commit: str | None = None  # the base, resolved to a commit

    @property
    def ok(self) -> bool:
        return not any(f.is_error for f in self.findings)

    def strict(self) -> Result:
        """The same result with every warning raised to an error."""
        self.findings = [f.as_error() for f in self.findings]
        return self


def check(root: Path, base: str | None = None, today: dt.date | None = None,
          earlier: EarlierRevision | None = None) -> Result:
    """Check the book at ``root``; with ``base``, check it as a change against that revision.

    With a base, only what the change touches is loaded and judged (its files, and the
    chapters, records and domain pages they belong with), so a pull request of three chapters
    costs the same in a book of ten chapters or of ten thousand. The whole book is judged by
    ``bok check`` without a base, which the publish workflow runs.
    """
    today = today or dt.date.today()
    tree = WorkTree(root)
    trust = GitTree(root, base) if base else None
    changes = trust.changes() if trust else None
    book = load_book(tree, trust, only=changes)
    if changes is not None:  # a name that is not UTF-8 was reported; nothing else reads it
        changes = {p: s for p, s in changes.items() if paths.name_problem(p) is None}
    if trust is not None:
        earlier = None  # a changed chapter must be endorsed whatever came before it
    statuses, verifications = evaluate_book(book, today, earlier=earlier)
    result = Result(book, statuses, verifications, list(book.findings), base,
                    trust.commit if trust else None)
    broken = rules_problems(book) if trust is None else []
    if broken:
        result.findings = _rules_first(book.findings, broken)
        return result
    findings = result.findings
    new_records = {p for p, s in changes.items() if s != "D"} if changes is not None else set()
    for v in verifications.values():
        if not v.valid:
            findings.append(_verification_finding(v, v.record.path in new_records))
        elif v.key_status and trust is not None and v.record.path in new_records \
                and not _carried(trust, v.record):
            findings.append(_new_by_retired_key(v))
    for status in statuses.values():
        for finding in status.findings:
            # A misplaced verdict blocks the change that adds it; an old one only stops counting
            # (a member may have left a domain since).
            new = finding.path in new_records
            findings.append(finding if new else finding.as_warning())
    findings.extend(_engine_footing(root, tree))
    if trust is None:
        site, site_findings = load_site_config(tree)
        findings.extend(site_findings)
        if any(s.published for s in statuses.values()):  # the feed has entries
            findings.extend(_feed_without_site_url(site))
        findings.extend(_shallow(root))
        findings.extend(_codeowners(root, book.registry, list(book.domains)))
        findings.extend(_unendorsed(book, statuses, changed=None))
        findings.extend(_lost(book, statuses, verifications, book.registry))
        findings.extend(links.unpublished_links(book, statuses))
    else:
        assert changes is not None  # a base always has its changes
        changed = {p for p, s in changes.items() if s != "D" and p in book.chapters}
        findings.extend(_unendorsed(book, statuses, changed))
        findings.extend(_governed_changes(book, tree, trust, changes, verifications))
        findings.extend(_removed_authors(root, book, trust, changes))
        findings.extend(_lost_by_registry_change(root, trust, changes, today))
        findings.extend(_record_changes(book, trust, changes))
        findings.extend(chapter_records.record_findings(root, book, trust, changes,
                                                        verifications, today))
        findings.extend(_whole_tree(root, changes))
    findings.sort(key=_order)
    return result


def _rules_first(loaded: list[Finding], broken: list[Finding]) -> list[Finding]:
    """The registry or the policy does not load: its errors first, then one note that what
    follows from them was not judged (instead of an unknown author for every chapter and an
    unregistered signer for every record), then the problems of the other files."""
    files = sorted({f.path for f in broken})
    note = Finding(files[0], "rules-not-evaluated",
                   f"{' and '.join(files)} {'does' if len(files) == 1 else 'do'} not load, so "
                   "chapters' authors and types, records' signers and endorsements were not "
                   "evaluated", severity=WARNING,
                   fix="Fix the error(s) above, then run bok check again.")
    rest = [f for f in loaded if f not in broken and f.rule not in DEPENDS_ON_RULES]
    return [*sorted(broken, key=_order), note, *sorted(rest, key=_order)]


def _order(finding: Finding) -> tuple[str, int, str]:
    return (finding.path, finding.line or 0, finding.rule)


def _verification_finding(v: Verification, new: bool) -> Finding:
    """Forgery is always an error; a sound signature by a signer who is not (or no longer)
    registered is an error only where the change under review adds it."""
    path = v.record.path
    if v.key_status:
        verb = "does not verify" if new else "no longer counts"
        return Finding(path, {"revoked": "key-revoked", "retired": "key-retired"}[v.key_status],
                       f"record {verb}: {v.reason}",
                       severity="error" if new else WARNING,
                       fix=f"'{v.record.member}' signs again with their current key; "
                           "what this record reviewed needs that signature meanwhile.")
    if not v.unregistered:
        return Finding(path, "bad-signature", f"record does not verify: {v.reason}",
                       fix="The member signs again with bok, which replaces this record.")
    if new:
        return Finding(path, "bad-signature", f"record does not verify: {v.reason}",
                       fix="The gate trusts the base's registry: register the member or key "
                           "in reviews/members.yml in a pull request of its own first.")
    return Finding(path, "signer-not-registered", f"record no longer counts: {v.reason}",
                   severity=WARNING,
                   fix="A member left or a key was replaced: this record no longer counts, "
                       "so what it reviewed needs a current member's signature.")


def _new_by_retired_key(v: Verification) -> Finding:
    """A record dated before its key's retirement counts, but its date is the signer's own
    claim: one the change adds can only be trusted if the base held it already."""
    return Finding(v.record.path, "key-retired",
                   f"a new record signed with key {v.fingerprint}, which the base's registry "
                   f"says '{v.record.member}' retired; its date ({v.record.date}) cannot be "
                   "trusted", fix=f"'{v.record.member}' signs again with their current key.")


def _carried(trust: GitTree, record: Record) -> bool:
    """Does the base hold this very record, where it is or where it was signed ('bok mv'
    moves records with their chapter)?"""
    for path in dict.fromkeys((record.path, record_path(record.signed_path, record.member))):
        old = load_record(trust, path, [])
        if old is not None and record_payload(old) == record_payload(record) \
                and old.signature == record.signature:
            return True
    return False


def _lost(book: Book, statuses: dict[str, Status], verifications: dict[str, Verification],
          registry: Registry, cause: str = "") -> list[Finding]:
    """``endorsement-lost``: chapters below the policy because endorsements stopped counting
    (see :func:`bok.policy.lost_endorsements`), with who may re-endorse them."""
    findings = []
    for path, status in statuses.items():
        chapter = book.chapters.get(path)
        if chapter is None:
            continue
        checked = [verifications[r.path] for r in book.records_for(path)]
        found = policy.lost_endorsements(chapter, checked, registry,
                                         book.policy.rules_for(chapter.domain), status)
        if found is None:
            continue
        whose = "; ".join(f"{member} ({why})" for member, why in found.lost)
        who = (f"May re-endorse: {', '.join(found.may_endorse)}." if found.may_endorse else
               "No expert of the domain may endorse it: add experts to reviews/members.yml.")
        findings.append(Finding(
            path, "endorsement-lost", f"{cause}fell below the policy: the endorsement of "
            f"{whose} no longer counts; needs {'; '.join(found.missing)}", severity=WARNING,
            fix=who))
    return findings


def _lost_by_registry_change(root: Path, trust: GitTree, changes: dict[str, str],
                             today: dt.date) -> list[Finding]:
    """A change to the registry that drops published chapters below the policy (a member
    removed, a key revoked) is reported with those chapters, before it is merged."""
    if MEMBERS_PATH not in changes:
        return []
    current = load_registry(WorkTree(root), [])
    whole = load_book(WorkTree(root), trust)
    before, _ = evaluate_book(whole, today)
    after, verifications = evaluate_book(whole, today, registry=current)
    dropped = {p: s for p, s in after.items()
               if before[p].published and not s.published}
    return _lost(whole, dropped, verifications, current,
                 cause="this change to reviews/members.yml: ")


def _feed_without_site_url(site: SiteConfig | None) -> list[Finding]:
    """The Atom feed (feed.xml) needs the site's address to give feed readers absolute links."""
    if site is None or str(site.data.get("site_url") or "").startswith(("https://", "http://")):
        return []
    return [Finding(SITE_CONFIG, "feed-without-site-url", "mkdocs.yml has no http(s) "
                    "site_url, so the Atom feed (feed.xml) links its entries relative to "
                    "itself, which some feed readers do not follow", severity=WARNING,
                    fix="Add 'site_url: https://...' (where the book is published) to "
                        "mkdocs.yml.")]


def _shallow(root: Path) -> list[Finding]:
    """Without full history, 'pending' cannot be told from 'awaiting'."""
    if not history.is_shallow(root):
        return []
    return [Finding(".", "shallow-clone", "this is a shallow clone: chapters whose earlier "
                    "revision was endorsed show as awaiting, not pending", severity=WARNING,
                    fix="Fetch the whole history: fetch-depth: 0, or git fetch --unshallow.")]


def _removed_authors(root: Path, book: Book, trust: GitTree, changes: dict[str, str]
                     ) -> list[Finding]:
    """A registry change that removes a member who still authors chapters would leave main
    with invalid chapters, so the gate reads every chapter's authors when that happens."""
    if MEMBERS_PATH not in changes:
        return []
    current = load_registry(WorkTree(root), [])
    removed = set(book.registry.members) - set(current.members)
    if not removed:
        return []
    findings = []
    whole = load_book(WorkTree(root), trust)
    for path, chapter in sorted(whole.chapters.items()):
        for author in sorted(removed & set(chapter.authors)):
            findings.append(Finding(
                MEMBERS_PATH, "member-still-author",
                f"removes '{author}', who is an author of {path}",
                fix="Keep the member and their keys (their signatures must still verify), "
                    "or change the chapter's authors in the same pull request."))
    return findings


def _codeowners(root: Path, registry: Registry, domains: list[str]) -> list[Finding]:
    """A committed CODEOWNERS that no longer matches the registry asks the wrong people."""
    found = codeowners.committed(root)
    if found is None:
        return []
    location, text = found
    if text == codeowners.for_book(root, registry, domains):
        return []
    return [Finding(location, "codeowners-stale",
                    "CODEOWNERS does not match reviews/members.yml, so GitHub requests reviews "
                    "from the wrong people", severity=WARNING,
                    fix="Run 'bok codeowners' and commit the result.")]


def _unendorsed(book: Book, statuses: dict[str, Status], changed: set[str] | None
                ) -> list[Finding]:
    findings = []
    for path, status in statuses.items():
        if status.state in (policy.ENDORSED, policy.DRAFT, policy.INVALID):
            continue
        blocking = changed is not None and path in changed
        severity = "error" if blocking else WARNING
        if status.state == policy.EXPIRED and not blocking:
            findings.append(Finding(path, "revalidation-due",
                                    f"endorsements lapsed on {status.revalidate_on}",
                                    severity=WARNING,
                                    fix="Experts of the domain re-endorse it with 'bok endorse'."))
            continue
        what = "changed in this change and is not endorsed" if blocking else "is not endorsed"
        findings.append(Finding(path, "not-endorsed",
                                f"{what}: needs {'; '.join(status.missing)}",
                                severity=severity, fix=_next_step(status)))
    return findings


def _next_step(status: Status) -> str:
    """Who can move the chapter forward, and what readers see meanwhile."""
    if status.objections:
        who = f"Resolve the objection of {', '.join(sorted(status.objections))} (they sign " \
              "again once satisfied)."
    elif status.may_endorse:
        who = f"May endorse: {', '.join(status.may_endorse)}."
    else:
        who = "No expert of the domain may endorse it yet: add experts to reviews/members.yml."
    if status.state == policy.PENDING:
        return f"{who} Readers see its newest endorsed revision meanwhile."
    return f"{who} Not published until endorsed."


def _governed_changes(book: Book, tree: WorkTree, trust: GitTree, changes: dict[str, str],
                      verifications: dict[str, Verification]) -> list[Finding]:
    """Each governed file the change alters needs its sign-off, by members of the base,
    approving this very transition (see bok.governance)."""
    def digest(data: bytes | None) -> str:
        return content_digest(data) if data is not None else governance.NONE

    moves = []
    for path in REGISTRY_FILES:
        moves.append(governance.Transition(path, digest(trust.read(path)),
                                           book.file_digests.get(path, governance.NONE)))
    for path, state in sorted(changes.items()):
        if state != "D" and path.startswith(CONTENT + "/") and is_governed(path):
            moves.append(governance.Transition(path, digest(trust.read(path)),
                                               digest(tree.read(path))))
    findings: list[Finding] = []
    base_site, _ = load_site_config(trust)
    site, site_findings = load_site_config(tree)
    findings.extend(site_findings)  # a link or a directory loads as None: never a deletion
    before = base_site.digest if base_site else governance.NONE
    after = site.digest if site else governance.NONE
    if after != before:
        moves.append(governance.Transition(SITE_CONFIG, before, after))
    for move in moves:
        if move.before == move.after or (
                move.after == governance.NONE and not governance.deletion_needs_signoff(move.path)):
            continue
        records = book.records_for(move.path)
        trust.prefetch([r.path for r in records])
        carried = frozenset(r.path for r in records if _on_file(trust, r))
        checked = [verifications[r.path] for r in records]
        findings.extend(governance.judge(move, checked, book.registry, book.policy, carried))
    return findings


def _engine_footing(root: Path, tree: WorkTree) -> list[Finding]:
    """What an engine run in the book reads or is stopped by besides mkdocs.yml: another
    engine's configuration, committed files where builds write (whole-tree checks, cheap: a
    few names and one ``git ls-files``, so the gate runs them on every change)."""
    return [*siteconfig.engine_config_findings(tree),
            *siteconfig.build_folder_findings(git.tracked_under(root, siteconfig.BUILD_FOLDERS))]


def _on_file(trust: GitTree, record: Record) -> bool:
    """Does the base hold this very record (the same signed payload) already?"""
    old = load_record(trust, record.path, [])
    return old is not None and record_payload(old) == record_payload(record)


def _whole_tree(root: Path, changes: dict[str, str]) -> list[Finding]:
    """Book-wide rules a local change can break (a name clashing with an unchanged file, a
    removed domain page), judged on the listing of the tree the change produces: the gate
    fails when main would fail ``bok check``, without loading the whole book."""
    tree = WorkTree(root)
    listing = [p for top in (CONTENT, REVIEWS) for p in tree.files(top)
               if paths.name_problem(p) is None]
    added = {p for p, s in changes.items() if s == "A"}
    removed = {p for p, s in changes.items() if s == "D"}
    return paths.tree_findings(listing, added, removed)


def _record_changes(book: Book, trust: GitTree, changes: dict[str, str]) -> list[Finding]:
    """Records are append-only history: a deleted or rolled-back record is reported."""
    findings = []
    base_records = [p for p, s in changes.items() if s in ("D", "M") and p.endswith(".md")
                    and p.startswith(REGISTRY_RECORDS + "/")]  # chapters': chapter_records
    trust.prefetch(base_records)
    current = {r.path: r for r in book.records}
    for path in base_records:
        old = load_record(trust, path, [])
        if old is None:
            continue
        if changes[path] == "D":
            if old.chapter in book.chapters or is_governed(old.chapter):
                findings.append(Finding(path, "record-deleted",
                                        f"the record of '{old.member}' for {old.chapter} was "
                                        "deleted",
                                        fix="Records are never deleted; the member signs a new "
                                            "one to change their verdict."))
            continue
        new = current.get(path)
        if new is not None and new.date < old.date:
            findings.append(Finding(path, "record-rolled-back",
                                    f"replaced by an older record of '{old.member}' "
                                    f"({new.date} < {old.date})",
                                    fix="Restore the newer record."))
    return findings
