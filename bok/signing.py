"""Review records: what exactly is signed, how a record is written, and how it is verified.

A record's signature covers every field of the record and its comments, and names the
chapter's domain, so that editing any field, copying the record to another chapter, or moving
the chapter to another domain all break it. Signing goes through ``ssh-keygen -Y sign`` (agents,
passphrases and hardware keys work); verification runs in-process (see :mod:`bok.sshsig`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from . import sshsig
from .model import Record, Registry, chapter_domain, record_path

PAYLOAD_HEADER = "bok review record v1"
_PLAIN = re.compile(r"^[A-Za-z0-9_./@+-]+$")


def payload(chapter: str, member: str, role: str, verdict: str, digest: str, date: dt.date,
            comments: str) -> bytes:
    """The exact bytes a member signs for a record."""
    lines = [
        PAYLOAD_HEADER,
        f"chapter: {chapter}",
        f"domain: {chapter_domain(chapter) or '-'}",
        f"member: {member}",
        f"role: {role}",
        f"verdict: {verdict}",
        f"digest: {digest}",
        f"date: {date.isoformat()}",
        "comments:",
        _normalise(comments),
    ]
    return "\n".join(lines).encode("utf-8")


def _normalise(comments: str) -> str:
    return comments.replace("\r\n", "\n").strip("\n")


def record_payload(record: Record) -> bytes:
    return payload(record.signed_path, record.member, record.role, record.verdict, record.digest,
                   record.date, record.comments)


@dataclass(frozen=True)
class Verification:
    """A record checked against a registry."""

    record: Record
    valid: bool
    reason: str = ""
    fingerprint: str = ""
    # True when the signature itself is sound but its signer is not (or no longer) registered
    # to the member: a departed member or a replaced key, or a forger's own key.
    unregistered: bool = False


def verify_record(record: Record, registry: Registry) -> Verification:
    """Does the record's signature verify, over exactly its fields, by a key of its member?"""
    member = registry.get(record.member)
    if member is None:
        return Verification(record, False, f"'{record.member}' is not a member of the registry",
                            unregistered=True)
    try:
        key = sshsig.verify(record_payload(record), record.signature)
    except sshsig.SignatureError as exc:
        return Verification(record, False, f"the signature is invalid: {exc}")
    if key.fingerprint not in member.fingerprints:
        owner = next((m.id for m in registry.members.values()
                      if key.fingerprint in m.fingerprints), None)
        whose = f"it is registered to '{owner}'" if owner else "no member has it"
        return Verification(record, False, f"signed with key {key.fingerprint}, which is not "
                                           f"registered to '{record.member}' ({whose})",
                            key.fingerprint, unregistered=True)
    return Verification(record, True, fingerprint=key.fingerprint)


def _yaml_string(value: str) -> str:
    if _PLAIN.match(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render_record(chapter: str, member: str, role: str, verdict: str, digest: str,
                  date: dt.date, comments: str, signature: str) -> str:
    """The text of a record file."""
    armored = "\n".join("  " + line for line in signature.strip().splitlines())
    return (
        "---\n"
        f"chapter: {_yaml_string(chapter)}\n"
        f"member: {member}\n"
        f"role: {role}\n"
        f"verdict: {verdict}\n"
        f"digest: {digest}\n"
        f"date: {date.isoformat()}\n"
        f"signature: |\n{armored}\n"
        "---\n"
        f"{_normalise(comments)}\n"
    )


def write_record(root: Path, chapter: str, member: str, role: str, verdict: str, digest: str,
                 comments: str, key_file: Path, date: dt.date | None = None) -> Path:
    """Sign and write a member's record for ``chapter``; return the record's path."""
    date = date or dt.date.today()
    signature = sshsig.sign(payload(chapter, member, role, verdict, digest, date, comments),
                            key_file)
    target = root / record_path(chapter, member)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render_record(chapter, member, role, verdict, digest, date, comments, signature)
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(target)
    return target
