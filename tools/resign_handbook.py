#!/usr/bin/env python3
"""Re-sign bok's own handbook (content/) with the example personas' published keys.

The handbook is written as a book of knowledge, so every chapter must be signed by its
authors and endorsed by experts of its domain. Its members are fictional personas whose
private keys are published in examples/keys/ (see examples/keys/README.md): this script signs
on their behalf, with the bok command line, exactly as a person would:

* every author of a chapter signs it:
      bok sign PATH --as ID --key examples/keys/ID
* the experts of its domain who are not its authors, first by id, endorse it, as many as the
  policy asks for that domain (two by default):
      bok endorse PATH --as ID --key examples/keys/ID -m "Checked against bok VERSION."
* the first stewards by id sign off reviews/members.yml, reviews/policy.yml, mkdocs.yml and
  content/index.md, as many as the policy's registry_signoffs, where they changed since the
  merge base (bok endorse records that base's version as the change's 'from').

Drafts are skipped. Every record is rewritten with today's date (BOK_TODAY=YYYY-MM-DD pins
it); ed25519 signatures are deterministic, so a second run on the same day rewrites the very
same files. An objection to a chapter's current content is never overwritten: the script
stops and says so. Records it does not write are left alone and listed.

At the end it runs `bok check --strict` and `bok status`, and exits with the status of the
check. Run it with the Python that has bok installed, from anywhere:

    python tools/resign_handbook.py             # sign, then check
    python tools/resign_handbook.py --dry-run   # only print the commands
"""

from __future__ import annotations

import argparse
import shlex
import stat
import subprocess
import sys
from pathlib import Path

try:
    from bok import __version__
    from bok.authoring import base_revision, governed_digest
    from bok.loading import load_book, load_record
    from bok.model import REGISTRY_FILES, SIGNOFF_FOLDERS, record_path
    from bok.trees import GitTree, WorkTree
except ImportError:  # pragma: no cover - a usage error, not a bug
    sys.exit("resign_handbook: cannot import bok; run this script with the Python that has bok "
             "installed (for example .venv/bin/python tools/resign_handbook.py)")

ROOT = Path(__file__).resolve().parent.parent
KEYS = "examples/keys"  # relative to ROOT, as passed to --key


class Stop(Exception):
    """The handbook cannot be re-signed as it is; the message says why."""


def bok(*args: str, dry_run: bool) -> None:
    """Run one bok command in the handbook's root, showing it as a person would type it."""
    print("$ bok " + shlex.join(args), flush=True)
    if dry_run:
        return
    result = subprocess.run([sys.executable, "-m", "bok", *args], cwd=ROOT,
                            capture_output=True, text=True)
    output = (result.stdout + result.stderr).strip()
    if output:
        print(output, flush=True)
    if result.returncode != 0:
        raise Stop(f"'bok {args[0]}' failed with exit status {result.returncode}")


def key_of(member: str) -> str:
    """The persona's private key, made readable by its owner only.

    Git does not keep file modes, so after a checkout the key is world-readable and
    ssh-keygen refuses to use it.
    """
    path = ROOT / KEYS / member
    if not path.is_file():
        raise Stop(f"no private key for '{member}' at {KEYS}/{member}")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
    return f"{KEYS}/{member}"


def open_objection(tree: WorkTree, reviewed: str, member: str, digest: str) -> str | None:
    """The comments of ``member``'s objection to ``digest``, if their record is one."""
    path = record_path(reviewed, member)
    if not tree.exists(path):
        return None
    record = load_record(tree, path, [])
    if record is not None and record.verdict == "object" and record.digest == digest:
        return record.comments or "(no reason given)"
    return None


def resign(dry_run: bool) -> list[str]:
    """Sign and endorse every chapter; return the records that were left alone."""
    tree = WorkTree(ROOT)
    book = load_book(tree)
    blocking = [f for f in book.findings if f.is_error and (
        f.path in REGISTRY_FILES or f.path in book.invalid_chapters)]
    if blocking:
        raise Stop("fix these first:\n" + "\n".join(f"  {f}" for f in blocking))
    comment = f"Checked against bok {__version__}."
    written: set[str] = set()

    stewards = sorted(m.id for m in book.registry.stewards())
    needed = book.policy.registry_signoffs
    if len(stewards) < needed:
        raise Stop(f"the policy asks for {needed} steward sign-offs; stewards: {stewards}")
    base = base_revision(ROOT)
    for path in SIGNOFF_FOLDERS:  # the registry, the policy, mkdocs.yml, the home page
        if not (ROOT / path).is_file():
            continue
        if base and governed_digest(GitTree(ROOT, base), path) == governed_digest(tree, path):
            print(f"# {path} is unchanged since {base[:12]}: its sign-off stands", flush=True)
            continue
        for member in stewards[:needed]:
            bok("endorse", path, "--as", member, "--key", key_of(member), "-m", comment,
                dry_run=dry_run)
            written.add(record_path(path, member))

    for path, chapter in sorted(book.chapters.items()):
        if chapter.draft:
            print(f"# {path} is a draft: skipped", flush=True)
            continue
        for author in chapter.authors:
            bok("sign", path, "--as", author, "--key", key_of(author), dry_run=dry_run)
            written.add(record_path(path, author))
        wanted = book.policy.rules_for(chapter.domain).endorsements
        eligible = sorted(m.id for m in book.registry.experts_of(chapter.domain)
                          if m.id not in chapter.authors)
        if len(eligible) < wanted:
            raise Stop(f"{path} needs {wanted} endorsements, but the only experts of "
                       f"'{chapter.domain}' who are not its authors are {eligible}; change "
                       "its authors or the experts in reviews/members.yml")
        for member in eligible[:wanted]:
            reason = open_objection(tree, path, member, chapter.digest)
            if reason is not None:
                raise Stop(f"'{member}' objects to {path}: {reason}\n  Revise the chapter, "
                           f"or have '{member}' endorse it by hand; this script never "
                           "overwrites an objection.")
            bok("endorse", path, "--as", member, "--key", key_of(member), "-m", comment,
                dry_run=dry_run)
            written.add(record_path(path, member))

    return sorted(r.path for r in book.records if r.path not in written)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true",
                        help="print the bok commands without running them")
    parser.add_argument("--no-check", action="store_true",
                        help="do not run 'bok check --strict' and 'bok status' at the end")
    options = parser.parse_args()
    try:
        left = resign(options.dry_run)
    except Stop as stop:
        print(f"resign_handbook: {stop}", file=sys.stderr)
        return 1
    for path in left:
        print(f"# left alone: {path}", flush=True)
    if options.dry_run or options.no_check:
        return 0
    print("$ bok check --strict", flush=True)
    check = subprocess.run([sys.executable, "-m", "bok", "check", "--strict"], cwd=ROOT)
    print("$ bok status", flush=True)
    subprocess.run([sys.executable, "-m", "bok", "status"], cwd=ROOT)
    return check.returncode


if __name__ == "__main__":
    sys.exit(main())
