"""From files to the model, strictly: every malformed file becomes a finding, never a crash.

One bad file never hides the others: each file is read on its own, its problems are recorded as
findings, and loading goes on with the rest of the book.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import cache as caching
from . import document, limits, paths, render, schema, sshsig, strictyaml, unsafe
from .errors import WARNING, FileProblem, Finding
from .limits import Limits
from .model import (
    CONTENT,
    MEMBERS_PATH,
    POLICY_PATH,
    REGISTRY_FILES,
    REGISTRY_RECORDS,
    RESERVED_DOMAINS,
    REVIEWS,
    Book,
    Chapter,
    Domain,
    Home,
    KeyState,
    Member,
    Policy,
    Record,
    Registry,
    chapter_domain,
    chapter_path_problem,
    content_digest,
    is_governed,
    record_path,
    reviewed_path,
)
from .policy import MAX_REVALIDATE_DAYS
from .siteconfig import load_site_config
from .trees import FILE, LINK, Entry

PLAIN_TEXT_FIELDS = ("title", "summary", "description")


@dataclass
class Remembered:
    """What earlier loads found, so a rebuild redoes only what changed (about half of loading
    a book): the Markdown bodies found clean (neither too costly to render nor unsafe) and the
    records that loaded without a finding, each by a digest of its bytes, the loading code
    and what else it depends on. Only what had no problem is remembered, so a file with
    problems is checked, and reported, every time. Kept by :mod:`bok.cache` (``scan``), which
    is not used when it cannot be trusted."""

    context: str  # the loading code: a changed rule is a different key
    clean: frozenset[str] = frozenset()
    records: dict[str, dict] = field(default_factory=dict)
    found_clean: set[str] = field(default_factory=set)  # this load's: what to keep
    found_records: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def for_code(cls, clean: Collection[str] = (),
                 records: dict[str, dict] | None = None) -> Remembered:
        from . import model, sanitize  # the rules of paths and ids the checks use
        return cls(caching.code_fingerprint([limits, unsafe, render, document, schema,
                                             strictyaml, paths, model, sanitize,
                                             sys.modules[__name__]]),
                   frozenset(clean), dict(records or {}))

    def key(self, kind: str, text: str | bytes, *more: Any) -> str:
        """``kind``: a ``page`` body is scanned with the book's extensions; a ``record``'s
        comments only for their cost; a ``file`` is a whole record file."""
        return caching.digest(self.context, kind, repr(more), text)

    def is_clean(self, key: str) -> bool:
        if key in self.clean:
            self.found_clean.add(key)
            return True
        return False

    def record(self, key: str) -> Record | None:
        fields = self.records.get(key)
        if fields is None:
            return None
        try:
            record = Record(**{**fields, "date": dt.date.fromisoformat(fields["date"])})
        except (TypeError, ValueError, KeyError):
            return None
        self.found_records[key] = fields
        return record

    def add_record(self, key: str, record: Record) -> None:
        self.found_records[key] = {**dataclasses.asdict(record),
                                   "date": record.date.isoformat()}

    def kept(self) -> dict:
        """What to keep for the next load: this load's findings only (the rest is stale)."""
        return {"clean": sorted(self.found_clean), "records": self.found_records}

    @classmethod
    def from_kept(cls, kept: Any) -> Remembered:
        if not isinstance(kept, dict):
            return cls.for_code()
        clean = kept.get("clean")
        records = kept.get("records")
        return cls.for_code(
            [k for k in clean if isinstance(k, str)] if isinstance(clean, list) else [],
            {k: v for k, v in records.items() if isinstance(v, dict)}
            if isinstance(records, dict) else {})


_remembered: ContextVar[Remembered | None] = ContextVar("bok_remembered", default=None)


@contextmanager
def remembering(memory: Remembered) -> Iterator[Remembered]:
    """Load books inside this block with ``memory``: what it holds is not checked again, and
    what this load found without problems is added to it."""
    token = _remembered.set(memory)
    try:
        yield memory
    finally:
        _remembered.reset(token)


class Tree(Protocol):
    def walk(self, top: str): ...
    def read(self, path: str) -> bytes | None: ...
    def exists(self, path: str) -> bool: ...
    def kind(self, path: str) -> str | None: ...


class Source(Protocol):
    """What loading a single file needs (a Tree, or earlier versions of a few files)."""
    def read(self, path: str) -> bytes | None: ...


def load_book(tree: Tree, trust: Tree | None = None, only: Collection[str] | None = None
              ) -> Book:
    """Load the book from ``tree``; read the registry and policy from ``trust`` if given.

    ``trust`` is the base revision in a pull-request check: the rules a change is judged by
    never come from the change itself. ``only`` limits loading to what a change touches (its
    paths, plus the chapters, records and domain pages they belong with), so the gate's cost
    follows the size of the change, not of the book.
    """
    book = Book()
    entries = _walk(tree, book) if only is None else _entries_for(tree, book, only)
    rules_tree = trust or tree
    book.registry = load_registry(rules_tree, book.findings if trust is None else [])
    book.policy = load_policy(rules_tree, book.findings if trust is None else [])
    book.extensions = _extensions(rules_tree)
    registry, policy = book.registry, book.policy
    for path in REGISTRY_FILES:
        data = tree.read(path)
        if data is not None:
            book.file_digests[path] = content_digest(data)
    if trust is not None and any(p in REGISTRY_FILES for p in (only or REGISTRY_FILES)):
        # the change's own registry and policy must be valid, though they are not trusted
        registry = load_registry(tree, book.findings)
        policy = load_policy(tree, book.findings)
    if only is None or f"{CONTENT}/index.md" in only:
        _load_home(tree, book)
    _load_domains(tree, entries, book)
    _load_chapters(tree, entries, book)
    _load_records(tree, entries, book)
    domain_exists = (lambda d: d in book.domains) if only is None else (
        lambda d: tree.exists(f"{CONTENT}/{d}/index.md"))
    _check_registry_domains(book, registry, policy, domain_exists)
    return book


#: Findings that only follow from the registry or the policy: while either does not load,
#: they say nothing about the file they name (every author is "unknown" to an empty registry).
DEPENDS_ON_RULES = frozenset({"unknown-author", "unknown-type"})


def rules_problems(book: Book) -> list[Finding]:
    """The errors that keep reviews/members.yml or reviews/policy.yml from loading whole.

    The registry and the policy are the rules every chapter and record is judged by: while one
    of them is broken, nothing can be judged, so ``bok build`` stops with these and ``bok
    check`` reports them first. (A cross-reference such as an expert of a domain that does not
    exist is not a loading problem: the file loaded.)
    """
    return [f for f in book.findings if f.is_error and f.path in REGISTRY_FILES
            and f.rule != "unknown-domain"]


def _extensions(tree: Tree) -> render.Extensions:
    """The Markdown extensions of the book's mkdocs.yml, to scan pages as the site renders
    them (its problems are reported by ``bok check`` with the site configuration)."""
    config, _problems = load_site_config(tree)
    return render.Extensions.from_config(config.data.get("markdown_extensions")
                                         if config is not None else None).renderable()


def _entries_for(tree: Tree, book: Book, paths: Collection[str]) -> list[Entry]:
    """The files a change touches and those it must be judged with."""
    wanted: set[str] = set()
    chapters: set[str] = set()
    for path in paths:
        if not path.startswith((CONTENT + "/", REVIEWS + "/")):
            continue
        wanted.add(path)
        if path.startswith(REVIEWS + "/") and path not in REGISTRY_FILES:
            reviewed = reviewed_path(path)
            if reviewed and reviewed.startswith(CONTENT + "/"):
                chapters.add(reviewed)
        elif path.startswith(CONTENT + "/") and path.endswith(".md"):
            chapters.add(path)
    for chapter in chapters:
        domain = chapter_domain(chapter)
        if domain:
            wanted.add(f"{CONTENT}/{domain}/index.md")
        wanted.add(chapter)
        folder = record_path(chapter, "x").rsplit("/", 1)[0]
        wanted.update(e.path for e in tree.walk(folder))
    wanted.update(e.path for e in tree.walk(REGISTRY_RECORDS))
    entries = []
    for path in sorted(wanted):
        if _bad_name(path, book):
            continue
        kind = tree.kind(path)
        if kind == LINK:
            book.findings.append(Finding(
                path, "symlink", "symbolic link is not allowed (bok never follows one)",
                fix="Replace the link with the file itself."))
        elif kind == FILE:
            entries.append(Entry(path, FILE))
    return entries


def _walk(tree: Tree, book: Book) -> list[Entry]:
    """Every regular file under content/ and reviews/; links and case clashes are findings."""
    entries: list[Entry] = []
    for top in (CONTENT, REVIEWS):
        for entry in tree.walk(top):
            if entry.kind == LINK:
                book.findings.append(Finding(
                    entry.path, "symlink", "symbolic link is not allowed (bok never follows one)",
                    fix="Replace the link with the file itself."))
                continue
            if entry.kind == FILE and not _bad_name(entry.path, book):
                entries.append(entry)
    later = set()
    for pair in paths.case_clashes(e.path for e in entries):
        book.findings.extend(paths.case_clash(path, pair) for path in pair)
        book.invalid_chapters.update(pair)
        later.add(pair[1])
    for pair in paths.url_clashes(e.path for e in entries if e.path.startswith(CONTENT + "/")):
        book.findings.extend(paths.url_clash(path, pair) for path in pair)
    return [e for e in entries if e.path not in later]


def _bad_name(path: str, book: Book) -> bool:
    """A name that is not UTF-8 is reported and its file left out (it cannot be printed)."""
    problem = paths.name_problem(path)
    if problem is not None:
        book.findings.append(problem)
    return problem is not None


def _read_yaml(tree: Tree, path: str, findings: list[Finding]) -> tuple[Any, dict] | None:
    data = tree.read(path)
    if data is None:
        return None
    try:
        return strictyaml.load(document.decode(data))
    except FileProblem as problem:
        findings.append(problem.finding(path))
        return None


def _add(findings: list[Finding], path: str, problems: list[FileProblem],
         warn: Callable[[FileProblem], bool] = lambda p: p.rule == "unknown-key") -> bool:
    """Record problems as findings; return True if any was an error."""
    errors = False
    for problem in problems:
        finding = problem.finding(path)
        if warn(problem):
            finding = finding.as_warning()
        else:
            errors = True
        findings.append(finding)
    return errors


def load_registry(tree: Tree, findings: list[Finding]) -> Registry:
    """Read reviews/members.yml; a member with a bad entry is left out, the others load."""
    loaded = _read_yaml(tree, MEMBERS_PATH, findings)
    if loaded is None:
        if not tree.exists(MEMBERS_PATH):
            findings.append(Finding(MEMBERS_PATH, "missing-registry",
                                    "the registry of members is missing",
                                    fix="Create it, or start a book with 'bok init'."))
        return Registry()
    data, lines = loaded
    values, problems = schema.MEMBERS_FILE.validate(data, lines)
    _add(findings, MEMBERS_PATH, problems)
    raw_members = values.get("members")
    if raw_members is None:
        return Registry()
    if not isinstance(raw_members, dict):
        findings.append(Finding(MEMBERS_PATH, "schema", "'members' must be a mapping of ids",
                                lines.get(("members",)),
                                fix="Write 'members:' then one id per line."))
        return Registry()
    members: dict[str, Member] = {}
    owners: dict[str, str] = {}
    for member_id, raw in raw_members.items():
        line = lines.get(("members", member_id))
        if not schema.IDENTIFIER.match(member_id):
            findings.append(Finding(MEMBERS_PATH, "invalid-member-id",
                                    f"member id {member_id!r} is not valid", line,
                                    fix="Use lowercase letters, digits, - and _."))
            continue
        values, problems = schema.MEMBER.validate(raw, lines, ("members", member_id))
        if _add(findings, MEMBERS_PATH, problems):
            continue
        keys = []
        states = []
        for index, (key_line, retired, revoked) in enumerate(values["keys"]):
            where = lines.get(("members", member_id, "keys", index), line)
            try:
                key = sshsig.parse_public_key(key_line)
            except ValueError as exc:
                findings.append(Finding(MEMBERS_PATH, "invalid-key",
                                        f"key {index + 1} of '{member_id}': {exc}", where,
                                        fix="Paste the line of the member's .pub file."))
                continue
            if key.fingerprint in owners:
                findings.append(Finding(MEMBERS_PATH, "shared-key",
                                        f"key {key.fingerprint} of '{member_id}' is also "
                                        f"registered to '{owners[key.fingerprint]}'", where,
                                        fix="A key belongs to one person; register it once."))
                continue
            owners[key.fingerprint] = member_id
            keys.append(key)
            if retired or revoked:
                states.append(KeyState(key.fingerprint, retired, revoked))
        members[member_id] = Member(
            id=member_id, name=values["name"], email=values["email"], github=values["github"],
            keys=tuple(keys), expert_in=values["expert_in"], steward=values["steward"],
            key_states=tuple(states))
    return Registry(members)


def load_policy(tree: Tree, findings: list[Finding]) -> Policy:
    """Read reviews/policy.yml; every key is optional, and a missing file means the defaults."""
    loaded = _read_yaml(tree, POLICY_PATH, findings)
    if loaded is None:
        return Policy()
    data, lines = loaded
    if data is None:
        return Policy()
    values, problems = schema.POLICY.validate(data, lines)
    _add(findings, POLICY_PATH, problems)
    _limit_days(values, lines, (), findings)
    domains: dict[str, dict] = {}
    raw_domains = values.pop("domains") or {}
    if not isinstance(raw_domains, dict):
        findings.append(Finding(POLICY_PATH, "schema", "'domains' must be a mapping of domain ids",
                                lines.get(("domains",)), fix="Write 'domains:' then 'id: {...}'."))
        raw_domains = {}
    chapter_types = values["chapter_types"] or schema.CHAPTER_TYPES
    for domain, raw in raw_domains.items():
        overrides, problems = schema.DOMAIN_POLICY.validate(raw, lines, ("domains", domain))
        _add(findings, POLICY_PATH, problems)
        _limit_days(overrides, lines, ("domains", domain), findings)
        overrides["types"] = _type_overrides(overrides["types"], lines, ("domains", domain),
                                             chapter_types, findings)
        domains[domain] = overrides
    types = _type_overrides(values.pop("types"), lines, (), chapter_types, findings)
    sizes, problems = schema.LIMITS.validate(values.pop("limits") or {}, lines, ("limits",))
    _add(findings, POLICY_PATH, problems)
    return Policy(**{k: v for k, v in values.items() if v is not None}, domains=domains,
                  types=types, limits=Limits(**sizes))

def _too_large(path: str, data: bytes, limit_kb: int, what: str, key: str,
               findings: list[Finding]) -> bool:
    """Sizes are checked before a file is decoded, parsed or rendered."""
    problem = limits.size_problem(len(data), limit_kb, what, key)
    if problem is not None:
        findings.append(problem.finding(path))
    return problem is not None


def _limit_days(values: dict, lines: dict, prefix: tuple, findings: list[Finding]) -> None:
    """Lapse dates past the year 9999 cannot be computed: a longer period is cut to a century."""
    days = values.get("revalidate_after_days")
    if days is not None and days > MAX_REVALIDATE_DAYS:
        findings.append(Finding(
            POLICY_PATH, "date-out-of-range", f"'revalidate_after_days': {days} days is out of "
            f"range; {MAX_REVALIDATE_DAYS} (a century) is used",
            lines.get((*prefix, "revalidate_after_days")), severity=WARNING,
            fix=f"Use at most {MAX_REVALIDATE_DAYS}, or 0 for never."))
        values["revalidate_after_days"] = MAX_REVALIDATE_DAYS


def _type_overrides(raw: dict | None, lines: dict[tuple, int], prefix: tuple,
                    chapter_types: tuple[str, ...], findings: list[Finding]) -> dict[str, dict]:
    """``types:`` of the policy or of a domain: per chapter type overrides, by type id."""
    found: dict[str, dict] = {}
    for chapter_type, entry in (raw or {}).items():
        where = (*prefix, "types", chapter_type)
        if chapter_type not in chapter_types:
            findings.append(Finding(
                POLICY_PATH, "unknown-type", f"the policy overrides type '{chapter_type}', "
                "which is not one of its chapter_types", lines.get(where),
                fix=f"Use one of: {', '.join(chapter_types)}."))
            continue
        overrides, problems = schema.TYPE_POLICY.validate(entry, lines, where)
        _add(findings, POLICY_PATH, problems)
        _limit_days(overrides, lines, where, findings)
        found[chapter_type] = overrides
    return found


def _parse_markdown(tree: Tree, path: str, book: Book, data: bytes | None = None
                    ) -> document.Document | None:
    data = data if data is not None else tree.read(path) or b""
    if _too_large(path, data, book.policy.limits.chapter_kb, "chapter", "chapter_kb",
                  book.findings):
        return None
    try:
        return document.parse(data)
    except FileProblem as problem:
        book.findings.append(problem.finding(path))
        return None


def _unsafe_text(path: str, values: dict, lines: dict, book: Book) -> bool:
    found = False
    for key in PLAIN_TEXT_FIELDS:
        if isinstance(values.get(key), str):
            for description in unsafe.unsafe_text(values[key]):
                found = True
                book.findings.append(Finding(
                    path, "unsafe-html", f"'{key}' contains {description}", lines.get((key,)),
                    fix=f"'{key}' is plain text; remove the markup."))
    return found


def _load_home(tree: Tree, book: Book) -> None:
    """content/index.md may go without front matter; what it holds must still be safe."""
    path = f"{CONTENT}/index.md"
    data = tree.read(path)
    if data is None or _too_large(path, data, book.policy.limits.chapter_kb, "chapter",
                                  "chapter_kb", book.findings):
        return
    title, description = "Home", ""
    try:
        text = document.decode(data)
        if text.startswith(document.DELIMITER):
            doc = document.parse(data)
            values, problems = schema.HOME.validate(doc.meta, doc.lines)
            _add(book.findings, path, problems)
            if not _unsafe_text(path, values, doc.lines, book):
                title, description = values["title"] or title, values["description"] or ""
            body, first = doc.body, doc.body_line
        else:
            body, first = text, 1
    except FileProblem as problem:
        book.findings.append(problem.finding(path))
        return
    unsafe = _unsafe_body(path, body, first, book)
    book.home = Home(title, description, "" if unsafe else body)


def _unsafe_body(path: str, body: str, first_line: int, book: Book) -> bool:
    """Report scripts and active content in a page's Markdown; True if there were any.

    A page Markdown would take too long to render is reported instead, and not rendered.
    """
    rendering = book.extensions
    memory = _remembered.get()
    key = memory.key("page", body, rendering and rendering.shown) if memory is not None else ""
    if memory is not None and memory.is_clean(key):
        return False
    costly = _costly_markdown(path, body, first_line, book.findings)
    if costly:
        return True
    found = unsafe.unsafe_constructs(
        body, extensions=rendering.names if rendering else None,
        extension_configs=rendering.configs if rendering else None)
    if memory is not None and not found:
        memory.found_clean.add(key)
    for line, description in found:
        book.findings.append(Finding(
            path, "unsafe-html", f"the page contains {description}",
            first_line + line - 1 if line else None,
            fix="Remove it; the site strips scripts and active content."))
    return bool(found)


def _costly_markdown(path: str, body: str, first_line: int, findings: list[Finding],
                     remembered: bool = False) -> bool:
    """Report a body Markdown would take too long to render (``remembered``: a record's
    comments, whose clean outcome is kept in :class:`Remembered`)."""
    memory = _remembered.get() if remembered else None
    key = memory.key("record", body) if memory is not None else ""
    if memory is not None and memory.is_clean(key):
        return False
    problems = limits.markdown_problems(body)
    if memory is not None and not problems:
        memory.found_clean.add(key)
    for problem in problems:
        finding = problem.finding(path)
        if finding.line is not None:
            finding = dataclasses.replace(finding, line=first_line + finding.line - 1)
        findings.append(finding)
    return bool(problems)


def _load_domains(tree: Tree, entries: list[Entry], book: Book) -> None:
    folders = sorted({e.path.split("/")[1] for e in entries
                      if e.path.startswith(CONTENT + "/") and e.path.count("/") >= 2})
    for folder in folders:
        path = f"{CONTENT}/{folder}/index.md"
        if folder in RESERVED_DOMAINS:
            book.findings.append(Finding(
                f"{CONTENT}/{folder}", "reserved-domain", f"'{folder}' is a name the site uses "
                "for its own pages", fix="Rename the domain folder."))
            continue
        if not schema.IDENTIFIER.match(folder):
            book.findings.append(Finding(
                f"{CONTENT}/{folder}", "invalid-domain-id", f"domain folder {folder!r} is not a "
                "valid id", fix="Name domain folders with lowercase letters, digits, - and _."))
            continue
        if not tree.exists(path):
            book.findings.append(paths.missing_domain_page(folder))
            book.domains[folder] = Domain(folder, path, folder)
            continue
        doc = _parse_markdown(tree, path, book)
        if doc is None:
            book.domains[folder] = Domain(folder, path, folder)
            continue
        values, problems = schema.DOMAIN.validate(doc.meta, doc.lines)
        _add(book.findings, path, problems)
        _unsafe_text(path, values, doc.lines, book)
        unsafe = _unsafe_body(path, doc.body, doc.body_line, book)
        book.domains[folder] = Domain(folder, path, values["title"] or folder,
                                      values["description"], "" if unsafe else doc.body,
                                      tuple(values["order"]))


def _load_chapters(tree: Tree, entries: list[Entry], book: Book) -> None:
    for entry in entries:
        path = entry.path
        if not path.startswith(CONTENT + "/") or not path.endswith(".md"):
            continue
        parts = path.split("/")
        if len(parts) == 2:
            if path != f"{CONTENT}/index.md":
                book.findings.append(Finding(path, "page-outside-domain",
                                             "a chapter must live in a domain folder",
                                             fix="Move it to content/<domain>/."))
            continue
        if len(parts) == 3 and parts[2] == "index.md":
            continue  # the domain's page
        problem = chapter_path_problem(path)
        if problem is not None:
            book.findings.append(Finding(path, "folder-page", problem,
                                         fix="Rename it (bok mv), e.g. to the folder's subject."))
            book.invalid_chapters.add(path)
            continue
        domain = parts[1]
        if domain not in book.domains:
            continue  # an invalid domain folder was reported already
        chapter = load_chapter(tree, path, book)
        if chapter is None:
            book.invalid_chapters.add(path)
        else:
            book.chapters[path] = chapter


def load_chapter(tree: Tree, path: str, book: Book) -> Chapter | None:
    """Load one chapter and check it against the registry and policy; None if it is invalid."""
    data = tree.read(path) or b""
    doc = _parse_markdown(tree, path, book, data)
    if doc is None:
        return None
    values, problems = schema.CHAPTER.validate(doc.meta, doc.lines)
    invalid = _add(book.findings, path, problems)
    invalid |= _unsafe_text(path, values, doc.lines, book)
    for index, author in enumerate(values["authors"] or ()):
        if author not in book.registry.members:
            invalid = True
            book.findings.append(Finding(
                path, "unknown-author", f"author '{author}' is not a member",
                doc.lines.get(("authors", index), doc.lines.get(("authors",))),
                fix=f"Add '{author}' to {MEMBERS_PATH}, or fix the id."))
    if values["type"] not in book.policy.chapter_types:
        invalid = True
        book.findings.append(Finding(
            path, "unknown-type", f"type '{values['type']}' is not one of the policy's "
            "chapter_types", doc.lines.get(("type",)),
            fix=f"Use one of: {', '.join(book.policy.chapter_types)}."))
    invalid |= _unsafe_body(path, doc.body, doc.body_line, book)
    invalid |= _bad_successor(tree, path, values["superseded_by"], doc.lines, book)
    if invalid:
        return None
    return _chapter(path, values, doc, data)


def _chapter(path: str, values: dict, doc: document.Document, data: bytes) -> Chapter:
    """The model of a chapter from its validated front matter and its file."""
    domain, slug = path.split("/", 2)[1], path.split("/", 2)[2].removesuffix(".md")
    return Chapter(path=path, domain=domain, slug=slug, title=values["title"],
                   authors=values["authors"], type=values["type"], summary=values["summary"],
                   tags=values["tags"], draft=values["draft"], digest=content_digest(data),
                   body=doc.body, body_line=doc.body_line,
                   superseded_by=values["superseded_by"])


def _bad_successor(tree: Tree, path: str, successor: str, lines: dict, book: Book) -> bool:
    """``superseded_by`` names another chapter, or the chapter is invalid. A successor that
    does not exist (deleted since) is a warning: the retired chapter stays readable."""
    if not successor:
        return False
    invalid = successor == path or is_governed(successor)
    if invalid or not tree.exists(successor):
        why = "the chapter itself" if successor == path else (
            "a domain page" if is_governed(successor) else "a file that does not exist")
        book.findings.append(Finding(
            path, "unknown-successor", f"'superseded_by': {successor} is {why}",
            lines.get(("superseded_by",)), severity="error" if invalid else WARNING,
            fix="Name the chapter that replaces this one, as content/<domain>/<slug>.md."))
    return invalid


def chapter_at(path: str, data: bytes) -> Chapter | None:
    """A chapter as one revision of it reads (an earlier, endorsed one the site shows): its
    own title, authors, type, summary and tags; None if that revision does not parse."""
    try:
        doc = document.parse(data)
    except FileProblem:
        return None
    values, problems = schema.CHAPTER.validate(doc.meta, doc.lines)
    if any(p.rule != "unknown-key" for p in problems) or not values["authors"]:
        return None
    return _chapter(path, values, doc, data)


def _load_records(tree: Tree, entries: list[Entry], book: Book) -> None:
    for entry in entries:
        path = entry.path
        if not path.startswith(REVIEWS + "/") or path in REGISTRY_FILES:
            continue
        if not path.endswith(".md"):
            if path.count("/") > 1:
                book.findings.append(Finding(
                    path, "stray-file", "only review records (.md) belong in reviews/ folders",
                    severity=WARNING, fix="Move or delete the file."))
            continue
        record = load_record(tree, path, book.findings, book.policy.limits.record_kb)
        if record is None:
            continue
        if record.signed_for != record.chapter and tree.exists(record.signed_for):
            book.findings.append(Finding(
                path, "record-copied", f"this record was signed for {record.signed_for}, which "
                "still exists; a record cannot be copied to another chapter",
                fix="Delete the copy; the member reviews this chapter with bok."))
            continue
        book.records.append(record)


def load_record(tree: Source, path: str, findings: list[Finding],
                limit_kb: int = Limits.record_kb) -> Record | None:
    """Load one review record and check where it points; None if it is unusable."""
    data = tree.read(path) or b""
    memory = _remembered.get()
    if memory is None:
        return _load_record(path, data, findings, limit_kb)
    key = memory.key("file", data, path, limit_kb)
    record = memory.record(key)
    if record is not None:
        return record
    count = len(findings)
    record = _load_record(path, data, findings, limit_kb)
    if record is not None and len(findings) == count:
        memory.add_record(key, record)
    return record


def _load_record(path: str, data: bytes, findings: list[Finding], limit_kb: int
                 ) -> Record | None:
    if _too_large(path, data, limit_kb, "review record", "record_kb", findings):
        return None
    try:
        doc = document.parse(data)
    except FileProblem as problem:
        findings.append(problem.finding(path))
        return None
    if _costly_markdown(path, doc.body, doc.body_line, findings, remembered=True):
        return None  # its comments are rendered on the chapter's page
    values, problems = schema.RECORD.validate(doc.meta, doc.lines)
    if _add(findings, path, problems):
        return None
    try:
        when = dt.date.fromisoformat(values["date"])
    except ValueError:
        findings.append(Finding(path, "invalid-date", f"'date': {values['date']} is not a date",
                                doc.lines.get(("date",)), fix="Write the date as YYYY-MM-DD."))
        return None
    reviewed = values["chapter"]
    governed = is_governed(reviewed)
    inside = governed or (
        reviewed.startswith(CONTENT + "/") and reviewed.endswith(".md")
        and reviewed.count("/") >= 2 and ".." not in reviewed.split("/")
        and "\\" not in reviewed)
    if not inside:
        findings.append(Finding(path, "record-outside-book",
                                f"'chapter': {reviewed!r} is not a chapter of this book",
                                doc.lines.get(("chapter",)),
                                fix="A record reviews content/<domain>/<slug>.md or a "
                                    "governed file (registry, policy, mkdocs.yml, home or "
                                    "domain page)."))
        return None
    if values["from"] is not None and not governed:
        findings.append(Finding(path, "invalid-from", "'from' belongs to sign-offs of governed "
                                "files, not to chapter records", doc.lines.get(("from",)),
                                fix="Records are written by bok; the member reviews again."))
        return None
    located = reviewed_path(path)
    if located is None or path != record_path(located, values["member"]) or (
            governed and located != reviewed):
        findings.append(Finding(path, "record-misplaced",
                                f"a record of '{values['member']}' for {reviewed} belongs at "
                                f"{record_path(reviewed, values['member'])}",
                                doc.lines.get(("member",)),
                                fix="Records are written by bok; do not move or copy them "
                                    "by hand."))
        return None
    if located != reviewed and chapter_domain(located) != chapter_domain(reviewed):
        findings.append(Finding(path, "record-misplaced",
                                f"this record reviews {reviewed}, in another domain than {located}",
                                doc.lines.get(("chapter",)),
                                fix="A chapter moved to another domain needs new reviews."))
        return None
    return Record(path=path, chapter=located, member=values["member"], role=values["role"],
                  verdict=values["verdict"], digest=values["digest"], date=when,
                  signature=values["signature"], comments=doc.body.strip("\n"),
                  signed_for=reviewed, from_digest=values["from"] or "")


def _check_registry_domains(book: Book, registry: Registry, policy: Policy,
                            domain_exists: Callable[[str], bool]) -> None:
    for member in registry.members.values():
        for domain in member.expert_in:
            if not domain_exists(domain):
                book.findings.append(Finding(
                    MEMBERS_PATH, "unknown-domain",
                    f"'{member.id}' is an expert of '{domain}', which is not a domain",
                    None, fix=f"Create content/{domain}/index.md, or fix the domain id."))
    for domain in policy.domains:
        if not domain_exists(domain):
            book.findings.append(Finding(
                POLICY_PATH, "unknown-domain", f"the policy overrides '{domain}', which is not a "
                "domain", None, fix=f"Create content/{domain}/index.md, or remove the override."))
    for record in book.records:
        if not is_governed(record.chapter) and record.chapter not in book.chapters \
                and record.chapter not in book.invalid_chapters \
                and not record.path.startswith(REGISTRY_RECORDS):
            book.findings.append(Finding(
                record.path, "orphan-record", f"reviews {record.chapter}, which does not exist",
                severity=WARNING, fix="Move it with 'bok mv', or delete it with the chapter."))
