"""Every rule a finding can name, in one catalogue.

A finding's ``rule`` is a stable name users search the handbook's troubleshooting chapter for,
filter on in ``--format json`` and see in GitHub annotations. So the names live here, each with
what it means; :class:`bok.errors.Finding` refuses a name that is not in the catalogue, and a
test checks that the troubleshooting chapter documents every one.
"""

from __future__ import annotations

import re

#: rule id -> what it means, in a line. Grouped as the troubleshooting chapter is.
RULES: dict[str, str] = {
    # reading a file
    "not-utf8": "the file is not valid UTF-8",
    "byte-order-mark": "the file starts with a UTF-8 byte-order mark",
    "binary-file": "the file contains NUL bytes",
    "no-front-matter": "a Markdown file does not open with '---' front matter",
    "front-matter-closer": "front matter is closed with '...'",
    "unclosed-front-matter": "front matter is never closed",
    "front-matter-not-mapping": "front matter is a list or a single value",
    "yaml-syntax": "the YAML does not parse",
    "yaml-alias": "a YAML anchor or alias (refused: alias bombs)",
    "yaml-tag": "a YAML tag outside the core schema (refused: tags can run code)",
    "yaml-complex-key": "a YAML key that is not a plain scalar",
    "yaml-multiple-documents": "a YAML file holds several documents",
    "yaml-too-deep": "YAML nested deeper than the limit",
    "yaml-too-large": "a YAML file larger than the limit",
    "duplicate-key": "a key given twice",
    "file-too-large": "a page or a record larger than the policy's limit for it",
    "markdown-too-complex": "a page whose Markdown would take too long to render",
    # keys and values
    "schema": "a key has a value of the wrong kind",
    "unknown-key": "a key bok does not know (a typo?)",
    "invalid-date": "a date that is not YYYY-MM-DD",
    "invalid-member-id": "a member id that is not lowercase letters, digits, - and _",
    "invalid-domain-id": "a domain folder name that is not a valid id",
    "invalid-key": "an SSH public key that does not parse, or a kind bok cannot verify",
    "invalid-from": "a record's 'from' that is malformed or where it does not belong",
    "date-out-of-range": "a date or period too far away to compute with",
    # where files are
    "symlink": "a symbolic link (bok never follows one)",
    "case-clash": "two paths that differ only by letter case",
    "url-clash": "two Markdown files published at the same address",
    "file-name-encoding": "a file name that is not UTF-8",
    "page-outside-domain": "a chapter outside a domain folder",
    "folder-page": "an index.md or README.md inside a domain's folders, which is no chapter",
    "reserved-domain": "a domain folder with a name the site uses itself",
    "missing-domain-page": "a domain folder without index.md",
    "stray-file": "a file in reviews/ that is not a review record",
    "orphan-record": "a record of a chapter that does not exist",
    "record-outside-book": "a record that reviews something outside the book",
    "record-misplaced": "a record that is not where bok writes it",
    "record-copied": "a record copied to another chapter",
    # chapters and pages
    "unknown-author": "an author who is not a member",
    "unknown-type": "a chapter type the policy does not list",
    "unsafe-html": "a page or a plain-text field holds script-capable markup",
    "not-endorsed": "a chapter without the signatures and endorsements the policy needs",
    "revalidation-due": "a chapter whose endorsements lapsed",
    "link-unpublished": "a link from a published chapter to a chapter that is not published",
    "endorsement-lost": "a chapter that fell below the policy: an endorser left or a key went",
    "unknown-successor": "a superseded_by that names no chapter",
    "feed-without-site-url": "mkdocs.yml has no http(s) site_url, so the feed's links are relative",
    # registry, policy and site configuration
    "missing-registry": "reviews/members.yml is missing",
    "shared-key": "one key registered to two members",
    "key-revoked": "a record signed with a revoked key: it counts for nothing",
    "key-retired": "a record signed with a retired key on or after its retirement",
    "unknown-domain": "the registry or the policy names a domain that does not exist",
    "rules-not-evaluated": "the registry or the policy does not load, so nothing was judged",
    "codeowners-stale": "CODEOWNERS does not match the registry",
    "unsafe-url": "a URL in mkdocs.yml that reaches a page and is not http(s)",
    "site-config-refused": "mkdocs.yml uses something no sign-off can make safe",
    "engine-config": "a site engine's configuration besides mkdocs.yml (mkdocs.yaml, "
                     "zensical.toml, properdocs.yml)",
    "build-folder-tracked": "a file committed where builds write (.bok/ besides templates/ "
                            "and schemas/, or site/)",
    # records
    "bad-signature": "a record whose signature does not verify",
    "signer-not-registered": "a record whose signer is no longer registered",
    "self-endorsement": "an author endorsing or objecting to their own chapter",
    "not-an-expert": "a verdict by a member who is not an expert of the domain",
    "not-a-steward": "a sign-off by a member who is not a steward",
    "record-future-dated": "a record dated after tomorrow",
    "record-not-current": "an added record about content the chapter does not have",
    # pull requests
    "registry-signoff-missing": "the registry or the policy changed without stewards' sign-off",
    "signoff-missing": "a governed file changed without the sign-off it needs",
    "signoff-stale": "a sign-off that approved another change than this one",
    "record-deleted": "a record deleted",
    "record-rolled-back": "a record replaced by an earlier statement of its member",
    "record-dropped-in-move": "a chapter moved or deleted without all of its records",
    "record-replaced-by-other": "a record replaced by one its member did not sign",
    "member-still-author": "a registry change that removes a member who still authors chapters",
    "shallow-clone": "a shallow clone: history-based judgements are incomplete",
}


#: Families of rules named after a key of a schema (bok.schema): ``missing-title``,
#: ``invalid-authors``... documented as ``missing-<key>`` and ``invalid-<key>``.
FAMILIES: dict[str, str] = {
    "missing-": "a required key is missing or empty",
    "invalid-": "a key's value is not valid",
}
_KEY = re.compile(r"[a-z][a-z0-9_]*")


def known(rule: str) -> bool:
    """Whether ``rule`` is catalogued (by name, or as a key's ``missing-``/``invalid-``)."""
    if rule in RULES:
        return True
    return any(rule.startswith(prefix) and _KEY.fullmatch(rule.removeprefix(prefix))
               for prefix in FAMILIES)
