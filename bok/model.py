"""The book as data: plain dataclasses, no I/O.

Everything else (loading, signatures, policy, history, the site) reads and produces these.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

from .errors import Finding
from .limits import Limits

CONTENT = "content"
REVIEWS = "reviews"
MEMBERS_PATH = "reviews/members.yml"
POLICY_PATH = "reviews/policy.yml"
REGISTRY_FILES = (MEMBERS_PATH, POLICY_PATH)
REGISTRY_RECORDS = "reviews/_registry"
SITE_CONFIG = "mkdocs.yml"
#: The engines ``bok build`` lays a site out with (the bok plugin's ``engine`` in mkdocs.yml).
ENGINES = ("mkdocs", "zensical")
DEFAULT_ENGINE = "mkdocs"
HOME_PAGE = "content/index.md"
# Governed files other than chapters and domain pages, by the folder their sign-offs live in
# under reviews/_registry/ (see bok.governance for who signs off what).
SIGNOFF_FOLDERS = {MEMBERS_PATH: "members", POLICY_PATH: "policy", SITE_CONFIG: "mkdocs",
                   HOME_PAGE: "home"}
# Domain folders the site uses for its own pages (member pages, tags, search, assets).
RESERVED_DOMAINS = ("members", "tags", "search", "assets", "pagefind", "book-health",
                    "whats-new")


def content_digest(data: bytes) -> str:
    """The digest a review pins: the exact bytes, with line endings normalised to LF.

    A Windows checkout with ``core.autocrlf`` turns LF into CRLF in the working tree but not in
    the repository, so normalising keeps one digest for one content on every machine.
    """
    return "sha256:" + hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


@dataclass(frozen=True)
class KeyState:
    """A registered key that is no longer in use (a key in use has none).

    Retired: replaced by a newer key, not compromised; what it signed before ``retired`` still
    counts. Revoked: compromised; nothing it ever signed counts (``revoked`` is when, for the
    record).
    """

    fingerprint: str
    retired: date | None = None
    revoked: date | None = None


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    email: str | None = None
    github: str | None = None
    keys: tuple = ()  # tuple[bok.sshsig.PublicKey, ...], retired and revoked ones included
    expert_in: tuple[str, ...] = ()
    steward: bool = False
    key_states: tuple[KeyState, ...] = ()  # the keys marked retired or revoked

    @cached_property
    def fingerprints(self) -> frozenset[str]:
        return frozenset(key.fingerprint for key in self.keys)

    def key_state(self, fingerprint: str) -> KeyState | None:
        """How the member's key ``fingerprint`` stands, None if it is in use."""
        return next((s for s in self.key_states if s.fingerprint == fingerprint), None)


@dataclass(frozen=True)
class Rules:
    """The policy in force for one domain."""

    endorsements: int = 2
    author_signatures: str = "all"
    revalidate_after_days: int = 365


#: The keys of the policy that a domain, a chapter type or both may override.
RULE_KEYS = ("endorsements", "author_signatures", "revalidate_after_days")


@dataclass(frozen=True)
class Policy:
    endorsements: int = 2
    author_signatures: str = "all"
    revalidate_after_days: int = 365
    registry_signoffs: int = 1
    chapter_types: tuple[str, ...] = ("practice", "lesson", "standard", "case", "reference")
    domains: dict[str, dict] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)
    #: per chapter type overrides (``types: {standard: {revalidate_after_days: 365}}``); a
    #: domain's own ``types`` sit in its entry of ``domains``
    types: dict[str, dict] = field(default_factory=dict)

    def rules_for(self, domain: str, chapter_type: str | None = None) -> Rules:
        """The book-wide rules with the overrides applied, the most specific last: the
        domain's, then the chapter type's, then the type's within the domain (so a book can
        re-read its standards every year and its lessons never)."""
        base: dict[str, Any] = {
            "endorsements": self.endorsements,
            "author_signatures": self.author_signatures,
            "revalidate_after_days": self.revalidate_after_days,
        }
        in_domain = self.domains.get(domain, {})
        layers = [in_domain]
        if chapter_type is not None:
            layers += [self.types.get(chapter_type, {}),
                       (in_domain.get("types") or {}).get(chapter_type, {})]
        for layer in layers:
            base.update({k: v for k, v in layer.items() if k in RULE_KEYS and v is not None})
        return Rules(**base)


@dataclass(frozen=True)
class Registry:
    """Who the members are, and which key belongs to whom."""

    members: dict[str, Member] = field(default_factory=dict)

    def get(self, member_id: str) -> Member | None:
        return self.members.get(member_id)

    def by_email(self, email: str | None) -> Member | None:
        if not email:
            return None
        email = email.lower()
        return next((m for m in self.members.values() if m.email and m.email.lower() == email),
                    None)

    def experts_of(self, domain: str) -> list[Member]:
        return [m for m in self.members.values() if domain in m.expert_in]

    def stewards(self) -> list[Member]:
        return [m for m in self.members.values() if m.steward]


@dataclass(frozen=True)
class Domain:
    id: str
    path: str
    title: str
    description: str = ""
    body: str = ""  # the domain page's own text (Markdown), shown above its chapters
    order: tuple[str, ...] = ()  # chapter slugs in reading order; the others follow by title


@dataclass(frozen=True)
class Home:
    """The book's home page (content/index.md)."""

    title: str = "Home"
    description: str = ""
    body: str = ""


@dataclass(frozen=True)
class Chapter:
    path: str  # content/<domain>/<slug>.md
    domain: str
    slug: str  # path inside the domain, without .md (may hold sub-folders)
    title: str
    authors: tuple[str, ...]
    type: str = "practice"
    summary: str = ""
    tags: tuple[str, ...] = ()
    draft: bool = False
    digest: str = ""
    body: str = ""
    body_line: int = 1
    superseded_by: str = ""  # a retired chapter: the path of the chapter that replaces it

    @property
    def reviews_dir(self) -> str:
        return f"{REVIEWS}/{self.domain}/{self.slug}"


@dataclass(frozen=True)
class Record:
    """A signed review record: one member's verdict on one exact content."""

    path: str
    chapter: str  # the reviewed file's path
    member: str
    role: str  # author | reviewer | steward
    verdict: str  # sign | endorse | object
    digest: str
    date: date
    signature: str
    comments: str = ""
    signed_for: str = ""  # the chapter path signed, which differs after 'bok mv'
    # A sign-off of a governed file approves a transition: the digest of the version it
    # replaces ('none' for a new file). Empty in chapter records and in older sign-offs.
    from_digest: str = ""

    @property
    def signed_path(self) -> str:
        return self.signed_for or self.chapter


def is_domain_page(path: str) -> bool:
    """content/<domain>/index.md: a domain's own page, not a chapter."""
    parts = path.split("/")
    return len(parts) == 3 and parts[0] == CONTENT and parts[2] == "index.md" and parts[1] != ""


def is_governed(path: str) -> bool:
    """Is ``path`` a file whose changes need a sign-off (see bok.governance)?"""
    return path in SIGNOFF_FOLDERS or is_domain_page(path)


def record_path(reviewed: str, member: str) -> str:
    """Where a member's record for a chapter (or a governed file) lives.

    A domain page content/<d>/index.md has its sign-offs in reviews/<d>/index/, like a chapter
    (no chapter can be called content/<d>/index.md, so the folder is its own).
    """
    if reviewed in SIGNOFF_FOLDERS:
        return f"{REGISTRY_RECORDS}/{SIGNOFF_FOLDERS[reviewed]}/{member}.md"
    domain_and_slug = reviewed.removeprefix(CONTENT + "/").removesuffix(".md")
    return f"{REVIEWS}/{domain_and_slug}/{member}.md"


def reviewed_path(record_file: str) -> str | None:
    """The file a record reviews, from where the record lives (the inverse of record_path)."""
    folder = record_file.rsplit("/", 1)[0]
    if folder.startswith(REGISTRY_RECORDS + "/"):
        name = folder.removeprefix(REGISTRY_RECORDS + "/")
        return next((path for path, n in SIGNOFF_FOLDERS.items() if n == name), None)
    rest = folder.removeprefix(REVIEWS + "/")
    if rest == folder or "/" not in rest:
        return None
    return f"{CONTENT}/{rest}.md"


#: File names that are a folder's page, not a chapter: ``index.md`` is a domain's page, and
#: engines publish a ``README.md`` at its folder's address too.
FOLDER_PAGES = ("index.md", "README.md")


def chapter_path_problem(path: str) -> str | None:
    """Why ``path`` cannot be a chapter, or None: a chapter is ``content/<domain>/<slug>.md``
    (the slug may hold folders), never a folder's page. The one rule, for the loader,
    ``bok new`` and ``bok mv``."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != CONTENT or not path.endswith(".md"):
        return "a chapter lives at content/<domain>/<slug>.md"
    if parts[-1] in FOLDER_PAGES:
        return (f"'{parts[-1]}' is a folder's page, not a chapter (a domain's page is "
                "content/<domain>/index.md); name the chapter after its subject")
    return None


def chapter_domain(path: str) -> str | None:
    """The domain of a chapter path, or None if the path is not under a domain folder."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] == CONTENT:
        return parts[1]
    return None


@dataclass
class Book:
    """Everything loaded from one tree: the model plus what was wrong with it."""

    registry: Registry = field(default_factory=Registry)
    policy: Policy = field(default_factory=Policy)
    domains: dict[str, Domain] = field(default_factory=dict)
    chapters: dict[str, Chapter] = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    invalid_chapters: set[str] = field(default_factory=set)
    file_digests: dict[str, str] = field(default_factory=dict)  # registry files' digests
    home: Home | None = None
    #: the Markdown extensions of mkdocs.yml (bok.render.Extensions): the scan of
    #: ``bok check`` renders pages as the site does; None until a loader sets it
    extensions: Any = None

    def records_for(self, path: str) -> list[Record]:
        """The records that review ``path`` (a chapter or a registry file)."""
        if self._by_chapter is None:
            self._by_chapter = {}
            for record in self.records:
                self._by_chapter.setdefault(record.chapter, []).append(record)
        return self._by_chapter.get(path, [])

    _by_chapter: dict[str, list[Record]] | None = field(
        default=None, init=False, repr=False, compare=False)
