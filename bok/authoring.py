"""What authors and reviewers do to a book: start it, add chapters, sign, endorse, move.

These functions change files; the rules they apply come from the model and the policy. The
command line (:mod:`bok.cli`) is a thin shell over them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from contextlib import suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from . import bookpath, schema, sshsig
from .errors import BokError
from .loading import load_book
from .model import (
    CONTENT,
    REGISTRY_FILES,
    Book,
    Member,
    Registry,
    chapter_domain,
    content_digest,
    record_path,
)
from .signing import write_record
from .trees import WorkTree

TEMPLATES = resources.files("bok") / "templates"
BOOK_TEMPLATES = ".bok/templates"
SCHEMAS = ".bok/schemas"  # JSON Schemas for editors; members.yml and policy.yml point here


def git_config(root: Path, key: str) -> str | None:
    """A value of ``git config``, or None (also when Git or the repository is missing)."""
    try:
        result = subprocess.run(["git", "-C", str(root), "config", "--get", key],
                                capture_output=True, text=True)
    except OSError:
        return None
    return result.stdout.strip() or None


def _book_files() -> dict[str, str]:
    files = {}
    base = TEMPLATES / "book"

    def walk(node, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, name + "/")
            else:
                files[name] = child.read_text(encoding="utf-8")
    walk(base, "")
    return files


def prepare_book_folder(target: Path) -> None:
    """Make the folder a new book goes into; refuse a file there."""
    if bookpath.taken(target) and not target.is_dir():
        raise BokError(f"{target} is a file, not a folder; pass a new or existing folder")
    target.mkdir(parents=True, exist_ok=True)


def init_book(target: Path, site_name: str, name: str | None, email: str | None,
              key_line: str | None) -> list[tuple[str, str]]:
    """Write a new book into ``target``; refuse to overwrite anything (README.md and
    .gitignore are extended, never replaced). Return what was done, as (verb, path)."""
    files = _book_files()
    readme = files.pop("README-section.md")
    ignore = files.pop(".gitignore")
    member_id = re.sub(r"[^a-z0-9_-]", "-", (email or "").split("@")[0].lower()).strip("-")
    if name and email and member_id:
        keys = f"\n    keys:\n      - {key_line}" if key_line else "\n    keys: []"
        member = (f"  {member_id}:\n    name: {_yaml_text(name)}\n    email: {email}{keys}\n"
                  f"    expert_in: [handbook]\n    steward: true\n")
    else:
        member = "  {}\n"
    files["reviews/members.yml"] = files["reviews/members.yml"].replace("{member}\n", member)
    files["reviews/members.yml"] = files["reviews/members.yml"].replace(
        "members:\n  {}\n", "members: {}\n")
    files["mkdocs.yml"] = files["mkdocs.yml"].replace("{site_name}", site_name)
    for path in [*files, SCHEMAS, "README.md", ".gitignore"]:
        bookpath.writable(target, path)
    clashes = [p for p in [*files, SCHEMAS] if bookpath.taken(target / p)]
    if clashes:
        raise BokError(f"refusing to overwrite existing files in {target}: {', '.join(clashes)}")
    for special in ("README.md", ".gitignore"):
        if bookpath.taken(target / special) and not (target / special).is_file():
            raise BokError(f"{target / special} is not a file; bok init extends it")
    for path, text in files.items():
        out = target / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    made = [("created", path) for path in files]
    for path in schema.write_json_schemas(target / SCHEMAS):
        made.append(("created", path.relative_to(target).as_posix()))
    readme_path = target / "README.md"
    if readme_path.exists():
        current = readme_path.read_text(encoding="utf-8")
        if "bok check" not in current:
            readme_path.write_text(current.rstrip("\n") + "\n\n" + readme, encoding="utf-8")
            made.append(("extended", "README.md (a section on the book)"))
    else:
        readme_path.write_text(f"# {site_name}\n\n{readme}", encoding="utf-8")
        made.append(("created", "README.md"))
    ignore_path = target / ".gitignore"
    current = ignore_path.read_text(encoding="utf-8") if ignore_path.exists() else ""
    if "site/" not in current.split():
        ignore_path.write_text(current + ("\n" if current and not current.endswith("\n") else "")
                               + ignore, encoding="utf-8")
        made.append(("extended" if current else "created", ".gitignore (site/)"))
    made.append(_git_init(target))
    return made


def _git_init(target: Path) -> tuple[str, str]:
    """``git init`` the book's folder, unless it is in a Git repository already: a book in a
    subfolder of a repository stays part of it (no repository nested inside another)."""
    try:
        found = subprocess.run(["git", "-C", str(target), "rev-parse", "--show-toplevel"],
                               capture_output=True, text=True)
    except OSError:
        return ("skipped", "git init (Git is not installed; run git init yourself)")
    top = found.stdout.strip()
    if found.returncode == 0 and top:
        if Path(top).resolve() == target.resolve():
            return ("kept", "the Git repository (.git)")
        return ("kept", f"the Git repository at {top} (the book is a folder of it; "
                "no repository nested inside it; GitHub runs workflows only from its "
                "root's .github/)")
    subprocess.run(["git", "init", "-q", str(target)], check=True)
    return ("created", ".git (git init)")


def chapter_template(root: Path, chapter_type: str) -> str:
    """The body a new chapter starts with: the book's own template, else bok's."""
    own = root / BOOK_TEMPLATES / f"{chapter_type}.md"
    if own.is_file() and not own.is_symlink():
        return own.read_text(encoding="utf-8")
    shipped = TEMPLATES / "chapters" / f"{chapter_type}.md"
    if shipped.is_file():
        return shipped.read_text(encoding="utf-8")
    return (TEMPLATES / "chapters" / "reference.md").read_text(encoding="utf-8")


def normalise_chapter_path(path: str) -> str:
    """Accept ``content/brakes/abs.md``, ``brakes/abs.md`` or ``brakes/abs`` (a ``\\`` is read
    as ``/``); refuse a path that could leave the book or its domain (``..``, a leading ``/``)."""
    path = bookpath.relative(path.replace("\\", "/").rstrip("/"), path)
    if not path.startswith(CONTENT + "/"):
        path = f"{CONTENT}/{path}"
    if not path.endswith(".md"):
        path += ".md"
    return path


def _yaml_text(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def new_chapter(root: Path, path: str, title: str, authors: list[str], chapter_type: str,
                book: Book) -> Path:
    """Write a new chapter with its front matter and the template of its type."""
    path = normalise_chapter_path(path)
    domain = chapter_domain(path)
    if domain is None or path.endswith("/index.md"):
        raise BokError(f"{path}: a chapter lives at content/<domain>/<slug>.md")
    if domain not in book.domains:
        raise BokError(f"{path}: domain '{domain}' does not exist; create "
                       f"content/{domain}/index.md with a title and description first")
    for author in authors:
        if author not in book.registry.members:
            raise BokError(f"author '{author}' is not a member of reviews/members.yml")
    if chapter_type not in book.policy.chapter_types:
        raise BokError(f"type '{chapter_type}' is not one of: "
                       f"{', '.join(book.policy.chapter_types)}")
    target = bookpath.writable(root, path)
    if bookpath.taken(target):
        raise BokError(f"{path} already exists")
    front = (f"title: {_yaml_text(title)}\nauthors: [{', '.join(authors)}]\n"
             f"type: {chapter_type}\n")
    body = chapter_template(root, chapter_type).replace("{title}", title)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
    return target


def current_member(root: Path, registry: Registry, member_id: str | None) -> Member:
    """The member acting: ``--as ID``, else the one whose email is ``git config user.email``."""
    if member_id:
        member = registry.get(member_id)
        if member is None:
            raise BokError(f"'{member_id}' is not a member of reviews/members.yml")
        return member
    email = git_config(root, "user.email")
    member = registry.by_email(email)
    if member is None:
        raise BokError(f"no member has the email {email!r} (git config user.email); "
                       "pass --as ID")
    return member


def signing_key(root: Path, key: str | None) -> Path:
    """``--key``, else ``git config user.signingkey``, else ~/.ssh/id_ed25519."""
    chosen = key or git_config(root, "user.signingkey")
    if chosen and chosen.startswith(("ssh-", "ecdsa-", "key::")):
        raise BokError("user.signingkey holds a literal key; pass --key with the key file")
    path = Path(os.path.expanduser(chosen)) if chosen else Path.home() / ".ssh" / "id_ed25519"
    if not path.exists() and not Path(f"{path}.pub").exists():
        raise BokError(f"signing key {path} not found; pass --key FILE")
    return path


def review(root: Path, target: str, verdict: str, member_id: str | None, key: str | None,
           comments: str, today: dt.date | None = None) -> Path:
    """Sign, endorse or object to a chapter (or sign off a registry file); write the record."""
    book = load_book(WorkTree(root))
    path = target.replace("\\", "/").strip("/")
    if path not in REGISTRY_FILES:
        path = normalise_chapter_path(path)
    member = current_member(root, book.registry, member_id)
    key_path = signing_key(root, key)
    try:
        public = sshsig.public_key_of(key_path)
    except (sshsig.SignatureError, ValueError) as exc:
        raise BokError(f"cannot read the public key of {key_path}: {exc}") from None
    if public.fingerprint not in member.fingerprints:
        raise BokError(f"key {public.fingerprint} ({key_path}) is not registered to "
                       f"'{member.id}' in reviews/members.yml; add its .pub line under "
                       f"'keys:' (a steward signs off that change)")
    if path in REGISTRY_FILES:
        role = "steward"
        if verdict != "endorse" or not member.steward:
            raise BokError(f"only stewards sign off {path}, with 'bok endorse'")
        data = (root / path).read_bytes()
    else:
        chapter = book.chapters.get(path)
        if chapter is None:
            problems = [str(f) for f in book.findings if f.path == path]
            reason = "; ".join(problems) if problems else "no such chapter"
            raise BokError(f"cannot review {path}: {reason}")
        if chapter.draft:
            raise BokError(f"{path} is a draft; remove 'draft: true' before it is reviewed")
        if verdict == "sign":
            if member.id not in chapter.authors:
                raise BokError(f"'{member.id}' is not an author of {path}; authors sign, "
                               "experts endorse")
            role = "author"
        else:
            if member.id in chapter.authors:
                raise BokError(f"'{member.id}' is an author of {path} and cannot {verdict} it")
            if chapter.domain not in member.expert_in:
                raise BokError(f"'{member.id}' is not an expert of '{chapter.domain}'")
            role = "reviewer"
        data = (root / path).read_bytes()
    bookpath.writable(root, record_path(path, member.id))
    return write_record(root, path, member.id, role, verdict, content_digest(data), comments,
                        key_path, today)


@dataclass
class Moved:
    """What ``bok mv`` did: the files renamed (chapter first, then its records), and whether
    the renames were staged in Git as ``git mv`` would."""

    files: list[tuple[str, str]]
    staged: bool


def move_chapter(root: Path, old: str, new: str) -> Moved:
    """Rename a chapter within its domain and move its records with it: all or nothing,
    staged in Git when the book is a Git repository and the files were tracked."""
    moves = _planned_moves(root, old, new)
    tracked = _tracked(root, [src for src, _ in moves])
    _rename_all(root, moves)
    old_dir = root / _records_folder(moves[0][0])
    if old_dir.is_dir() and not any(old_dir.iterdir()):
        old_dir.rmdir()
    staged = [path for src, dst in moves if src in tracked for path in (src, dst)]
    if staged:
        result = _git(root, "add", "--all", "--", *staged)
        if result is None or result.returncode != 0:
            detail = result.stderr.strip() if result is not None else "Git did not run"
            raise BokError(f"moved the files, but staging the move in Git failed ({detail}); "
                           "run 'git add --all' on the old and new paths")
    return Moved(moves, bool(staged))


def _records_folder(chapter: str) -> str:
    return record_path(chapter, "x").rsplit("/", 1)[0]


def _planned_moves(root: Path, old: str, new: str) -> list[tuple[str, str]]:
    """Every rename ``bok mv`` will make, refused as a whole if any of them could lose or
    overwrite a file, leave the domain or go through a symbolic link."""
    old, new = normalise_chapter_path(old), normalise_chapter_path(new)
    if old == new:
        raise BokError(f"{old} and {new} are the same path; nothing to move")
    if chapter_domain(old) != chapter_domain(new) or chapter_domain(new) is None:
        raise BokError("a chapter moves within its domain only; one moved to another domain "
                       "needs new endorsements from that domain's experts")
    if not bookpath.writable(root, old).is_file():
        raise BokError(f"{old} does not exist")
    if bookpath.taken(bookpath.writable(root, new)):
        raise BokError(f"{new} already exists")
    moves = [(old, new)]
    old_dir = bookpath.writable(root, _records_folder(old))
    new_folder = _records_folder(new)
    new_dir = bookpath.writable(root, new_folder)
    if bookpath.taken(new_dir) and not new_dir.is_dir():
        raise BokError(f"{new_folder} is a file, where {new}'s records would go; remove it")
    if new_dir.is_dir() and any(p.suffix == ".md" for p in new_dir.iterdir()):
        raise BokError(f"{new_folder}/ already holds records, which would become {new}'s; "
                       "remove them first (git rm) if they are stale")
    if old_dir.is_dir():
        for record in sorted(old_dir.iterdir()):
            if record.suffix != ".md":
                continue
            src = bookpath.writable(root, record.relative_to(root).as_posix())
            if not src.is_file():
                raise BokError(f"{record.relative_to(root).as_posix()} is not a file")
            moves.append((record.relative_to(root).as_posix(), record_path(new, record.stem)))
    return moves


def _rename_all(root: Path, moves: list[tuple[str, str]]) -> None:
    """Make every rename, or none: a failure undoes the ones made."""
    done: list[tuple[str, str]] = []
    made: list[Path] = []
    try:
        for src, dst in moves:
            made += _make_folders(root, (root / dst).parent)
            os.replace(root / src, root / dst)
            done.append((src, dst))
    except OSError as exc:
        for src, dst in reversed(done):
            os.replace(root / dst, root / src)
        for folder in reversed(made):
            with suppress(OSError):
                folder.rmdir()
        raise BokError(f"cannot move {moves[len(done)][0]}: {exc.strerror or exc}; "
                       "nothing was moved") from None


def _make_folders(root: Path, folder: Path) -> list[Path]:
    """Create ``folder`` and the missing folders above it; return those made, outermost
    first."""
    missing = []
    while not folder.exists() and folder != root:
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))


def _git(root: Path, *args: str) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(["git", "--literal-pathspecs", "-C", str(root), *args],
                              capture_output=True, text=True)
    except OSError:
        return None


def _tracked(root: Path, paths: list[str]) -> set[str]:
    """Which of ``paths`` Git tracks (none when the book is not in a Git repository)."""
    result = _git(root, "ls-files", "-z", "--", *paths)
    if result is None or result.returncode != 0:
        return set()
    return set(result.stdout.split("\0")) & set(paths)
