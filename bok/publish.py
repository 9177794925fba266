"""Building the site atomically, indexing it for search, and previewing it.

MkDocs cleans ``site_dir`` first and writes pages in place, so a failed build would leave a
half-written site (or none). bok builds into a fresh folder beside the target and swaps it in
only when the whole build succeeded, search index included: the plugin feeds each chapter page
to Pagefind (:class:`SearchIndex`) as MkDocs renders it and writes the index at the end of the
build, so into the staging folder here.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from . import siteconfig, sitedir
from .errors import BokError
from .model import SITE_CONFIG
from .trees import WorkTree


class _Errors(logging.Handler):
    """Collects MkDocs' messages: its exceptions only say 'Aborted with a BuildError!' or
    'Aborted with 2 warnings in strict mode!', never which."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        target = self.errors if record.levelno >= logging.ERROR else self.warnings
        target.append(record.getMessage().strip())


@contextmanager
def _mkdocs_errors():
    """Turn any MkDocs failure into one BokError carrying MkDocs' own messages."""
    from mkdocs import exceptions
    handler = _Errors()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        yield handler
    except exceptions.MkDocsException as exc:
        detail = "; ".join(handler.errors or handler.warnings) or str(exc)
        raise BokError(f"the site build failed: {detail}") from None
    finally:
        logger.removeHandler(handler)


@contextmanager
def _environment(drafts: bool, with_history: bool):
    saved = {k: os.environ.get(k) for k in ("BOK_DRAFTS", "BOK_NO_HISTORY")}
    os.environ["BOK_DRAFTS"] = "1" if drafts else "0"
    os.environ["BOK_NO_HISTORY"] = "0" if with_history else "1"
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _load_config(root: Path, **overrides):
    """MkDocs' configuration, from the very bytes of mkdocs.yml that bok judged: a linked or
    missing mkdocs.yml, one that breaks a rule of :mod:`bok.siteconfig`, or another engine's
    configuration beside it stops the build before MkDocs reads anything (its hooks and
    plugins run as the configuration loads)."""
    from mkdocs.config import load_config
    config_file = root / SITE_CONFIG
    tree = WorkTree(root)
    if tree.kind(SITE_CONFIG) is None:
        raise BokError(f"{config_file} not found; a book needs an mkdocs.yml (bok init writes one)")
    raw, refused = siteconfig.build_refusals(tree)
    if refused:
        more = f" ({len(refused) - 1} more: run bok check)" if len(refused) > 1 else ""
        raise BokError(f"{refused[0]}{more}")
    try:
        with _mkdocs_errors():
            config = load_config(io.BytesIO(raw), config_file_path=str(config_file),
                                 **overrides)
    except BokError as exc:
        raise BokError(f"mkdocs.yml: {exc.message}") from None
    if "bok" not in config.plugins:
        raise BokError("mkdocs.yml does not enable the bok plugin, so the site would publish "
                       "chapters nobody endorsed; add 'plugins: [bok]'")
    return config


def _docs_dir(root: Path, drafts: bool) -> dict[str, str]:
    """Where the plugin stages the book: it must exist before MkDocs reads its configuration.
    A drafts preview is staged apart from the published book (``.bok/preview/``), so an
    engine run in the book never lays out a preview."""
    from .stage import stage_folder
    folder = stage_folder(root, drafts)
    if not folder.is_symlink():
        folder.mkdir(parents=True, exist_ok=True)
    return {"docs_dir": str(folder)} if drafts else {}


@dataclass
class BuildReport:
    """What a build published, for the one-paragraph summary ``bok build`` ends with."""

    site: Path
    chapters: int = 0
    left_out: dict[str, list[str]] = field(default_factory=dict)  # state -> chapter paths
    warnings: list[str] = field(default_factory=list)  # MkDocs' and bok's, in order


def build_site(root: Path, site_dir: Path | None = None, drafts: bool = False,
               with_history: bool = True, strict: bool = False,
               engine: str | None = None) -> BuildReport:
    """Build the book at ``root`` into ``site_dir`` (relative to the book) with ``engine``
    (default: the one mkdocs.yml names, else mkdocs); the old site stays if anything fails,
    and only a folder :mod:`bok.sitedir` allows is ever replaced."""
    from . import engines

    root = root.resolve()
    engine = engine or engines.configured(root)
    if engine not in engines.ENGINES:
        raise BokError(f"unknown engine {engine!r}; expected one of {', '.join(engines.ENGINES)}")
    given = root / (site_dir or "site")
    sitedir.check_target(root, given)
    target = given.resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = sitedir.fresh_folder(target, "building")
    except OSError as exc:
        raise BokError(f"cannot write beside {target} (bok builds there, then swaps the "
                       f"site in): {exc.strerror or exc}") from None
    try:
        if engine == "zensical":
            built = engines.build_zensical(root, staging, drafts, with_history, strict)
        else:
            built = _build_mkdocs(root, staging, drafts, with_history, strict,
                                  previous=target if target.is_dir() else None)
        sitedir.mark(staging)
    except BokError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise BokError(f"{exc.message} (the previous site is untouched)") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap(staging, target)
    if built.swapped is not None:
        built.swapped(target)
    report = BuildReport(target, warnings=built.warnings)
    if built.plan is not None:
        report.chapters = len(built.plan.published)
        report.left_out = built.plan.left_out
    return report


def _build_mkdocs(root: Path, out: Path, drafts: bool, with_history: bool, strict: bool,
                  previous: Path | None = None):
    """MkDocs builds into ``out``, the bok plugin staging the book and reusing the unchanged
    pages of ``previous`` (the site it replaces, :mod:`bok.pagereuse`); then the output is
    checked against what bok staged (:mod:`bok.verify`)."""
    from mkdocs.commands.build import build

    from . import engines, verify
    with _environment(drafts, with_history):
        config = _load_config(root, site_dir=str(out), strict=strict, **_docs_dir(root, drafts))
        plugin = config.plugins.get("bok")
        if plugin is not None and hasattr(plugin, "previous_site"):
            plugin.previous_site = previous
        with _mkdocs_errors() as messages:
            build(config)
    staged = getattr(plugin, "staged", None)
    if staged is not None:
        verify.ensure(out, staged)
    return engines.Built(getattr(plugin, "plan", None), list(messages.warnings),
                         swapped=getattr(plugin, "save_manifest", None))


def _swap(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with two renames; never leave neither in place, and
    delete the retired site only if it is bok's (checked before the build, and again here in
    case it changed meanwhile)."""
    try:
        if not sitedir.replaceable(target):
            raise BokError(f"{target} changed during the build and now holds files bok did "
                           "not build; it is left as it is: build into another folder")
        if not os.path.lexists(target):
            os.replace(staging, target)
            return
        retired = sitedir.unused_name(target, "old")
        os.replace(target, retired)
        try:
            os.replace(staging, target)
        except BaseException:
            os.replace(retired, target)
            raise
    except OSError as exc:
        raise BokError(f"cannot replace {target}: {exc.strerror or exc} (the previous site is "
                       "untouched)") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already unless the swap failed
    if not sitedir.replaceable(retired):
        raise BokError(f"built the site into {target}, but the folder it replaced changed "
                       f"during the build; its files are kept in {retired}")
    shutil.rmtree(retired, ignore_errors=True)


def _pagefind_binary() -> str:
    """The Pagefind executable: the one the ``pagefind[bin]`` package bok depends on ships
    (found the way Pagefind's own Python API finds it), or a ``pagefind`` on PATH."""
    try:
        from pagefind.service import get_executable
    except ImportError:
        found = shutil.which("pagefind")
    else:
        executable = get_executable()
        found = str(executable) if executable is not None else None
    if not found:
        raise BokError("Pagefind is not installed, so the site cannot be searched; "
                       "pip install 'pagefind[bin]'")
    return found


class SearchIndex:
    """A Pagefind index built while MkDocs renders the site, written out at the end.

    Pagefind runs as a service (``pagefind --service``, the protocol its Node and Python APIs
    speak: base64-encoded JSON messages ending with a comma, on stdin and stdout), on another
    core than MkDocs: each chapter is sent as soon as its content is final (:meth:`add`), and
    the index is written (:meth:`write`, about 1.5 ms per page) while MkDocs renders the
    pages' templates; :meth:`finish` waits for the end. Pagefind's own Python API is not used
    because its reader waits 100 ms per answer, which would add ~100 s to a 1,000-chapter build.

    Only the pages given to :meth:`add` are indexed (bok gives its chapter pages); whatever else
    the site holds is never read. Pagefind runs in an empty folder without ``PAGEFIND_*``
    variables, so no configuration file or variable changes what it indexes or where it writes.
    """

    def __init__(self) -> None:
        binary = _pagefind_binary()
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PAGEFIND_")}
        self._empty = tempfile.TemporaryDirectory(prefix="bok-pagefind-")
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed in close())
        try:
            self._proc = subprocess.Popen([binary, "--service"], cwd=self._empty.name, env=env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self._stderr)
        except OSError as exc:
            self._stderr.close()
            self._empty.cleanup()
            raise BokError(f"cannot run Pagefind to index the site for search: {exc}") from None
        self._stdin = cast(IO[bytes], self._proc.stdin)  # both exist: they are PIPEs
        self._stdout = cast(io.BufferedReader, self._proc.stdout)
        self._wanted: set[int] = set()  # the messages whose answers are waited for
        self._answers: dict[int, dict] = {}
        self._errors: list[str] = []
        self._noise: list[str] = []  # output that is not a message, for error reports
        self._done = threading.Condition()
        self._closed = False  # Pagefind's output ended
        self._stopped = False  # close() ran
        self._next_id = 0
        self._writing: int | None = None  # the WriteFiles message, once sent
        self.pages = 0
        self._reader = threading.Thread(target=self._read, name="bok-pagefind", daemon=True)
        self._reader.start()
        # Heading anchors ("¶") would end every section title of the results.
        config = {"exclude_selectors": [".headerlink"]}
        self._index_id = self._wait(self._send({"type": "NewIndex", "config": config}),
                                    "NewIndex")["index_id"]

    def add(self, url: str, html: str) -> None:
        """Index the page at ``url`` (from the site's root, e.g. ``/brakes/abs/``)."""
        self._send({"type": "AddFile", "index_id": self._index_id, "url": url,
                    "file_path": None, "file_contents": html}, keep=False)
        self.pages += 1

    def add_page(self, url: str, content: str, language: str) -> None:
        """Index a page's content (bok's finished HTML) as a page in ``language``: Pagefind
        keeps an index per language, and the search page asks for its own ``lang``."""
        self.add(url, f'<!DOCTYPE html><html lang="{language}"><head></head>'
                      f"<body>{content}</body></html>")

    def write(self, folder: Path) -> None:
        """Start writing the index into ``folder`` (the site's ``pagefind/``), once every page
        is added; Pagefind writes while MkDocs goes on. :meth:`finish` waits for it."""
        shutil.rmtree(folder, ignore_errors=True)
        self._writing = self._send({"type": "WriteFiles", "index_id": self._index_id,
                                    "output_path": str(Path(folder).resolve())})

    def finish(self) -> None:
        """Wait until the index is written, then stop Pagefind; raise if anything failed."""
        try:
            if self._writing is None:
                raise BokError("Pagefind could not index the site for search: the index was "
                               "never written")
            self._wait(self._writing, "WriteFiles")
            if self._errors:
                raise BokError("Pagefind could not index the site for search: "
                               + "; ".join(self._errors[:3]))
        finally:
            self.close()

    def close(self) -> None:
        """Stop Pagefind (it ends when its input ends); never leaves the process behind."""
        if self._stopped:
            return
        self._stopped = True
        if self._proc.poll() is None:
            with suppress(OSError):
                self._stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._reader.join(timeout=10)
        self._stderr.seek(0)
        printed = self._stderr.read().decode("utf-8", "replace").strip()
        if printed:
            self._noise.append(printed[-300:])
            logging.getLogger("mkdocs.plugins.bok").debug("pagefind: %s", printed)
        self._stderr.close()
        self._empty.cleanup()

    # -- the protocol ---------------------------------------------------------------------

    def _send(self, payload: dict, keep: bool = True) -> int:
        """Send a message; ``keep`` it if its answer will be waited for (only errors are kept
        of the others)."""
        self._next_id += 1
        message = json.dumps({"message_id": self._next_id, "payload": payload})
        if keep:
            with self._done:
                self._wanted.add(self._next_id)
        try:
            self._stdin.write(base64.b64encode(message.encode("utf-8")) + b",")
            if keep:
                self._stdin.flush()
        except OSError as exc:
            with self._done:
                self._errors.append(f"Pagefind stopped ({exc})")
        return self._next_id

    def _wait(self, message_id: int, expected: str) -> dict:
        with self._done:
            self._done.wait_for(lambda: message_id in self._answers or self._closed,
                                timeout=3600)
            answer = self._answers.get(message_id, {})
        if answer.get("type") != expected:
            self.close()
            detail = (answer.get("message") or "; ".join(self._errors[:3] + self._noise[-2:])
                      or "it stopped without an answer")
            raise BokError(f"Pagefind could not index the site for search: {detail}")
        return answer

    def _read(self) -> None:
        pending = b""
        stream = self._stdout
        try:
            while chunk := stream.read1(1 << 16):
                pending += chunk
                *messages, pending = pending.split(b",")
                for raw in messages:
                    self._receive(raw.strip())
        finally:
            with self._done:
                if pending.strip():
                    self._noise.append(pending.decode("utf-8", "replace").strip()[:300])
                self._closed = True
                self._done.notify_all()

    def _receive(self, raw: bytes) -> None:
        if not raw:
            return
        try:
            answer = json.loads(base64.b64decode(raw, validate=True))
        except ValueError:  # not a message: something Pagefind printed
            with self._done:
                self._noise.append(raw.decode("utf-8", "replace")[:300])
            return
        payload = answer.get("payload") or {}
        with self._done:
            if payload.get("type") == "Error":
                self._errors.append(str(payload.get("message", "error"))[:300])
            if answer.get("message_id") in self._wanted:
                self._answers[answer["message_id"]] = payload
                self._done.notify_all()


def serve(root: Path, drafts: bool, address: str) -> None:
    """Preview with live reload, rebuilding on any change to content/, reviews/ or mkdocs.yml.

    Every rebuild is indexed for search too, so the search page works in the preview. A
    rebuild renders only changed pages (:mod:`bok.cache`) and lays out only the pages whose
    staged file changed, unless the navigation or mkdocs.yml changed.
    """
    from mkdocs.commands import serve as mkdocs_serve
    docs_dir: dict = _docs_dir(root, drafts)
    _load_config(root, **docs_dir)
    _check_address(address)  # before the first build, which takes minutes in a big book
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
    logger = logging.getLogger("mkdocs")
    logger.addHandler(console)
    logger.setLevel(logging.INFO)  # "Serving on http://...", rebuilds, warnings
    quiet = _NotDirtyWarning()
    logging.getLogger("mkdocs.commands.build").addFilter(quiet)
    try:
        with _environment(drafts, True), _mkdocs_errors():
            # dirty: a rebuild lays out only the pages whose staged file changed (the plugin
            # makes it a full one when the navigation or mkdocs.yml changed)
            mkdocs_serve.serve(str(root / "mkdocs.yml"), livereload=True, build_type="dirty",
                               dev_addr=address, **docs_dir)
    except OSError as exc:
        raise BokError(f"cannot serve on {address}: {exc.strerror or exc}; "
                       "pass another address with -a IP:PORT") from None
    finally:
        logger.removeHandler(console)
        logging.getLogger("mkdocs.commands.build").removeFilter(quiet)


class _NotDirtyWarning(logging.Filter):
    """MkDocs warns that a dirty build may leave navigation stale; bok's is not (see
    :meth:`bok.plugin.BokPlugin.on_config`), so the warning would only mislead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'dirty' build" not in record.getMessage()


def _check_address(address: str) -> None:
    """Fail now if ``address`` cannot be served on (a port in use, a bad address), the way
    MkDocs' server would bind it (SO_REUSEADDR), then let go of it."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise BokError(f"cannot serve on {address}: expected IP:PORT, such as "
                       "127.0.0.1:8000") from None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, number))
    except (OSError, OverflowError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise BokError(f"cannot serve on {address}: {reason}; "
                       "pass another address with -a IP:PORT") from None
