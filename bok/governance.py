"""Governed files: everything besides chapters that shapes the rules or the site, and who
signs off a change to it.

* reviews/members.yml, reviews/policy.yml: ``registry_signoffs`` stewards; records in
  reviews/_registry/members/ and reviews/_registry/policy/.
* mkdocs.yml, with every local file it names (see :mod:`bok.siteconfig`): ``registry_signoffs``
  stewards; records in reviews/_registry/mkdocs/.
* content/index.md, the home page: ``registry_signoffs`` stewards; reviews/_registry/home/.
* content/<d>/index.md, a domain's page: ``registry_signoffs`` stewards, or as many experts of
  <d> as its chapters need endorsements; records in reviews/<d>/index/.

Signers are members of the base revision's registry, counted by the base's policy.

What the gate does not govern, and why: ``.github/`` and CODEOWNERS hold the workflow that runs
the gate, and a pull request runs its own copy of it, so the gate cannot protect them; the
stewards own them in CODEOWNERS, with code-owner review required by branch protection
(``bok codeowners`` writes that). ``.bok/templates/`` only seeds new chapters, which are
reviewed themselves: a template never reaches a reader.

A sign-off approves a *transition*: its record pins the new content's digest and the digest
of the version it replaces (``from:``, ``none`` for a new file), both signed. The gate counts
it only when ``from`` is the base's version, ``digest`` is the change's, and the change itself
adds the record (the base does not already hold it, as it is): so a sign-off on file never
counts again for a later change, not even one that restores the very same bytes after they
were undone (A, then B, then A again). A record without ``from`` (written before bok had it)
still verifies, and counts for no change.

Pure functions: the gate reads the files and records; these rules decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import WARNING, Finding
from .model import (
    HOME_PAGE,
    MEMBERS_PATH,
    POLICY_PATH,
    REGISTRY_FILES,
    SITE_CONFIG,
    Policy,
    Registry,
    chapter_domain,
    is_domain_page,
)
from .signing import Verification

NONE = "none"  # the 'from' of a sign-off for a file the base does not have
STEWARDS, STEWARDS_OR_EXPERTS = "stewards", "stewards or the domain's experts"


@dataclass(frozen=True)
class Governed:
    """A file whose changes need a sign-off, and whose."""

    path: str
    what: str
    signers: str  # STEWARDS or STEWARDS_OR_EXPERTS
    rule: str  # the finding when a change lacks its sign-off
    domain: str | None = None


_FIXED = {
    MEMBERS_PATH: Governed(MEMBERS_PATH, "the registry of members", STEWARDS,
                           "registry-signoff-missing"),
    POLICY_PATH: Governed(POLICY_PATH, "the review policy", STEWARDS, "registry-signoff-missing"),
    SITE_CONFIG: Governed(SITE_CONFIG, "the site's configuration", STEWARDS, "signoff-missing"),
    HOME_PAGE: Governed(HOME_PAGE, "the home page", STEWARDS, "signoff-missing"),
}


def governed(path: str) -> Governed | None:
    """The governance of ``path``, or None if it is not a governed file."""
    if path in _FIXED:
        return _FIXED[path]
    if is_domain_page(path):
        domain = chapter_domain(path)
        return Governed(path, f"the page of domain '{domain}'", STEWARDS_OR_EXPERTS,
                        "signoff-missing", domain)
    return None


def deletion_needs_signoff(path: str) -> bool:
    """Deleting the registry or the policy changes the rules; deleting mkdocs.yml (or
    replacing it with a link) lets an engine read a configuration nobody signed off
    (``mkdocs.yaml``, the file the link names). Deleting a page publishes nothing new."""
    return path in REGISTRY_FILES or path == SITE_CONFIG


@dataclass(frozen=True)
class Transition:
    """A governed file's change: the base's digest to the change's (NONE where absent)."""

    path: str
    before: str
    after: str


def judge(change: Transition, checked: list[Verification], registry: Registry,
          policy: Policy, carried_over: frozenset[str] = frozenset()) -> list[Finding]:
    """Does ``change`` carry the sign-off it needs? ``registry`` and ``policy`` are the base's;
    ``carried_over`` are the records the base already holds as they are (they approved an
    earlier change, even one from the same bytes to the same bytes)."""
    rules = governed(change.path)
    assert rules is not None, change.path
    findings: list[Finding] = []
    stewards: set[str] = set()
    experts: set[str] = set()
    for v in checked:
        record = v.record
        if not v.valid or record.verdict != "endorse" or record.digest != change.after:
            continue
        member = registry.get(record.member)
        expert = rules.domain is not None and member is not None \
            and rules.domain in member.expert_in
        if member is None or not (member.steward or expert):
            findings.append(_not_a_signer(record.path, record.member, rules))
            continue
        if record.from_digest != change.before or record.path in carried_over:
            findings.append(_stale(record.path, record.member, record.from_digest, change,
                                   record.path in carried_over))
            continue
        (stewards if member.steward else experts).add(v.fingerprint)
    needed = policy.registry_signoffs
    if len(stewards) >= needed:
        return findings
    if rules.domain is not None:
        threshold = policy.rules_for(rules.domain).endorsements
        if len(experts | stewards) >= threshold:
            return findings
        who = (f"{needed} steward signature(s) or {threshold} of experts of '{rules.domain}' "
               f"(has {len(stewards)} and {len(experts)})")
        names = sorted({m.id for m in registry.stewards()}
                       | {m.id for m in registry.experts_of(rules.domain)})
        people = f"Stewards and experts of '{rules.domain}': {', '.join(names) or 'none'}."
    else:
        who = f"{len(stewards)} of {needed} steward signature(s)"
        people = f"Stewards: {', '.join(m.id for m in registry.stewards()) or 'none'}."
    if change.after == NONE:
        message = f"{rules.what} is deleted; a deletion cannot be signed off"
        fix = f"Keep {change.path}."
    else:
        message = f"changed without sign-off: {who} on its new content"
        fix = f"A steward runs 'bok endorse {change.path}'. {people}" \
            if rules.domain is None else f"Run 'bok endorse {change.path}'. {people}"
    findings.append(Finding(change.path, rules.rule, message, fix=fix))
    return findings


def _not_a_signer(path: str, member: str, rules: Governed) -> Finding:
    if rules.domain is None:
        return Finding(path, "not-a-steward", f"'{member}' is not a steward; the sign-off of "
                       f"{rules.path} does not count", fix="Ask a steward of the base registry.")
    return Finding(path, "not-an-expert", f"'{member}' is neither a steward nor an expert of "
                   f"'{rules.domain}'; the sign-off of {rules.path} does not count",
                   fix=f"Ask a steward or an expert of '{rules.domain}'.")


def _stale(path: str, member: str, from_digest: str, change: Transition,
           carried_over: bool) -> Finding:
    if carried_over:
        what = "is on file in the base already, so it approved an earlier change"
    elif not from_digest:
        what = "names no base version (it was written before sign-offs approved transitions)"
    elif from_digest == NONE:
        what = "approved adding the file, which the base already has"
    else:
        what = f"approved a change from another version ({from_digest[:19]}...)"
    return Finding(path, "signoff-stale", f"the sign-off of '{member}' pins this content but "
                   f"{what}, not the change from the base; it does not count",
                   severity=WARNING,
                   fix=f"Sign off again on this branch: 'bok endorse {change.path}'.")
