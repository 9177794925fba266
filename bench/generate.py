#!/usr/bin/env python3
"""Generate a synthetic, fully endorsed bok book with a realistic Git history.

    python bench/generate.py --chapters 1000 --out /tmp/bok-bench/1000/book

What it writes (deterministic for a given --seed, --chapters, --domains, --members):

* ``content/<domain>/index.md`` for D domains and N chapters ``content/<domain>/<slug>.md`` with
  realistic Markdown: headings, paragraphs, bullet and numbered lists, a table, a fenced code
  block, an admonition and cross-links to other chapters (relative links that resolve at HEAD);
* ``reviews/members.yml``: M members (default 50) with a real ed25519 key each (derived from the
  seed), the domains they are experts in, two stewards; ``reviews/policy.yml`` (bok's defaults);
* a Git history of about 10 commits per chapter (creation, sections added, revisions, a pure
  rename for ~5% of the chapters, some across domains), authored by the members, interleaved
  in time over 2023-01..2025-06, written with ONE ``git fast-import`` process;
* in the final commits (one per domain), real signed review records for the final content:
  every author's signature and two endorsements by experts of the domain who are not authors;
* a branch ``pr`` on top of ``main`` that revises 3 chapters and carries fresh valid records
  for them (what ``bok check --base main`` gates), checked out in a worktree ``<out>-pr``.

Signatures are made in-process with ``cryptography`` in the exact SSHSIG format that
``ssh-keygen -Y sign`` writes (namespace ``bok-review``, sha512); ``bok.sshsig.verify`` checks
them (``--self-test`` also asks ``ssh-keygen -Y check-novalidate`` when it is installed).
Records are dated 2025-06-15..2025-06-30; run bok with ``BOK_TODAY=2025-07-01``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bok import sshsig
from bok.model import content_digest, record_path
from bok.signing import payload, render_record

TODAY = "2025-07-01"  # BOK_TODAY for every run against a generated book
HISTORY_START = dt.datetime(2023, 1, 2, 8, 0, tzinfo=dt.timezone.utc)
HISTORY_END = dt.datetime(2025, 6, 1, 18, 0, tzinfo=dt.timezone.utc)
REVIEW_DAY = dt.date(2025, 6, 15)
PR_DAY = dt.date(2025, 6, 30)
NAMESPACE = b"bok-review"

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

FIRST = [
    "Ada", "Ben", "Chloe", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kaia",
    "Liam", "Mara", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Ugo", "Vera", "Wim",
    "Xena", "Yusuf", "Zoe", "Anika", "Bruno", "Carmen", "Dario", "Emma", "Felix", "Gina", "Hanna",
    "Ivan", "Julia", "Kofi", "Lena", "Marco", "Nora", "Oskar", "Priya", "Rafael", "Sofia", "Theo",
    "Uma", "Viktor", "Wanda", "Yara", "Zeno"
]
LAST = [
    "Abbott", "Berger", "Castro", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ito",
    "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Quintero", "Rossi",
    "Schmidt", "Tanaka", "Umar", "Varga", "Weber", "Xu", "Yilmaz", "Zimmer"
]
DOMAIN_WORDS = [
    "brakes", "engines", "hydraulics", "avionics", "welding", "painting", "logistics", "safety",
    "electrics", "tooling", "quality", "testing", "cooling", "fuel", "tyres", "bodywork",
    "gearbox", "steering", "suspension", "exhaust", "lighting", "sensors", "software", "networks",
    "storage", "security", "compliance", "purchasing", "training", "onboarding", "maintenance",
    "inspection", "calibration", "packaging", "shipping", "warehousing", "forklifts", "cranes",
    "scaffolding", "concrete", "roofing", "plumbing", "heating", "ventilation", "glazing",
    "flooring", "insulation", "demolition", "surveying", "drainage", "paving", "fencing",
    "landscaping"
]
NOUNS = [
    "valve", "pump", "seal", "gasket", "bearing", "shaft", "rotor", "stator", "housing", "bracket",
    "bolt", "flange", "hose", "filter", "sensor", "relay", "fuse", "circuit", "connector",
    "harness", "panel", "gauge", "torque", "pressure", "temperature", "tolerance", "clearance",
    "alignment", "procedure", "checklist", "inspection", "report", "sample", "batch", "supplier",
    "drawing", "revision", "fixture", "jig", "clamp", "spanner", "wrench", "socket", "primer",
    "coating", "solvent", "adhesive", "sealant", "lubricant", "coolant", "reservoir", "manifold",
    "actuator", "cylinder", "piston", "spring", "damper", "mount", "frame", "chassis", "axle",
    "hub", "caliper", "pad", "disc", "drum", "shoe", "cable", "pulley", "belt", "chain",
    "sprocket", "gear", "clutch", "coupling", "nozzle", "injector", "regulator", "thermostat",
    "radiator", "fan", "duct", "vent", "hatch", "cover", "lid", "tray", "rack", "pallet", "label",
    "barcode", "ticket", "log", "record", "audit", "operator", "technician", "supervisor",
    "workshop", "bay", "station", "line", "shift", "crew"
]
VERBS = [
    "inspect", "check", "measure", "tighten", "loosen", "replace", "clean", "degrease", "bleed",
    "flush", "fill", "drain", "calibrate", "align", "adjust", "record", "verify", "confirm",
    "document", "label", "isolate", "lock", "tag", "test", "torque", "seal", "prime", "coat",
    "cure", "dry", "mount", "remove", "install", "refit", "secure", "reset", "log", "report",
    "escalate", "sign", "review", "compare"
]
ADJS = [
    "worn", "loose", "tight", "clean", "dry", "wet", "hot", "cold", "new", "old", "damaged",
    "cracked", "corroded", "bent", "scored", "glazed", "sticky", "noisy", "stiff", "smooth",
    "rough", "level", "square", "plumb", "true", "warm", "calibrated", "certified", "approved",
    "rejected", "spare", "primary", "secondary", "upper", "lower", "inner", "outer", "front",
    "rear", "left", "right", "main", "auxiliary"
]
ADVS = [
    "carefully", "slowly", "firmly", "gently", "evenly", "fully", "partly", "always", "never",
    "first", "then", "finally", "again", "twice"
]
TAGS = [
    "safety", "quality", "hydraulics", "electrics", "torque", "inspection", "onboarding", "audit",
    "maintenance", "calibration", "troubleshooting", "tooling", "checklist", "winter", "summer",
    "legacy", "new-line", "supplier"
]
TYPES = ("practice", "practice", "practice", "lesson", "standard", "case", "reference")
LANGS = (("python", "import csv\n\nwith open({f!r}) as fh:\n    for row in csv.DictReader(fh):\n"
          "        if float(row[{k!r}]) > {v}:\n            print(row[{k2!r}], 'out of range')\n"),
         ("bash", "#!/bin/sh\nset -eu\nfor unit in {f}*; do\n  grep -q {k} \"$unit\" && "
          "echo \"$unit: {k2}\"\ndone\nlogger -t {k} 'checked {v} units'\n"),
         ("yaml", "{k}:\n  limit: {v}\n  unit: {k2}\n  source: {f}\n  checked_by: [operator, "
          "supervisor]\n"),
         ("sql", "SELECT {k2}, count(*)\nFROM {f}\nWHERE {k} > {v}\nGROUP BY {k2}\n"
          "ORDER BY 2 DESC;\n"))


def _words(rng: random.Random, n: int) -> list[str]:
    return rng.choices(NOUNS, k=n)


def sentence(rng: random.Random) -> str:
    n = rng.randint(6, 14)
    words = []
    for i in range(n):
        pool = (VERBS if i == 0 else NOUNS if i % 3 == 1 else ADJS if i % 3 == 2
                else NOUNS if rng.random() < 0.6 else ADVS)
        words.append(rng.choice(pool))
    if rng.random() < 0.25:
        words.insert(rng.randint(1, len(words) - 1), f"**{rng.choice(NOUNS)}**")
    if rng.random() < 0.15:
        words.insert(rng.randint(1, len(words) - 1), f"`{rng.choice(NOUNS)}_{rng.randint(1, 99)}`")
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice(".....;!").replace(";", ".")


def plain_sentence(rng: random.Random) -> str:
    """A sentence without markup (for front matter: summaries are plain text)."""
    words = [rng.choice(VERBS)] + [rng.choice(NOUNS if i % 2 else ADJS) for i in range(7)]
    return " ".join(words).capitalize()


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 6)))


def title_case(words: list[str]) -> str:
    return " ".join(w.capitalize() if i == 0 else w for i, w in enumerate(words))


# --------------------------------------------------------------------------------------------
# The book plan
# --------------------------------------------------------------------------------------------

@dataclass
class Member:
    id: str
    name: str
    email: str
    key: Ed25519PrivateKey
    blob: bytes  # SSH wire-format public key
    expert_in: list[str] = field(default_factory=list)
    steward: bool = False

    @property
    def pub_line(self) -> str:
        return f"ssh-ed25519 {base64.b64encode(self.blob).decode()} {self.id}@bench"


@dataclass
class Chapter:
    index: int
    domain: str
    slug: str
    title: str
    authors: list[str]
    type: str
    summary: str
    tags: list[str]
    sections: list[str]  # section kinds, in order
    links: list[int] = field(default_factory=list)  # indexes of chapters linked to
    rename_at: int | None = None  # version after which it is renamed (pure rename commit)
    old_domain: str = ""
    old_slug: str = ""
    versions: int = 10

    @property
    def path(self) -> str:
        return f"content/{self.domain}/{self.slug}.md"

    @property
    def old_path(self) -> str:
        return f"content/{self.old_domain}/{self.old_slug}.md"


SECTION_KINDS = ("overview", "prerequisites", "procedure", "values", "example", "pitfalls",
                 "background", "checks", "lessons")


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def sshsig_sign(member: Member, message: bytes) -> str:
    """An armored SSHSIG signature, byte for byte what ``ssh-keygen -Y sign`` writes."""
    digest = hashlib.sha512(message).digest()
    signed = (b"SSHSIG" + _string(NAMESPACE) + _string(b"") + _string(b"sha512")
              + _string(digest))
    sig = member.key.sign(signed)
    blob = (b"SSHSIG" + struct.pack(">I", 1) + _string(member.blob) + _string(NAMESPACE)
            + _string(b"") + _string(b"sha512")
            + _string(_string(b"ssh-ed25519") + _string(sig)))
    text = base64.b64encode(blob).decode("ascii")
    body = "\n".join(text[i:i + 70] for i in range(0, len(text), 70))
    return f"-----BEGIN SSH SIGNATURE-----\n{body}\n-----END SSH SIGNATURE-----\n"


def make_members(seed: int, count: int, domains: list[str]) -> list[Member]:
    rng = random.Random(f"{seed}:members")
    members: list[Member] = []
    used: set[str] = set()
    for i in range(count):
        first = FIRST[i % len(FIRST)]
        last = LAST[(i * 7 + i // len(FIRST)) % len(LAST)]
        mid = first.lower()
        if mid in used:
            mid = f"{mid}-{last.lower()}"
        used.add(mid)
        raw = hashlib.sha256(f"bok-bench:{seed}:{mid}".encode()).digest()
        key = Ed25519PrivateKey.from_private_bytes(raw)
        pub = key.public_key().public_bytes_raw()
        blob = _string(b"ssh-ed25519") + _string(pub)
        members.append(Member(mid, f"{first} {last}", f"{mid}@bench.example", key, blob,
                              steward=i < 2))
    # Every domain gets max(4, ...) experts so two non-authors can always endorse.
    per_domain = max(4, min(count - 1, (count * 3) // max(1, len(domains)) + 1))
    per_domain = min(per_domain, count)
    for domain in domains:
        start = rng.randrange(count)
        for j in range(per_domain):
            member = members[(start + j * 3) % count]
            if domain not in member.expert_in:
                member.expert_in.append(domain)
        # (start + j*3) % count may repeat when count is divisible by 3; top up if needed.
        experts = [m for m in members if domain in m.expert_in]
        k = 0
        while len(experts) < min(4, count):
            if domain not in members[k].expert_in:
                members[k].expert_in.append(domain)
            experts = [m for m in members if domain in m.expert_in]
            k += 1
    return members


def make_domains(count: int) -> list[str]:
    names = []
    for i in range(count):
        base = DOMAIN_WORDS[i % len(DOMAIN_WORDS)]
        names.append(base if i < len(DOMAIN_WORDS) else f"{base}-{i // len(DOMAIN_WORDS) + 1}")
    return names


def make_chapters(seed: int, n: int, domains: list[str], members: list[Member]
                  ) -> list[Chapter]:
    rng = random.Random(f"{seed}:chapters")
    chapters: list[Chapter] = []
    slugs: set[str] = set()
    for i in range(n):
        domain = domains[i % len(domains)]
        while True:
            words = [rng.choice(VERBS)] + rng.sample(ADJS, 1) + rng.sample(NOUNS, 2)
            slug = "-".join(words)
            if f"{domain}/{slug}" not in slugs:
                break
        slugs.add(f"{domain}/{slug}")
        n_authors = 1 if rng.random() < 0.7 else 2
        experts = [m.id for m in members if domain in m.expert_in]
        # Authors are usually experts of the domain, but never so many that fewer than two
        # experts remain to endorse.
        authors: list[str] = []
        while len(authors) < n_authors:
            pool = experts if rng.random() < 0.6 and len(set(experts) - set(authors)) > 3 \
                else [m.id for m in members]
            pick = rng.choice(pool)
            if pick not in authors and len(set(experts) - set(authors) - {pick}) >= 2:
                authors.append(pick)
        kinds = ["overview", "prerequisites", "procedure"] + rng.sample(
            SECTION_KINDS[3:], rng.randint(3, 5))
        chapter = Chapter(
            index=i, domain=domain, slug=slug, title=title_case(words),
            authors=authors, type=rng.choice(TYPES),
            summary=plain_sentence(rng),
            tags=sorted(set(rng.sample(TAGS, rng.randint(1, 3)))),
            sections=kinds, versions=max(2, int(rng.gauss(10, 2.5))))
        chapters.append(chapter)
    for chapter in chapters:
        others = [c for c in rng.sample(range(n), min(n, 5)) if c != chapter.index]
        chapter.links = others[: rng.randint(2, 4)]
        if rng.random() < 0.05 and chapter.versions >= 3:
            chapter.rename_at = rng.randint(1, chapter.versions - 2)
            chapter.old_domain, chapter.old_slug = chapter.domain, chapter.slug
            if rng.random() < 0.2:  # moved across domains
                chapter.old_domain = rng.choice(domains)
            while True:
                old = f"{chapter.slug.rsplit('-', 1)[0]}-{rng.choice(NOUNS)}"
                if old != chapter.slug and f"{chapter.old_domain}/{old}" not in slugs:
                    break
            slugs.add(f"{chapter.old_domain}/{old}")
            chapter.old_slug = old
    return chapters


def rel_link(src: Chapter, dst: Chapter) -> str:
    if src.domain == dst.domain:
        return f"{dst.slug}.md"
    return f"../{dst.domain}/{dst.slug}.md"


class Texts:
    """Section texts, cached: a new version only rewrites one section."""

    def __init__(self, seed: int, chapters: list[Chapter]):
        self.seed = seed
        self.chapters = chapters
        self.cache: dict[tuple[int, int, int], str] = {}

    def section(self, ch: Chapter, s: int, rev: int) -> str:
        key = (ch.index, s, rev)
        if key in self.cache:
            return self.cache[key]
        rng = random.Random(f"{self.seed}:{ch.index}:{s}:{rev}")
        kind = ch.sections[s]
        out: list[str] = []
        heading = {"overview": "Overview", "prerequisites": "Before you start",
                   "procedure": "Procedure", "values": "Reference values",
                   "example": "Example", "pitfalls": "Common pitfalls",
                   "background": "Background", "checks": "Checks after the job",
                   "lessons": "Lessons learned"}[kind]
        out.append(f"## {heading}")
        if kind == "overview":
            out += [paragraph(rng), paragraph(rng)]
        elif kind == "prerequisites":
            out.append(paragraph(rng))
            out.append("\n".join(f"- {sentence(rng)}" for _ in range(rng.randint(3, 6))))
        elif kind == "procedure":
            out.append(paragraph(rng))
            steps = [f"{k + 1}. {sentence(rng)}" for k in range(rng.randint(4, 9))]
            out.append("\n".join(steps))
            out.append(f"!!! warning \"{title_case(_words(rng, 2))}\"\n    {sentence(rng)}")
            out.append("### Sign-off")
            out.append(paragraph(rng))
        elif kind == "values":
            out.append(paragraph(rng))
            rows = ["| Item | Minimum | Maximum | Unit |", "|---|---:|---:|---|"]
            for _ in range(rng.randint(4, 8)):
                lo = rng.randint(1, 200)
                rows.append(f"| {title_case(_words(rng, 2))} | {lo} | {lo + rng.randint(1, 50)} "
                            f"| {rng.choice(['Nm', 'bar', 'mm', '°C', 'kg', 'V'])} |")
            out.append("\n".join(rows))
        elif kind == "example":
            out.append(paragraph(rng))
            lang, template = rng.choice(LANGS)
            code = template.format(f=f"{rng.choice(NOUNS)}.csv", k=rng.choice(NOUNS),
                                   k2=rng.choice(NOUNS), v=rng.randint(1, 500))
            out.append(f"```{lang}\n{code}```")
        elif kind == "pitfalls":
            out.append("\n".join(f"- **{title_case(_words(rng, 2))}**: {sentence(rng)}"
                                 for _ in range(rng.randint(3, 5))))
        elif kind == "background":
            out += [paragraph(rng), f"> {sentence(rng)}", paragraph(rng)]
        elif kind == "checks":
            out.append("\n".join(f"- [ ] {sentence(rng)}" for _ in range(rng.randint(3, 6))))
        else:  # lessons
            out += [paragraph(rng), paragraph(rng)]
        text = "\n\n".join(out) + "\n"
        self.cache[key] = text
        return text

    def content(self, ch: Chapter, revs: list[int], shown: int, authors: list[str]) -> bytes:
        """The file at a version: front matter, the first ``shown`` sections, see-also links."""
        tags = ", ".join(ch.tags)
        front = (f"---\ntitle: {ch.title}\nauthors: [{', '.join(authors)}]\ntype: {ch.type}\n"
                 f"summary: {ch.summary}\ntags: [{tags}]\n---\n")
        body = [f"# {ch.title}\n\n"]
        body += [self.section(ch, s, revs[s]) + "\n" for s in range(shown)]
        if ch.links:
            body.append("## See also\n\n")
            for target in ch.links:
                dst = self.chapters[target]
                body.append(f"- [{dst.title}]({rel_link(ch, dst)})\n")
            body.append(f"- [All of {ch.domain}](index.md)\n")
        return (front + "".join(body)).encode("utf-8")


# --------------------------------------------------------------------------------------------
# The history
# --------------------------------------------------------------------------------------------

@dataclass
class Event:
    when: int  # epoch seconds
    chapter: int
    version: int
    kind: str  # create | grow | revise | rename


def plan_events(seed: int, chapters: list[Chapter]) -> list[Event]:
    rng = random.Random(f"{seed}:events")
    start, end = int(HISTORY_START.timestamp()), int(HISTORY_END.timestamp())
    events: list[Event] = []
    for ch in chapters:
        t0 = rng.randint(start, start + int((end - start) * 0.8))
        times = sorted(rng.randint(t0, end) for _ in range(ch.versions - 1))
        events.append(Event(t0, ch.index, 0, "create"))
        for v, t in enumerate(times, start=1):
            events.append(Event(t, ch.index, v, "grow" if v <= 3 else "revise"))
        if ch.rename_at is not None:
            # between version rename_at and rename_at + 1
            a = times[ch.rename_at - 1] if ch.rename_at >= 1 else t0
            b = times[ch.rename_at]
            events.append(Event((a + b) // 2, ch.index, ch.rename_at, "rename"))
    events.sort(key=lambda e: (e.when, e.chapter, e.version, e.kind != "rename"))
    return events


class FastImport:
    """Writes a ``git fast-import`` stream for one branch at a time."""

    def __init__(self, out):
        self.out = out
        self.mark = 0

    def data(self, payload: bytes) -> None:
        self.out.write(b"data %d\n" % len(payload))
        self.out.write(payload)
        self.out.write(b"\n")

    def commit(self, ref: str, who: Member, when: int, message: str,
               changes: list[tuple], parent: str | None) -> str:
        self.mark += 1
        ident = f"{who.name} <{who.email}> {when} +0000".encode()
        self.out.write(f"commit {ref}\nmark :{self.mark}\n".encode())
        self.out.write(b"author " + ident + b"\ncommitter " + ident + b"\n")
        self.data(message.encode("utf-8"))
        if parent:
            self.out.write(f"from {parent}\n".encode())
        for change in changes:
            if change[0] == "M":
                self.out.write(f"M 100644 inline {change[1]}\n".encode())
                self.data(change[2])
            elif change[0] == "R":
                self.out.write(f"R {change[1]} {change[2]}\n".encode())
            elif change[0] == "D":
                self.out.write(f"D {change[1]}\n".encode())
        return f":{self.mark}"


# The configurations bench/run.py measures share these parts with the book's own mkdocs.yml.
HEAD = """site_name: Bench book ({n} chapters)
site_url: https://book.example.invalid/
repo_url: https://git.example.invalid/bench/book
docs_dir: {docs_dir}
theme:
  name: material
"""
MARKDOWN_EXTENSIONS = """markdown_extensions:
  - admonition
  - attr_list
  - md_in_html
  - tables
  - toc:
      permalink: true
  - pymdownx.superfences
  - pymdownx.highlight
  - pymdownx.tasklist
"""
MKDOCS_YML = (HEAD + "  features:\n    - navigation.prune\nplugins:\n  - bok\n"
              + MARKDOWN_EXTENSIONS)

POLICY_YML = """endorsements: 2
author_signatures: all
revalidate_after_days: 365
registry_signoffs: 1
chapter_types: [practice, lesson, standard, case, reference]
"""


def members_yml(members: list[Member]) -> bytes:
    lines = ["# Synthetic members of the benchmark book; keys derived from the seed.", "members:"]
    for m in members:
        lines += [f"  {m.id}:", f"    name: {m.name}", f"    email: {m.email}", "    keys:",
                  f"      - {m.pub_line}", f"    expert_in: [{', '.join(m.expert_in)}]",
                  f"    steward: {'true' if m.steward else 'false'}"]
    return ("\n".join(lines) + "\n").encode()


def record_file(ch_path: str, member: Member, role: str, verdict: str, digest: str,
                day: dt.date, comments: str) -> tuple[str, bytes]:
    message = payload(ch_path, member.id, role, verdict, digest, day, comments)
    signature = sshsig_sign(member, message)
    text = render_record(ch_path, member.id, role, verdict, digest, day, comments, signature)
    return record_path(ch_path, member.id), text.encode("utf-8")


def chapter_records(ch: Chapter, content: bytes, by_id: dict[str, Member], day: dt.date,
                    seed: int, salt: str = "") -> list[tuple[str, bytes]]:
    rng = random.Random(f"{seed}:reviewers:{ch.index}:{salt}")
    digest = content_digest(content)
    out = [record_file(ch.path, by_id[a], "author", "sign", digest, day, "")
           for a in ch.authors]
    experts = sorted(m.id for m in by_id.values()
                     if ch.domain in m.expert_in and m.id not in ch.authors)
    for reviewer in rng.sample(experts, 2):
        note = f"Checked against our {ch.domain} procedure. {sentence(rng)}"
        out.append(record_file(ch.path, by_id[reviewer], "reviewer", "endorse", digest, day,
                               note))
    return out


def generate(out: Path, n: int, n_domains: int, n_members: int, seed: int,
             pr_worktree: bool = True, repack: bool = True, verbose: bool = True) -> dict:
    t_start = time.perf_counter()
    if out.exists():
        shutil.rmtree(out)
    pr_dir = out.with_name(out.name + "-pr")
    if pr_dir.exists():
        shutil.rmtree(pr_dir)
    out.mkdir(parents=True)
    domains = make_domains(n_domains)
    members = make_members(seed, n_members, domains)
    by_id = {m.id: m for m in members}
    chapters = make_chapters(seed, n, domains, members)
    texts = Texts(seed, chapters)
    events = plan_events(seed, chapters)
    rng = random.Random(f"{seed}:commits")

    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", "init", "-q", "-b", "main", str(out)], check=True, env=env)
    proc = subprocess.Popen(["git", "-C", str(out), "fast-import", "--quiet", "--done"],
                            stdin=subprocess.PIPE, env=env)
    stream = proc.stdin
    fi = FastImport(stream)

    # Initial commit: registry, policy, mkdocs.yml, home and domain pages.
    steward = members[0]
    first = int(HISTORY_START.timestamp()) - 86400
    initial = [("M", "mkdocs.yml", MKDOCS_YML.format(n=n, docs_dir=".bok/stage").encode()),
               ("M", ".gitignore", b"site/\n.bok/\n"),
               ("M", "reviews/members.yml", members_yml(members)),
               ("M", "reviews/policy.yml", POLICY_YML.encode()),
               ("M", "content/index.md",
                (f"---\ntitle: Home\n---\n# Bench book\n\n{n} chapters in {n_domains} domains, "
                 "written and endorsed by the members.\n").encode())]
    for d in domains:
        desc = f"How we handle {d} - practice, lessons and standards."
        body = paragraph(random.Random(f"{seed}:domain:{d}"))
        initial.append(("M", f"content/{d}/index.md",
                        f"---\ntitle: {d.capitalize()}\ndescription: {desc}\n---\n{body}\n"
                        .encode()))
    parent = fi.commit("refs/heads/main", steward, first, "Start the book", initial, None)

    # Chapter state as history unfolds.
    revs = {c.index: [0] * len(c.sections) for c in chapters}
    shown = {c.index: min(3, len(c.sections)) for c in chapters}
    renamed = {c.index: False for c in chapters}
    final: dict[int, bytes] = {}
    commits = 1
    for ev in events:
        ch = chapters[ev.chapter]
        where = ch.path if (ch.rename_at is None or renamed[ch.index]) else ch.old_path
        if ev.kind == "rename":
            renamed[ch.index] = True
            who = by_id[ch.authors[0]]
            msg = f"Rename {where} to {ch.path}"
            parent = fi.commit("refs/heads/main", who, ev.when, msg, [("R", where, ch.path)],
                               parent)
            commits += 1
            continue
        if ev.kind == "create":
            who = by_id[ch.authors[0]]
            msg = f"Add {ch.title}"
        elif ev.kind == "grow" and shown[ch.index] < len(ch.sections):
            shown[ch.index] += 1
            who = by_id[rng.choice(ch.authors)]
            msg = f"{ch.title}: add {ch.sections[shown[ch.index] - 1]} section"
        else:
            s = rng.randrange(shown[ch.index])
            revs[ch.index][s] += 1
            who = by_id[rng.choice(ch.authors)] if rng.random() < 0.6 else rng.choice(members)
            msg = rng.choice(("Clarify", "Update", "Fix", "Revise", "Correct")) + \
                f" the {ch.sections[s]} of {ch.title.lower()}"
        # The last version shows every section so the head is complete.
        if ev.version == ch.versions - 1:
            shown[ch.index] = len(ch.sections)
        data = texts.content(ch, revs[ch.index], shown[ch.index], ch.authors)
        final[ch.index] = data
        parent = fi.commit("refs/heads/main", who, ev.when, msg, [("M", where, data)], parent)
        commits += 1

    # Final commits: the records, one commit per domain, dated over the review fortnight.
    n_records = 0
    review_time = int(dt.datetime.combine(REVIEW_DAY, dt.time(9), dt.timezone.utc).timestamp())
    for d_index, d in enumerate(domains):
        day = REVIEW_DAY + dt.timedelta(days=d_index % 14)
        changes = []
        for ch in chapters:
            if ch.domain != d:
                continue
            for path, text in chapter_records(ch, final[ch.index], by_id, day, seed):
                changes.append(("M", path, text))
        n_records += len(changes)
        if changes:
            who = next(m for m in members if d in m.expert_in)
            parent = fi.commit("refs/heads/main", who, review_time + d_index * 86400 // 3,
                               f"Reviews of the {d} chapters", changes, parent)
            commits += 1
    main_head = parent

    # The pull request: three chapters revised, each with fresh records for the new content.
    pr_rng = random.Random(f"{seed}:pr")
    pr_chapters = pr_rng.sample(chapters, min(3, len(chapters)))
    changes = []
    for ch in pr_chapters:
        s = pr_rng.randrange(len(ch.sections))
        revs[ch.index][s] += 100
        data = texts.content(ch, revs[ch.index], len(ch.sections), ch.authors)
        changes.append(("M", ch.path, data))
        for path, text in chapter_records(ch, data, by_id, PR_DAY, seed, salt="pr"):
            changes.append(("M", path, text))
    pr_time = int(dt.datetime.combine(PR_DAY, dt.time(15), dt.timezone.utc).timestamp())
    fi.commit("refs/heads/pr", by_id[pr_chapters[0].authors[0]], pr_time,
              "Revise three chapters, with their reviews", changes, main_head)
    stream.write(b"done\n")
    stream.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    t_import = time.perf_counter()
    if repack:
        subprocess.run(["git", "-C", str(out), "repack", "-adq"], check=True, env=env)
    subprocess.run(["git", "-C", str(out), "reset", "-q", "--hard", "main"], check=True, env=env)
    if pr_worktree:
        subprocess.run(["git", "-C", str(out), "worktree", "add", "-q", str(pr_dir), "pr"],
                       check=True, env=env)
    meta = {
        "chapters": n, "domains": n_domains, "members": n_members, "seed": seed,
        "commits_on_main": commits, "records": n_records, "renames": sum(
            1 for c in chapters if c.rename_at is not None),
        "pr_chapters": [c.path for c in pr_chapters], "today": TODAY,
        "seconds": round(time.perf_counter() - t_start, 2),
        "import_seconds": round(t_import - t_start, 2),
        "pr_worktree": str(pr_dir) if pr_worktree else None,
    }
    (out.parent / (out.name + ".json")).write_text(json.dumps(meta, indent=2) + "\n")
    if verbose:
        print(json.dumps(meta, indent=2))
    return meta


def self_test(seed: int = 1) -> None:
    """Our in-process signatures are accepted by bok (and by ssh-keygen when installed)."""
    member = make_members(seed, 4, ["brakes"])[0]
    message = payload("content/brakes/x.md", member.id, "author", "sign",
                      "sha256:" + "0" * 64, REVIEW_DAY, "")
    armored = sshsig_sign(member, message)
    key = sshsig.verify(message, armored)
    assert key.blob == member.blob, "verify returned another key"
    try:
        sshsig.verify(message + b"x", armored)
    except sshsig.SignatureError:
        pass
    else:
        raise AssertionError("a tampered message verified")
    if shutil.which("ssh-keygen"):
        with tempfile.TemporaryDirectory() as tmp:
            sig = Path(tmp) / "msg.sig"
            sig.write_text(armored)
            proc = subprocess.run(["ssh-keygen", "-Y", "check-novalidate", "-n", "bok-review",
                                   "-s", str(sig)], input=message, capture_output=True)
            assert proc.returncode == 0, proc.stderr.decode()
            print("ssh-keygen -Y check-novalidate: OK")
    print("bok.sshsig.verify accepts the generator's signatures: OK")


def default_domains(n: int) -> int:
    return max(3, min(60, n // 60))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", "-n", type=int, default=300)
    parser.add_argument("--domains", "-d", type=int, help="default: chapters/60, 3..60")
    parser.add_argument("--members", "-m", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="default: /tmp/bok-bench/<N>/book")
    parser.add_argument("--no-pr-worktree", action="store_true")
    parser.add_argument("--no-repack", action="store_true")
    parser.add_argument("--self-test", action="store_true",
                        help="only check that the signatures verify")
    args = parser.parse_args(argv)
    if args.self_test:
        self_test(args.seed)
        return
    out = args.out or Path(f"/tmp/bok-bench/{args.chapters}/book")
    generate(out.resolve(), args.chapters, args.domains or default_domains(args.chapters),
             args.members, args.seed, pr_worktree=not args.no_pr_worktree,
             repack=not args.no_repack)


if __name__ == "__main__":
    sys.exit(main())
