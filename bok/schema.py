"""Typed schemas for every file bok reads, declared once, validating and explaining themselves.

Modelled on MkDocs' ``config_options``: each key of a YAML mapping is an :class:`Option` with a
*kind* (which converts the string that :mod:`bok.strictyaml` produced into the value the model
wants), whether it is required, a default, and one line of help. The same declarations produce
the JSON Schemas shipped for editors, so the editor and ``bok check`` agree.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from typing import Any

from .errors import FileProblem
from .limits import Limits

IDENTIFIER = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Invalid(ValueError):
    """A value does not fit its kind; the message says what was expected and what came."""


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


class Kind:
    """Converts and checks one value."""

    json: dict[str, Any] = {}

    def convert(self, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class Nested(Kind):
    """A mapping validated key by key elsewhere (members, per-domain policy)."""

    json = {"type": "object"}

    def convert(self, value: Any) -> dict:
        if not isinstance(value, dict):
            raise Invalid(f"expected a mapping, received {_describe(value)}")
        return value


class Text(Kind):
    def __init__(self, pattern: re.Pattern[str] | None = None, what: str = "text"):
        self.pattern = pattern
        self.what = what
        self.json = {"type": "string", "minLength": 1}
        if pattern is not None:
            self.json["pattern"] = pattern.pattern

    def convert(self, value: Any) -> str:
        if not isinstance(value, str):
            raise Invalid(f"expected {self.what}, received {_describe(value)}")
        value = value.strip()
        if not value:
            raise Invalid(f"expected {self.what}, received an empty value")
        if self.pattern is not None and not self.pattern.match(value):
            raise Invalid(f"expected {self.what}, received {value!r}")
        return value


class Line(Text):
    """Text on one line: a title is shown in the navigation, the tab and search results."""

    def convert(self, value: Any) -> str:
        value = super().convert(value)
        if "\n" in value or "\r" in value:
            raise Invalid(f"expected {self.what} on one line, received a line break")
        return value


class Identifier(Text):
    def __init__(self, what: str = "an id"):
        super().__init__(IDENTIFIER, f"{what} (lowercase letters, digits, - and _)")


class KeyEntry(Kind):
    """A registered key: its public key line, or a mapping that marks it retired or revoked."""

    STATES = ("retired", "revoked")
    json = {"oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "required": ["key"], "additionalProperties": False,
         "properties": {"key": {"type": "string", "minLength": 1},
                        "retired": {"type": "string", "pattern": ISO_DATE.pattern},
                        "revoked": {"type": "string", "pattern": ISO_DATE.pattern}}}]}

    def convert(self, value: Any) -> tuple[str, dt.date | None, dt.date | None]:
        """(key line, retired date, revoked date)."""
        if isinstance(value, str):
            return Text(what="an SSH public key line").convert(value), None, None
        if not isinstance(value, dict):
            raise Invalid(f"expected an SSH public key line or a mapping with 'key:', received "
                          f"{_describe(value)}")
        unknown = sorted(set(value) - {"key", *self.STATES})
        if unknown:
            raise Invalid(f"unknown key '{unknown[0]}' (a key entry has key, retired or "
                          "revoked)")
        if "key" not in value:
            raise Invalid("a mapping without 'key:' (the SSH public key line)")
        if all(state in value for state in self.STATES):
            raise Invalid("both retired and revoked; a revoked key is revoked, nothing more")
        dates: list[dt.date | None] = []
        for state in self.STATES:
            raw = value.get(state)
            try:
                dates.append(dt.date.fromisoformat(str(raw)) if state in value else None)
            except (TypeError, ValueError):
                raise Invalid(f"'{state}': expected a date YYYY-MM-DD, received "
                              f"{_describe(raw)}") from None
        return Text(what="an SSH public key line").convert(value["key"]), dates[0], dates[1]


class Boolean(Kind):
    json = {"type": "boolean"}

    def convert(self, value: Any) -> bool:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise Invalid(f"expected true or false, received {_describe(value)}")


class Integer(Kind):
    def __init__(self, minimum: int = 0):
        self.minimum = minimum
        self.json = {"type": "integer", "minimum": minimum}

    def convert(self, value: Any) -> int:
        if isinstance(value, str) and re.fullmatch(r"\d{1,9}", value):
            number = int(value)
            if number >= self.minimum:
                return number
        raise Invalid(f"expected a whole number of at least {self.minimum}, "
                      f"received {_describe(value)}")


class Choice(Kind):
    def __init__(self, *choices: str):
        self.choices = choices
        self.json = {"enum": list(choices)}

    def convert(self, value: Any) -> str:
        if isinstance(value, str) and value in self.choices:
            return value
        raise Invalid(f"expected one of {', '.join(self.choices)}; received {_describe(value)}")


class ListOf(Kind):
    def __init__(self, item: Kind, non_empty: bool = False, unique: bool = True):
        self.item = item
        self.non_empty = non_empty
        self.unique = unique
        self.json = {"type": "array", "items": item.json, "minItems": int(non_empty),
                     "uniqueItems": unique}

    def convert(self, value: Any) -> tuple:
        if not isinstance(value, list):
            raise Invalid(f"expected a list, received {_describe(value)}")
        if self.non_empty and not value:
            raise Invalid("expected a non-empty list")
        items = []
        for index, item in enumerate(value, start=1):
            try:
                converted = self.item.convert(item)
            except Invalid as exc:
                raise Invalid(f"item {index}: {exc}") from None
            if self.unique and converted in items:
                raise Invalid(f"item {index}: {converted!r} is listed twice")
            items.append(converted)
        return tuple(items)


@dataclass(frozen=True)
class Option:
    """One key of a mapping."""

    kind: Kind
    required: bool = False
    default: Any = None
    help: str = ""


@dataclass
class Schema:
    """The keys a mapping may hold; unknown keys are reported as warnings, with a suggestion."""

    name: str
    options: dict[str, Option]
    fix: str = ""
    extra_keys_allowed: bool = False

    def validate(
        self, data: Any, lines: dict[tuple, int], prefix: tuple = ()
    ) -> tuple[dict[str, Any], list[FileProblem]]:
        """Convert ``data``; return the values and every problem found (not only the first)."""
        problems: list[FileProblem] = []
        where = lines.get(prefix)
        if not isinstance(data, dict):
            problems.append(FileProblem(
                "schema", f"{self.name} must be a mapping of keys, not {_describe(data)}", where))
            return {}, problems
        values: dict[str, Any] = {}
        for key, option in self.options.items():
            line = lines.get((*prefix, key), where)
            raw = data.get(key)
            if raw is None:
                if option.required:
                    problems.append(FileProblem(
                        f"missing-{key}", f"{self.name} has no '{key}'", line,
                        f"Add '{key}:' ({option.help})."))
                values[key] = option.default
                continue
            try:
                values[key] = option.kind.convert(raw)
            except Invalid as exc:
                problems.append(FileProblem(
                    f"invalid-{key}", f"'{key}': {exc}", line,
                    f"'{key}' is {option.help}." if option.help else ""))
                values[key] = option.default
        for key in data:
            if key not in self.options and not self.extra_keys_allowed:
                close = difflib.get_close_matches(str(key), self.options, n=1)
                hint = f"Did you mean '{close[0]}'?" if close else (
                    f"Known keys: {', '.join(self.options)}.")
                problems.append(FileProblem(
                    "unknown-key", f"unknown key '{key}' in {self.name}",
                    lines.get((*prefix, key), where), hint))
        return values, problems

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of this mapping, for editors (yaml-language-server)."""
        return {
            "type": "object",
            "properties": {
                key: {**option.kind.json, "description": option.help}
                for key, option in self.options.items()
            },
            "required": [key for key, option in self.options.items() if option.required],
            "additionalProperties": self.extra_keys_allowed,
        }


CHAPTER_TYPES = ("practice", "lesson", "standard", "case", "reference")

CHAPTER = Schema("chapter front matter", {
    "title": Option(Line(), required=True, help="the chapter's title, plain text on one line"),
    "authors": Option(ListOf(Identifier("a member id"), non_empty=True), required=True,
                      help="member ids from reviews/members.yml"),
    "type": Option(Identifier("a chapter type"), default="practice",
                   help="one of the policy's chapter_types"),
    "summary": Option(Text(), default="", help="one plain-text sentence"),
    "tags": Option(ListOf(Text()), default=(), help="a list of tags"),
    "draft": Option(Boolean(), default=False,
                    help="true or false; true keeps the chapter out of the review gate "
                         "and the site"),
    "superseded_by": Option(Text(re.compile(r"^content/[^/]+/.+\.md$"),
                                 "a chapter path content/<domain>/<slug>.md"), default="",
                            help="retires the chapter: the path of the chapter that replaces "
                                 "it (content/<domain>/<slug>.md); it stays readable under a "
                                 "banner, out of search"),
})

DOMAIN = Schema("domain page front matter", {
    "title": Option(Text(), required=True, help="the domain's name, plain text"),
    "description": Option(Text(), default="", help="what this community of practice covers"),
    "order": Option(ListOf(Text()), default=(),
                    help="chapter slugs (file names without .md) in the order readers see "
                         "them; chapters not listed follow, by title"),
})

HOME = Schema("home page front matter", {
    "title": Option(Text(), default="Home", help="the book's home page title"),
    "description": Option(Text(), default="", help="what this book is about"),
})

MEMBER = Schema("member", {
    "name": Option(Text(), required=True, help="the member's full name"),
    "email": Option(Text(re.compile(r"^[^@\s]+@[^@\s]+$"), "an email address"), default=None,
                    help="the address of their Git commits"),
    "github": Option(Text(re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"), "a GitHub login"),
                     default=None, help="their GitHub login, for CODEOWNERS"),
    "keys": Option(ListOf(KeyEntry()), default=(),
                   help="SSH public keys, one per line as in authorized_keys; a key no longer "
                        "in use is a mapping {key: LINE, retired: DATE} (replaced: what it "
                        "signed before DATE counts) or {key: LINE, revoked: DATE} "
                        "(compromised: nothing it signed counts)"),
    "expert_in": Option(ListOf(Identifier("a domain id")), default=(),
                        help="domains whose chapters this member may endorse"),
    "steward": Option(Boolean(), default=False,
                      help="true or false; stewards sign off changes to the registry "
                           "and the policy"),
})

MEMBERS_FILE = Schema("reviews/members.yml", {
    "members": Option(Nested(), required=True, help="a mapping of member ids to members"),
})

TYPE_POLICY = Schema("chapter type policy", {
    "revalidate_after_days": Option(Integer(0), help="days before endorsements of chapters of "
                                                     "this type lapse; 0 = never"),
})

DOMAIN_POLICY = Schema("domain policy", {
    "endorsements": Option(Integer(0), help="the number of endorsements this domain's "
                                            "chapters need"),
    "author_signatures": Option(Choice("all", "one", "none"),
                                help="which authors must sign: all, one or none"),
    "revalidate_after_days": Option(Integer(0), help="days before endorsements lapse; 0 = never"),
    "types": Option(Nested(), help="per chapter type overrides within this domain"),
})

POLICY = Schema("reviews/policy.yml", {
    "endorsements": Option(Integer(0), default=2,
                           help="the number of distinct experts of the chapter's domain, none "
                                "of them an author, who must endorse it"),
    "author_signatures": Option(Choice("all", "one", "none"), default="all",
                                help="which authors must sign the exact content"),
    "revalidate_after_days": Option(Integer(0), default=365,
                                    help="endorsements older than this lapse; 0 = never"),
    "registry_signoffs": Option(Integer(0), default=1,
                                help="the number of stewards who sign a change to members.yml "
                                     "or policy.yml"),
    "chapter_types": Option(ListOf(Identifier("a chapter type"), non_empty=True),
                            default=CHAPTER_TYPES, help="the chapter types this book uses"),
    "domains": Option(Nested(), default=None, help="per-domain overrides"),
    "types": Option(Nested(), default=None,
                    help="per chapter type overrides of revalidate_after_days"),
    "limits": Option(Nested(), default=None, help="the largest file bok reads, in KB"),
})

LIMITS = Schema("limits", {
    "chapter_kb": Option(Integer(1), default=Limits.chapter_kb,
                         help="the largest chapter, domain page or home page, in KB"),
    "record_kb": Option(Integer(1), default=Limits.record_kb,
                        help="the largest review record, in KB"),
})

RECORD = Schema("review record", {
    "chapter": Option(Text(), required=True, help="the path of the reviewed file"),
    "member": Option(Identifier("a member id"), required=True, help="who signed"),
    "role": Option(Choice("author", "reviewer", "steward"), required=True, help="their role"),
    "verdict": Option(Choice("sign", "endorse", "object"), required=True, help="their verdict"),
    "digest": Option(Text(re.compile(r"^sha256:[0-9a-f]{64}$"), "sha256:<64 hex digits>"),
                     required=True, help="the digest of the exact content reviewed"),
    "from": Option(Text(re.compile(r"^(sha256:[0-9a-f]{64}|none)$"),
                        "sha256:<64 hex digits> or none"),
                   help="a sign-off's base: the digest of the version of the governed file it "
                        "replaces, or none for a new file"),
    "date": Option(Text(ISO_DATE, "a date YYYY-MM-DD"), required=True, help="the day of signing"),
    "signature": Option(Text(what="an armored SSH signature"), required=True,
                        help="the SSHSIG signature written by bok"),
})


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas for editors, made from the declarations above so they never drift."""
    def document(title: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title,
                **body}

    def by_id(description: str, value: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "description": description,
                "propertyNames": {"pattern": IDENTIFIER.pattern}, "additionalProperties": value}

    policy = POLICY.json_schema()
    per_domain = DOMAIN_POLICY.json_schema()
    per_domain["properties"]["types"] = by_id(DOMAIN_POLICY.options["types"].help,
                                              TYPE_POLICY.json_schema())
    policy["properties"]["domains"] = by_id(POLICY.options["domains"].help, per_domain)
    policy["properties"]["types"] = by_id(POLICY.options["types"].help,
                                          TYPE_POLICY.json_schema())
    policy["properties"]["limits"] = {**LIMITS.json_schema(),
                                      "description": POLICY.options["limits"].help}
    members = {
        "type": "object",
        "properties": {"members": {
            "type": "object", "description": MEMBERS_FILE.options["members"].help,
            "propertyNames": {"pattern": IDENTIFIER.pattern},
            "additionalProperties": MEMBER.json_schema()}},
        "required": ["members"], "additionalProperties": False}
    return {
        "chapter": document("bok chapter front matter", CHAPTER.json_schema()),
        "domain": document("bok domain page front matter", DOMAIN.json_schema()),
        "members": document("bok reviews/members.yml", members),
        "policy": document("bok reviews/policy.yml", policy),
        "record": document("bok review record front matter", RECORD.json_schema()),
    }


def write_json_schemas(folder: Any) -> list[Any]:
    """Write ``<name>.schema.json`` files into ``folder`` (a pathlib.Path)."""
    import json
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in json_schemas().items():
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # python -m bok.schema: refresh the schemas shipped in the package
    from pathlib import Path
    for path in write_json_schemas(Path(__file__).parent / "schemas"):
        print(f"wrote {path}")
