"""The ``bok`` command line: thin shells over the library, one per task.

Exit status: 0 when nothing is wrong, 1 when the book has errors (or a command cannot go on),
2 for a usage error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import click

from . import __version__, clock
from .errors import BokError
from .model import ENGINES

FORMATS = click.Choice(["text", "json", "github"])


class Context:
    def __init__(self, root: Path):
        self.root = root


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bok")
@click.option("-C", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=".",
              help="Run as if bok was started in DIRECTORY (the book's root).")
@click.pass_context
def cli(ctx: click.Context, directory: Path) -> None:
    """bok: a peer-reviewed book of knowledge, kept in Git.

    Authors write chapters as Markdown under content/<domain>/ and sign them; the domain's
    experts endorse them; the site publishes only endorsed practice.

    \b
    Examples:
      bok init handbook           start a new book in ./handbook
      bok new brakes/abs --title "ABS bleeding"
      bok sign content/brakes/abs.md
      bok endorse content/brakes/abs.md -m "Matches our 2024 procedure."
      bok check --base origin/main
      bok build
    """
    ctx.obj = Context(directory.resolve())


def _run_check(root: Path, base: str | None, strict: bool):
    from .gate import check
    from .revisions import earlier_endorsed
    if not (root / "content").is_dir() and not (root / "reviews").is_dir():
        raise BokError(f"{root} is not a book: no content/ or reviews/ folder "
                       "(start one with 'bok init', or pass -C DIR)")
    result = check(root, base=base, today=clock.today(), earlier=earlier_endorsed(root))
    return result.strict() if strict else result


@cli.command()
@click.option("--base", metavar="REV",
              help="Check the working tree as a change against REV (a pull request's base): "
                   "registry and policy are read from REV, and every changed chapter must be "
                   "endorsed.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people, json for tools, github for workflow annotations.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@pass_ctx
def check(ctx: Context, base: str | None, fmt: str, strict: bool) -> None:
    """Validate the whole book, its signatures and its endorsements.

    Every malformed file, record that fails verification, and (with --base) change that lacks
    endorsement is reported with its file, line, rule and fix. Warnings name the chapters that
    fell below the policy because a member left or a key was revoked or retired (and who may
    re-endorse them), and links to chapters that are not published. Exit status 1 on errors.
    With --base, a record the change deletes, leaves behind when its chapter moves, or puts
    back after its member replaced it is an error, and so is what would make the whole book
    fail (a name clashing with an unchanged file, a removed domain page).

    \b
    Examples:
      bok check
      bok check --strict --format json
      bok check --base origin/main --format github
    """
    from . import report
    result = _run_check(ctx.root, base, strict)
    if fmt == "json":
        click.echo(report.as_json(result))
    elif fmt == "github":
        click.echo(report.github_annotations(result))

        def summary() -> str:
            from .revisions import endorsed_commits
            endorsed = endorsed_commits(ctx.root, result.book, result.statuses,
                                        result.verifications, clock.today())
            return report.github_summary(result, endorsed, _compare_url())
        _step_summary(summary)
    else:
        click.echo(report.check_text(result))
    sys.exit(0 if result.ok else 1)


def _step_summary(make: Callable[[], str]) -> None:
    """In GitHub Actions (GITHUB_STEP_SUMMARY set): append the Markdown ``make`` returns."""
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(make())


def _compare_url() -> str | None:
    """In GitHub Actions: the compare view from an endorsed commit to the commit checked."""
    server, repository, head = (os.environ.get(k) for k in (
        "GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    if not (server and repository and head):
        return None
    return f"{server.rstrip('/')}/{repository}/compare/{{commit}}...{head}"


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text for people, json for tools (same shape as check).")
@pass_ctx
def status(ctx: Context, fmt: str) -> None:
    """One line per chapter: its state, domain, type and authors, and what it still needs.

    States: draft, awaiting (never endorsed), pending (an earlier revision is endorsed),
    endorsed, expired (endorsements lapsed), invalid (cannot be loaded).

    \b
    Example:
      bok status
    """
    from . import report
    result = _run_check(ctx.root, None, False)
    click.echo(report.as_json(result) if fmt == "json" else report.status_text(result))
    sys.exit(0 if result.ok else 1)


def _book_health(root: Path):
    """The book, its statuses and its health, from one read of the Git history."""
    from . import history
    from .loading import load_book, rules_problems
    from .policy import evaluate_book
    from .revisions import book_health, earlier_endorsed
    from .trees import WorkTree
    if not (root / "content").is_dir() and not (root / "reviews").is_dir():
        raise BokError(f"{root} is not a book: no content/ or reviews/ folder "
                       "(start one with 'bok init', or pass -C DIR)")
    from concurrent.futures import ThreadPoolExecutor
    today = clock.today()
    with ThreadPoolExecutor(max_workers=1) as pool:  # Git reads while Python loads (as a build)
        reading = pool.submit(history.read_history, root)
        book = load_book(WorkTree(root))
        hist = reading.result()
    for finding in rules_problems(book)[:1]:
        raise BokError(f"{finding} (the health of the book is judged by these rules)")
    statuses, verifications = evaluate_book(book, today, earlier=earlier_endorsed(root, hist))
    return book, statuses, verifications, hist, book_health(root, book, statuses,
                                                            verifications, hist, today)


@cli.command()
@click.option("--domain", metavar="ID", help="Only this domain's chapters and people.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True,
              help="text for people, json for tools, github for workflow annotations and a "
                   "run summary.")
@pass_ctx
def health(ctx: Context, domain: str | None, fmt: str) -> None:
    """The health of the book: what its community must tend.

    Chapters by state and the share endorsed and current; endorsements lapsing within 30 and
    90 days, and lapsed ones; chapters fewer experts may endorse than the policy needs, and
    domains without a steward among their experts or with a single expert; the review queue,
    oldest first, with how long each chapter has waited and who may endorse it; how many
    chapters await each expert; chapters written, endorsed and re-validated per month, and
    this quarter's contributors. Computed from the repository alone (records, registry,
    policy, Git history). Exit status 0 whatever is due; 1 when the rules do not load.

    \b
    Examples:
      bok health
      bok health --domain brakes --format json
    """
    from . import report
    book, _, _, _, found = _book_health(ctx.root)
    if domain is not None:
        if domain not in book.domains:
            raise click.BadParameter(f"'{domain}' is not a domain of this book (domains: "
                                     f"{', '.join(sorted(book.domains)) or 'none'})",
                                     param_hint="--domain")
        found = found.for_domain(domain)
    if fmt == "json":
        click.echo(report.health_json(found))
    elif fmt == "github":
        click.echo(report.health_annotations(found))
        _step_summary(lambda: report.health_markdown(found))
    else:
        click.echo(report.health_text(found))


@cli.command()
@click.option("--as", "member", metavar="ID",
              help="The member whose queue to show. Default: the one whose email is git "
                   "config user.email.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="text (Markdown, ready to paste into an issue) or json.")
@pass_ctx
def queue(ctx: Context, member: str | None, fmt: str) -> None:
    """What awaits you, across your domains, most urgent first.

    Lapsed endorsements (longest overdue first), endorsements lapsing within 30 days, then the
    chapters awaiting endorsement (oldest first), each with the command that acts on it
    (bok diff for a chapter whose earlier revision is endorsed, bok endorse otherwise), as a
    Markdown task list ready to paste into an issue.

    \b
    Examples:
      bok queue
      bok queue --as bob --format json
    """
    from . import report
    from .authoring import current_member
    book, _, _, _, found = _book_health(ctx.root)
    who = current_member(ctx.root, book.registry, member)
    if not who.expert_in:
        click.echo(f"note: '{who.id}' is an expert of no domain, so no chapter awaits them",
                   err=True)
    if fmt == "json":
        click.echo(report.queue_json(found, who.id))
    else:
        click.echo(report.queue_markdown(found, who.id, who.name), nl=False)


@cli.command()
@click.argument("path")
@pass_ctx
def diff(ctx: Context, path: str) -> None:
    """Show what changed in a chapter since its newest endorsed revision.

    A unified diff (front matter and body) from the newest revision of PATH whose content its
    experts endorsed to the working copy, as the drafts preview shows under "Changes under
    review": re-endorsing a small edit takes a minute. Exit status 0, also when no revision
    was ever endorsed (it says so).

    \b
    Example:
      bok diff content/brakes/abs.md
    """
    from . import history
    from .authoring import normalise_chapter_path
    from .loading import load_book
    from .revisions import diff_since_endorsed
    from .signing import verify_record
    from .trees import WorkTree
    chapter_path = normalise_chapter_path(path)
    book = load_book(WorkTree(ctx.root))
    chapter = book.chapters.get(chapter_path)
    if chapter is None:
        why = ("does not load (see bok check)" if chapter_path in book.invalid_chapters
               else "is not a chapter of this book")
        raise BokError(f"{chapter_path} {why}")
    checked = [verify_record(r, book.registry) for r in book.records_for(chapter_path)]
    found = diff_since_endorsed(ctx.root, chapter, checked, book.registry, book.policy,
                                clock.today(), history.read_history(ctx.root))
    if found.endorsed is None:
        click.echo(f"{chapter_path}: no endorsed revision (never endorsed, or not committed "
                   "since): review the whole chapter")
    elif not found.lines:
        revision = found.endorsed.revision
        click.echo(f"{chapter_path}: unchanged since its endorsed revision of "
                   f"{revision.date:%Y-%m-%d} ({revision.short})")
    else:
        click.echo("\n".join(found.lines))


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path), default=".")
@click.option("--site-name", default="Book of Knowledge", show_default=True,
              help="The site's name in mkdocs.yml.")
@click.option("--github", "login", metavar="LOGIN",
              help="Your GitHub login, for CODEOWNERS (default: git config github.user).")
def init(directory: Path, site_name: str, login: str | None) -> None:
    """Start a new book in DIRECTORY (default: here).

    Writes mkdocs.yml, content/, reviews/members.yml, reviews/policy.yml, the CI workflows,
    .github/CODEOWNERS and a README section; runs git init (branch: init.defaultBranch, else
    main) where DIRECTORY is not in a Git repository (a folder of an existing repository stays
    part of it), and the workflows publish from that branch (in a repository, from its current
    branch). Your Git name and email, your SSH key (user.signingkey, else ~/.ssh/id_ed25519,
    id_ecdsa, id_rsa) and GitHub login become the first member, a steward, who owns .github/
    and CODEOWNERS; a warning says what was not found. Never overwrites a file: README.md and
    .gitignore are extended, and a folder that already holds files keeps them.

    \b
    Example:
      bok init handbook --site-name "Brakes Book of Knowledge"
    """
    from . import schema
    from .authoring import find_public_key, git_config, init_book, prepare_book_folder
    prepare_book_folder(directory)
    name, email = git_config(directory, "user.name"), git_config(directory, "user.email")
    key_line, notes = find_public_key(directory) if name and email else (None, [])
    if not (name and email):
        notes = ["no Git identity (git config user.name and user.email), so "
                 "reviews/members.yml has no members and nobody can sign: set both, then add "
                 "yourself under 'members:' (see the handbook's chapter on the registry)"]
    login = login or git_config(directory, "github.user")
    if login:
        try:
            schema.MEMBER.options["github"].kind.convert(login)
        except schema.Invalid as exc:
            raise click.BadParameter(str(exc), param_hint="--github") from None
    made = init_book(directory, site_name, name, email, key_line, login)
    for verb, path in made:
        click.echo(f"{verb} {path}")
    for note in notes:
        click.echo(f"warning: {note}", err=True)
    click.echo("Next: bok new handbook/first-chapter --title '...' ; bok check")


@cli.command()
@click.argument("path")
@click.option("--title", required=True, help="The chapter's title (plain text).")
@click.option("--author", "authors", multiple=True, metavar="ID",
              help="An author's member id; repeat for several. Default: the member whose "
                   "email is git config user.email.")
@click.option("--type", "chapter_type", default="practice", show_default=True,
              help="The chapter type; its template fills the body.")
@pass_ctx
def new(ctx: Context, path: str, title: str, authors: tuple[str, ...], chapter_type: str) -> None:
    """Write a new chapter at PATH (content/<domain>/<slug>.md, or <domain>/<slug>).

    The body starts from the template of its type (.bok/templates/<type>.md in the book
    overrides bok's own). Nothing is written if bok check would reject the chapter (a title
    with markup or a line break, an unknown author or type).

    \b
    Example:
      bok new brakes/abs-bleeding --title "Bleeding ABS units" --type practice
    """
    from .authoring import current_member, new_chapter
    from .loading import load_book
    from .trees import WorkTree
    book = load_book(WorkTree(ctx.root))
    chosen = list(authors) or [current_member(ctx.root, book.registry, None, "--author").id]
    target = new_chapter(ctx.root, path, title, chosen, chapter_type, book)
    click.echo(f"created {target.relative_to(ctx.root).as_posix()}")


def _review_command(verdict: str, summary: str, example: str):
    @click.argument("path")
    @click.option("--as", "member", metavar="ID",
                  help="The member signing. Default: the one whose email is git config "
                       "user.email.")
    @click.option("--key", metavar="FILE",
                  help="SSH key to sign with. Default: git config user.signingkey, then "
                       "the first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa.")
    @click.option("-m", "--message", default="", help="Comments, published as review notes.")
    @click.option("--from", "base", metavar="REV",
                  help="For a sign-off of a governed file: the revision whose version the "
                       "change replaces. Default: the merge base with origin/HEAD, else HEAD.")
    @pass_ctx
    def command(ctx: Context, path: str, member: str | None, key: str | None,
                message: str, base: str | None) -> None:
        from .authoring import review
        if verdict == "object" and not message.strip():
            raise click.UsageError("an objection needs a reason: -m 'what must change'")
        written = review(ctx.root, path, verdict, member, key, message, clock.today(), base)
        click.echo(f"wrote {written.relative_to(ctx.root).as_posix()}")

    command.__doc__ = f"""{summary}

    The record is written to reviews/<domain>/<slug>/<member>.md, signed with ssh-keygen
    (ssh-agent and passphrases work) over the chapter's exact content. A sign-off of a
    governed file (reviews/members.yml, reviews/policy.yml, mkdocs.yml, content/index.md,
    content/<domain>/index.md) also signs the version it replaces (--from), and goes to
    reviews/_registry/<name>/ (a domain page's to reviews/<domain>/index/).

    \b
    Example:
      {example}
    """
    return command


cli.command("sign")(_review_command(
    "sign", "Sign a chapter you wrote, as its author.", "bok sign content/brakes/abs.md"))
cli.command("endorse")(_review_command(
    "endorse", "Endorse a chapter of your domain, as an expert; or sign off a change to a "
    "governed file (stewards: reviews/members.yml, mkdocs.yml, ...; a domain's experts too: "
    "its index.md).",
    "bok endorse content/brakes/abs.md -m 'Matches the 2024 procedure.'"))
cli.command("object")(_review_command(
    "object", "Object to a chapter of your domain: it cannot be endorsed while you object.",
    "bok object content/brakes/abs.md -m 'Step 3 skips the pressure test.'"))


@cli.command()
@click.argument("old")
@click.argument("new")
@pass_ctx
def mv(ctx: Context, old: str, new: str) -> None:
    """Rename a chapter within its domain, moving its review records with it.

    All or nothing: it refuses a NEW that exists, records already at the destination, paths
    that leave the domain and symbolic links. In a Git repository it stages the move, like
    git mv, for the files Git tracked.

    \b
    Example:
      bok mv content/brakes/abs.md content/brakes/abs-bleeding.md
    """
    from .authoring import move_chapter
    moved = move_chapter(ctx.root, old, new)
    for src, dst in moved.files:
        click.echo(f"moved {src} -> {dst}")
    if moved.staged:
        click.echo("staged the move in Git (git add --all on the old and new paths)")


@cli.command()
@click.option("--site-dir", type=click.Path(path_type=Path),
              help="Where to write the site, relative to the book (default: site/). Only a "
                   "new or empty folder or an earlier bok build is replaced; never the book, "
                   "a folder holding it, content/, reviews/, .git or your home.")
@click.option("--drafts", is_flag=True,
              help="Include chapters that are not endorsed, under a 'draft' banner (preview).")
@click.option("--no-history", is_flag=True,
              help="Build without Git history (pages say so); needed in a shallow clone.")
@click.option("--strict", is_flag=True, help="Fail on any warning of the engine.")
@click.option("--engine", type=click.Choice(ENGINES),
              help="The engine that lays the site out: mkdocs (MkDocs with Material) or "
                   "zensical (pip install 'bok[zensical]'). Default: 'engine:' under the bok "
                   "plugin in mkdocs.yml, else mkdocs.")
@pass_ctx
def build(ctx: Context, site_dir: Path | None, drafts: bool, no_history: bool,
          strict: bool, engine: str | None) -> None:
    """Build the book's site: endorsed chapters only, with attribution and history.

    Besides the chapters, domain and member pages, it writes a "what's new" page and an Atom
    feed (feed.xml; absolute links need site_url in mkdocs.yml).

    The build is atomic: it writes into a temporary folder and replaces the site only when
    everything succeeded, so a failed build leaves the previous site exactly as it was. A
    reviews/members.yml or reviews/policy.yml that does not load stops it with its error. The
    site is marked as bok's (a .bok-site file), so the next build may replace it. On every
    engine bok stages the sanitized pages, indexes them for search (Pagefind) and checks that
    each built page holds exactly what it staged before the site is replaced.
    Rendered pages and checked signatures are kept in .bok/cache/, so the next build redoes
    only what changed, and pages nothing changed are taken from the site being replaced
    ('cache: false' under the bok plugin in mkdocs.yml turns both off).

    \b
    Examples:
      bok build
      bok build --site-dir public --no-history
      bok build --engine zensical
    """
    from .publish import build_site
    from .report import build_summary
    report = build_site(ctx.root, site_dir, drafts=drafts, with_history=not no_history,
                        strict=strict, engine=engine)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(build_summary(report, ctx.root))


@cli.command()
@click.option("--drafts", is_flag=True, help="Include chapters that are not endorsed.")
@click.option("-a", "--dev-addr", default="127.0.0.1:8000", show_default=True,
              metavar="IP:PORT", help="Address to serve on.")
@pass_ctx
def serve(ctx: Context, drafts: bool, dev_addr: str) -> None:
    """Preview the site locally, rebuilding on every change (like mkdocs serve).

    Changes to content/, reviews/ and mkdocs.yml are watched. A rebuild renders only changed
    pages and lays out only the pages that changed (every page when the navigation or
    mkdocs.yml changed); the search index follows a few seconds after the pages. The address
    is checked before the first build: a port in use fails at once.

    \b
    Example:
      bok serve --drafts
    """
    from .publish import serve as serve_site
    serve_site(ctx.root, drafts, dev_addr)


@cli.command("codeowners")
@click.option("--output", type=click.Path(path_type=Path),
              help="Where to write it, relative to the book: a file named CODEOWNERS "
                   "(default: the existing CODEOWNERS, else .github/CODEOWNERS).")
@click.option("--check", "only_check", is_flag=True,
              help="Write nothing; exit 1 if the committed file is out of date.")
@pass_ctx
def codeowners_command(ctx: Context, output: Path | None, only_check: bool) -> None:
    """Write CODEOWNERS from the registry, so GitHub requests the right reviewers.

    Each domain's folders (content/<domain>/, reviews/<domain>/) are owned by its experts'
    GitHub logins ('github:' in reviews/members.yml), its index.md by them and the stewards;
    the registry, the policy, mkdocs.yml and the files it names, content/index.md, .github/
    and CODEOWNERS by the stewards. Require code-owner review in branch protection: the gate
    cannot protect the workflow that runs it. bok check warns when the committed file no
    longer matches.

    \b
    Examples:
      bok codeowners
      bok codeowners --check
    """
    from . import codeowners
    from .loading import load_book
    from .trees import WorkTree
    book = load_book(WorkTree(ctx.root))
    errors = [f for f in book.findings if f.is_error and f.path == "reviews/members.yml"]
    if errors:
        raise BokError(f"fix reviews/members.yml first: {errors[0]}")
    text = codeowners.for_book(ctx.root, book.registry, list(book.domains))
    existing = codeowners.committed(ctx.root)
    if only_check:
        if existing is None or existing[1] != text:
            raise BokError("CODEOWNERS is missing or out of date; run 'bok codeowners'")
        click.echo(f"{existing[0]} matches the registry")
        return
    where = codeowners.destination(ctx.root, output)
    target = ctx.root / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {where}")


def main() -> None:
    """Entry point: no traceback reaches a user (BOK_DEBUG=1 shows it, for bug reports)."""
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("BOK_DEBUG"):
            raise
        click.echo(f"Error: bok failed unexpectedly ({type(exc).__name__}: {exc}). "
                   "Rerun with BOK_DEBUG=1 and report the traceback.", err=True)
        sys.exit(1)
