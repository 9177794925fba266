"""Review records: what exactly is signed, how a record is written, and how it is verified.

A record's signature covers every field of the record and its comments, and names the
chapter's domain, so that editing any field, copying the record to another chapter, or moving
the chapter to another domain all break it. A sign-off of a governed file (the registry, the
policy, the site's configuration, the home page, a domain page) also names the version it
replaces (``from:``), so it approves one transition, not every later state with the same
bytes. Signing goes through ``ssh-keygen -Y sign`` (agents,
passphrases and hardware keys work); verification runs in-process (see :mod:`bok.sshsig`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import document, sshsig
from .model import Record, Registry, chapter_domain, record_path

PAYLOAD_HEADER = "bok review record v1"


def payload(chapter: str, member: str, role: str, verdict: str, digest: str, date: dt.date,
            comments: str, from_digest: str = "") -> bytes:
    """The exact bytes a member signs for a record.

    The ``from:`` line is there only when the record has one, so records written before it
    existed (and every chapter record) keep the payload they were signed over.
    """
    lines = [
        PAYLOAD_HEADER,
        f"chapter: {chapter}",
        f"domain: {chapter_domain(chapter) or '-'}",
        f"member: {member}",
        f"role: {role}",
        f"verdict: {verdict}",
        f"digest: {digest}",
        *([f"from: {from_digest}"] if from_digest else []),
        f"date: {date.isoformat()}",
        "comments:",
        _normalise(comments),
    ]
    return "\n".join(lines).encode("utf-8")


def _normalise(comments: str) -> str:
    return comments.replace("\r\n", "\n").strip("\n")


def record_payload(record: Record) -> bytes:
    return payload(record.signed_path, record.member, record.role, record.verdict, record.digest,
                   record.date, record.comments, record.from_digest)


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
    #: The signing key is registered but no longer in use: "retired" or "revoked" (a record
    #: by a retired key dated before its retirement is valid; the gate still refuses a new one).
    key_status: str = ""


def verify_record(record: Record, registry: Registry,
                  signer: Callable[[bytes, str], str] | None = None) -> Verification:
    """Does the record's signature verify, over exactly its fields, by a key of its member?

    A revoked key (compromised) verifies nothing; a retired key (replaced) only records dated
    before its retirement. Dates are the signer's own claim: the gate (``bok check --base``)
    refuses any new record by a retired key, whatever its date (see bok.gate).
    ``signer`` finds the fingerprint of the key that made a signature (a cached one in builds,
    see :mod:`bok.cache`); whether the key is the member's is decided here, every time.
    """
    member = registry.get(record.member)
    if member is None:
        return Verification(record, False, f"'{record.member}' is not a member of the registry",
                            unregistered=True)
    try:
        fingerprint = (signer(record_payload(record), record.signature) if signer else
                       sshsig.verify(record_payload(record), record.signature).fingerprint)
    except sshsig.SignatureError as exc:
        return Verification(record, False, f"the signature is invalid: {exc}")
    if fingerprint not in member.fingerprints:
        owner = next((m.id for m in registry.members.values()
                      if fingerprint in m.fingerprints), None)
        whose = f"it is registered to '{owner}'" if owner else "no member has it"
        return Verification(record, False, f"signed with key {fingerprint}, which is not "
                                           f"registered to '{record.member}' ({whose})",
                            fingerprint, unregistered=True)
    state = member.key_state(fingerprint)
    if state is not None and state.revoked is not None:
        return Verification(record, False, f"signed with key {fingerprint}, revoked on "
                                           f"{state.revoked.isoformat()}: nothing it signed "
                                           "counts", fingerprint, key_status="revoked")
    if state is not None and state.retired is not None:
        if record.date >= state.retired:
            return Verification(record, False, f"signed with key {fingerprint}, retired "
                                               f"on {state.retired.isoformat()}, and dated "
                                               f"{record.date.isoformat()}", fingerprint,
                                key_status="retired")
        return Verification(record, True, fingerprint=fingerprint, key_status="retired")
    return Verification(record, True, fingerprint=fingerprint)


def render_record(chapter: str, member: str, role: str, verdict: str, digest: str,
                  date: dt.date, comments: str, signature: str, from_digest: str = "") -> str:
    """The text of a record file."""
    armored = "\n".join("  " + line for line in signature.strip().splitlines())
    fields = {"chapter": chapter, "member": member, "role": role, "verdict": verdict,
              "digest": digest, **({"from": from_digest} if from_digest else {}),
              "date": date.isoformat()}
    # the armored signature is a block scalar: the one multi-line value bok writes
    return (f"---\n{document.front_matter(fields)}signature: |\n{armored}\n---\n"
            f"{_normalise(comments)}\n")


def write_record(root: Path, chapter: str, member: str, role: str, verdict: str, digest: str,
                 comments: str, key_file: Path, date: dt.date | None = None,
                 from_digest: str = "") -> Path:
    """Sign and write a member's record for ``chapter``; return the record's path."""
    date = date or dt.date.today()
    signature = sshsig.sign(payload(chapter, member, role, verdict, digest, date, comments,
                                    from_digest), key_file)
    target = root / record_path(chapter, member)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render_record(chapter, member, role, verdict, digest, date, comments, signature,
                         from_digest)
    tmp = target.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8", newline="\n")
    tmp.replace(target)
    return target
