"""What authors and reviewers do to a book: start it, add chapters, sign, endorse, move.

These functions change files; the rules they apply come from the model and the policy. The
command line (:mod:`bok.cli`) is a thin shell over them.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from contextlib import suppress
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from . import bookpath, codeowners, document, git, governance, schema, sshsig
from .errors import BokError
from .loading import load_book, load_chapter
from .model import (
    CONTENT,
    SIGNOFF_FOLDERS,
    SITE_CONFIG,
    Book,
    Member,
    Registry,
    chapter_domain,
    chapter_path_problem,
    content_digest,
    record_path,
)
from .signing import write_record
from .siteconfig import load_site_config
from .trees import GitTree, WorkTree

TEMPLATES = resources.files("bok") / "templates"
BOOK_TEMPLATES = ".bok/templates"
SCHEMAS = ".bok/schemas"  # JSON Schemas for editors; members.yml and policy.yml point here


def git_config(root: Path, key: str) -> str | None:
    """A value of ``git config``, or None (also when Git or the repository is missing)."""
    return git.config_get(root, key)


#: Where ``bok init`` and the review commands look for your key, after user.signingkey: the
#: default key files of ``ssh-keygen -t ed25519``, ``-t ecdsa`` and ``-t rsa``.
DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")
#: Security-key files (``ssh-keygen -t ed25519-sk``): bok cannot verify them yet, so ``bok
#: init`` says so when it finds one.
SECURITY_KEYS = ("id_ed25519_sk", "id_ecdsa_sk")
DEFAULT_BRANCH = "main"  # what the workflows publish from when Git has no init.defaultBranch


def _default_key_files() -> list[Path]:
    return [Path.home() / ".ssh" / name for name in DEFAULT_KEYS]


def find_public_key(root: Path) -> tuple[str | None, list[str]]:
    """Your SSH public key line for the registry, and what was passed over and why.

    Looks at ``git config user.signingkey``, then ~/.ssh/id_ed25519, id_ecdsa and id_rsa; a
    key bok cannot verify (a security key) is named rather than silently skipped.
    """
    notes: list[str] = []
    configured = git_config(root, "user.signingkey")
    candidates: list[tuple[str, str | None]] = []  # (where, the key line if given literally)
    if configured and configured.startswith("key::"):
        configured = configured.removeprefix("key::")
    if configured and configured.startswith(("ssh-", "ecdsa-", "sk-")):
        candidates.append(("user.signingkey", configured))
    elif configured:
        candidates.append((configured, None))
    candidates += [(str(path), None) for path in _default_key_files()]
    candidates += [(str(Path.home() / ".ssh" / name), None) for name in SECURITY_KEYS]
    for where, line in candidates:
        if line is None:
            path = Path(os.path.expanduser(where))
            pub = path if path.suffix == ".pub" else Path(f"{path}.pub")
            if not pub.is_file():
                continue
            where, line = str(pub), pub.read_text(encoding="utf-8").strip()
        try:
            sshsig.parse_public_key(line)
        except ValueError as exc:
            notes.append(f"{where} is not used: {exc}")
            continue
        return line, notes
    notes.append("no SSH public key found (git config user.signingkey, ~/.ssh/id_ed25519, "
                 "~/.ssh/id_ecdsa, ~/.ssh/id_rsa), so reviews/members.yml lists no key for "
                 "you and you cannot sign yet: make one (ssh-keygen -t ed25519) and add its "
                 ".pub line under 'keys:'")
    return None, notes


def _branch(target: Path) -> tuple[str, bool]:
    """The branch the book's workflows publish from, and whether ``git init`` is needed:
    the repository's current branch, else Git's init.defaultBranch, else main."""
    if git.answer(target, "rev-parse", "--show-toplevel") is not None:
        # a repository, or a folder of one: no repository nested inside another
        return git.current_branch(target) or DEFAULT_BRANCH, False
    return git_config(target, "init.defaultBranch") or DEFAULT_BRANCH, True


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
              key_line: str | None, github: str | None = None) -> list[tuple[str, str]]:
    """Write a new book into ``target``; refuse to overwrite anything (README.md and
    .gitignore are extended, never replaced). Return what was done, as (verb, path).

    The first member is a steward; with a GitHub login, CODEOWNERS gives the stewards .github/
    and CODEOWNERS itself (without one, it is a commented template saying what to do).
    """
    files = _book_files()
    readme = files.pop("README-section.md")
    ignore = files.pop(".gitignore")
    member_id = re.sub(r"[^a-z0-9_-]", "-", (email or "").split("@")[0].lower()).strip("-")
    if name and email and member_id:
        keys = f"\n    keys:\n      - {key_line}" if key_line else "\n    keys: []"
        login = f"\n    github: {github}" if github else ""
        member = (f"  {member_id}:\n    name: {document.scalar(name)}\n"
                  f"    email: {document.scalar(email)}{login}"
                  f"{keys}\n    expert_in: [handbook]\n    steward: true\n")
    else:
        member = "  {}\n"
    files["reviews/members.yml"] = files["reviews/members.yml"].replace("{member}\n", member)
    files["reviews/members.yml"] = files["reviews/members.yml"].replace(
        "members:\n  {}\n", "members: {}\n")
    files["mkdocs.yml"] = files["mkdocs.yml"].replace("{site_name}", site_name)
    branch, needs_git = _branch(target)
    publish = ".github/workflows/publish.yml"
    files[publish] = files[publish].replace("branches: [main]", f"branches: [{branch}]").replace(
        "reaches main.", f"reaches {branch}.")
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
    made.extend(("created", path) for path in _write_codeowners(target))
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
    missing = [line for line in ignore.splitlines() if line and line not in current.split()]
    if missing:
        ignore_path.write_text(current + ("\n" if current and not current.endswith("\n") else "")
                               + "".join(f"{line}\n" for line in missing), encoding="utf-8")
        made.append(("extended" if current else "created",
                     f".gitignore ({', '.join(missing)})"))
    if needs_git:
        git.init(target, branch)
        made.append(("created", f".git (git init, branch {branch})"))
    else:
        made.append(_kept_repository(target))
    return made


def _kept_repository(target: Path) -> tuple[str, str]:
    """What ``bok init`` says of the Git repository it found (and did not make)."""
    top = git.answer(target, "rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() == target.resolve():
        return ("kept", "the Git repository (.git)")
    return ("kept", f"the Git repository at {top} (the book is a folder of it; no repository "
            "nested inside it; GitHub runs workflows only from its root's .github/)")


def _write_codeowners(target: Path) -> list[str]:
    """CODEOWNERS for the new book, unless the repository has one already."""
    if codeowners.committed(target) is not None:
        return []
    book = load_book(WorkTree(target))
    out = target / codeowners.LOCATIONS[0]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(codeowners.for_book(target, book.registry, list(book.domains)),
                   encoding="utf-8")
    return [codeowners.LOCATIONS[0]]


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


def new_chapter(root: Path, path: str, title: str, authors: list[str], chapter_type: str,
                book: Book) -> Path:
    """Write a new chapter with its front matter and the template of its type."""
    path = normalise_chapter_path(path)
    domain = chapter_domain(path)
    problem = chapter_path_problem(path)
    if domain is None or problem is not None:
        raise BokError(f"{path}: {problem or 'a chapter lives at content/<domain>/<slug>.md'}")
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
    body = chapter_template(root, chapter_type).replace("{title}", title)
    text = document.render({"title": title, "authors": authors, "type": chapter_type}, body)
    _refuse_what_check_would(path, text, title, book)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


class _OneFile:
    """A tree holding only the chapter about to be written, for the loader."""

    def __init__(self, path: str, data: bytes):
        self.path, self.data = path, data

    def read(self, path: str) -> bytes | None:
        return self.data if path == self.path else None


def _refuse_what_check_would(path: str, text: str, title: str, book: Book) -> None:
    """Load the new chapter with the loader ``bok check`` uses, so ``bok new`` never writes a
    chapter that check rejects."""
    probe = Book(registry=book.registry, policy=book.policy)
    load_chapter(_OneFile(path, text.encode("utf-8")), path, probe)  # type: ignore[arg-type]
    errors = [f for f in probe.findings if f.is_error]
    if errors:
        raise BokError(f"refusing to write {path}: {errors[0].message} [{errors[0].rule}] "
                       f"{errors[0].fix}".rstrip())


def current_member(root: Path, registry: Registry, member_id: str | None,
                   option: str = "--as") -> Member:
    """The member acting: ``--as ID``, else the one whose email is ``git config user.email``.

    ``option`` is the command's own flag for naming a member, for the message.
    """
    if member_id:
        member = registry.get(member_id)
        if member is None:
            raise BokError(f"'{member_id}' is not a member of reviews/members.yml")
        return member
    email = git_config(root, "user.email")
    if email is None:
        raise BokError("git config user.email is not set, so bok cannot tell which member you "
                       f"are; set it to your email in reviews/members.yml, or pass {option} ID")
    member = registry.by_email(email)
    if member is None:
        raise BokError(f"no member of reviews/members.yml has the email {email} (git config "
                       f"user.email); pass {option} ID")
    return member


def signing_key(root: Path, key: str | None) -> Path:
    """``--key``, else ``git config user.signingkey``, else the first of ~/.ssh/id_ed25519,
    id_ecdsa and id_rsa that exists (where ``bok init`` found the key it registered)."""
    chosen = key or git_config(root, "user.signingkey")
    if chosen and chosen.startswith(("ssh-", "ecdsa-", "key::")):
        raise BokError("user.signingkey holds a literal key; pass --key with the key file")
    if chosen:
        path = Path(os.path.expanduser(chosen))
    else:
        defaults = _default_key_files()
        path = next((p for p in defaults if p.exists() or Path(f"{p}.pub").exists()),
                    defaults[0])
    if not path.exists() and not Path(f"{path}.pub").exists():
        raise BokError(f"signing key {path} not found; pass --key FILE")
    return path


def base_revision(root: Path) -> str | None:
    """The revision a sign-off's change starts from: the merge base with the upstream default
    branch (origin/HEAD), else HEAD; None in a repository without commits."""
    upstream = git.answer(root, "rev-parse", "--verify", "--quiet", "refs/remotes/origin/HEAD")
    merge_base = git.answer(root, "merge-base", "HEAD", upstream) if upstream else None
    return merge_base or git.answer(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")


def governed_digest(tree, path: str) -> str:
    """What a sign-off of ``path`` pins in ``tree``: mkdocs.yml with the files it names, else
    the file; governance.NONE if the tree does not have it."""
    if path == SITE_CONFIG:
        config, _ = load_site_config(tree)
        return config.digest if config else governance.NONE
    data = tree.read(path)
    return content_digest(data) if data is not None else governance.NONE


def review(root: Path, target: str, verdict: str, member_id: str | None, key: str | None,
           comments: str, today: dt.date | None = None, base: str | None = None) -> Path:
    """Sign, endorse or object to a chapter (or sign off a governed file); write the record.

    A sign-off of a governed file approves the change from ``base`` (default: see
    :func:`base_revision`) to the working tree's content, and says so in the record.
    """
    book = load_book(WorkTree(root))
    path = target.replace("\\", "/").strip("/")
    if path not in SIGNOFF_FOLDERS:
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
    state = member.key_state(public.fingerprint)
    if state is not None:
        what = (f"revoked on {state.revoked}" if state.revoked
                else f"retired on {state.retired}")
        raise BokError(f"key {public.fingerprint} ({key_path}) of '{member.id}' was {what} in "
                       "reviews/members.yml; sign with your current key (--key FILE), or "
                       "register a new one (a steward signs off that change)")
    rules = governance.governed(path)
    if rules is not None:
        return _sign_off(root, rules, member, verdict, key_path, comments, today, base)
    if base is not None:
        raise BokError("--from applies to sign-offs of governed files, not to chapters")
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
    return _signed(root, path, member.id, role, verdict, content_digest(data), comments,
                   key_path, today)


def _signed(root: Path, path: str, member_id: str, *args, **kwargs) -> Path:
    """Write a record (never through a link); a key ssh-keygen cannot use is one line saying
    which and why."""
    bookpath.writable(root, record_path(path, member_id))
    try:
        return write_record(root, path, member_id, *args, **kwargs)
    except sshsig.SignatureError as exc:
        raise BokError(f"{exc}. {_signing_advice(str(exc))}") from None


def _signing_advice(reason: str) -> str:
    """What to do when ssh-keygen could not use a key; most often, a passphrase it could not
    ask for (no terminal) or that was wrong."""
    if "passphrase" not in reason:
        return "Pass another key with --key FILE."
    agent = bool(os.environ.get("SSH_AUTH_SOCK"))
    terminal = os.isatty(0)
    if not agent and not terminal:
        return ("The key has a passphrase and there is no terminal to type it and no "
                "ssh-agent (SSH_AUTH_SOCK is not set): start an agent and 'ssh-add' the key, "
                "or run bok in a terminal.")
    return "The key has a passphrase: check it, or 'ssh-add' the key to your ssh-agent."


def _sign_off(root: Path, rules: governance.Governed, member: Member, verdict: str,
              key_path: Path, comments: str, today: dt.date | None, base: str | None) -> Path:
    """A steward's (or, for a domain page, an expert's) sign-off of a governed file's change."""
    path = rules.path
    expert = rules.domain is not None and rules.domain in member.expert_in
    if verdict != "endorse" or not (member.steward or expert):
        who = "stewards" if rules.domain is None else \
            f"stewards and experts of '{rules.domain}'"
        raise BokError(f"only {who} sign off {path}, with 'bok endorse'")
    if not (root / path).is_file():
        raise BokError(f"{path} does not exist; a deletion needs no sign-off")
    revision = base or base_revision(root)
    before = governance.NONE if revision is None else governed_digest(
        GitTree(root, revision), path)
    after = governed_digest(WorkTree(root), path)
    if before == after:
        raise BokError(f"{path} is the same at {revision} as here: there is no change to sign "
                       "off; pass --from REV (the pull request's base, e.g. origin/main)")
    role = "steward" if member.steward else "reviewer"
    return _signed(root, path, member.id, role, verdict, after, comments, key_path, today,
                   from_digest=before)


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
        problem = git.stage(root, staged)
        if problem is not None:
            raise BokError(f"moved the files, but staging the move in Git failed ({problem}); "
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
    problem = chapter_path_problem(new)
    if problem is not None:
        raise BokError(f"{new}: {problem}")
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


def _tracked(root: Path, paths: list[str]) -> set[str]:
    """Which of ``paths`` Git tracks (none when the book is not in a Git repository)."""
    return git.tracked(root, paths)
