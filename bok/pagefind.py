"""The Pagefind client: the search index of the site, built while the engine lays it out.

Pagefind (https://pagefind.app) splits its index into small chunks, so a reader's first query
downloads about 200 KB whatever the size of the book. bok talks to it as a service, feeding it
each chapter page's finished HTML; see :class:`SearchIndex`.

The index is built by :class:`SearchBuild` on a thread of its own, from the start of a build:
Pagefind first gets the last build's pages of the chapters whose sources did not change, then
each page as bok composes it, a page added again under the same URL replacing the earlier
one. When no indexed page changed, the previous site's index is copied instead, once its files
are checked against the digests recorded when they were written.

Why one index, not parts rebuilt one at a time: Pagefind drops a query word that no page of
an index has, or replaces it by the longest indexed word it starts with (``find_word_extensions``
in ``pagefind_web/src/search.rs``). Merged parts (``mergeIndex``) would each answer a rare
word with unrelated pages of their own, so a reader's search of a big book would get worse.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import IO, cast

from . import cache as caching
from .errors import BokError

#: The folder of the search index in the site.
FOLDER = "pagefind/"


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


#: What an index is recorded as, for the next build: (digest of what it was built from,
#: digest of the files Pagefind wrote).
Recorded = tuple[str, str]


def _input_digest(pages: dict[str, str], language: str) -> str:
    h = caching.Digest()
    h.update(_pagefind_binary(), language, _VERSION)
    for url in sorted(pages):
        h.update(url, pages[url])
    return h.hexdigest()


def _files_digest(folder: Path) -> str | None:
    """A digest of every file under ``folder`` (names and bytes); None if it is not a real
    folder of regular files."""
    if folder.is_symlink() or not folder.is_dir():
        return None
    h = caching.Digest()
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            return None
        if path.is_file():
            h.update(path.relative_to(folder).as_posix(), path.read_bytes())
    return h.hexdigest()


#: Bumped when the way bok feeds Pagefind changes (a new configuration, other pages).
_VERSION = "1"

#: The previous build's indexed pages: URL -> (chapter path, digest of the chapter's sources,
#: HTML), so the next build can index the pages whose sources did not change at once.
Earlier = dict[str, tuple[str, str, str]]
#: The digest of a chapter's sources (its file and its records), by chapter path.
Sources = Callable[[str], str]


class SearchBuild:
    """The site's search index (``pagefind/``), built on a thread of its own while bok stages
    the book and the engine lays it out.

    Pages come in as bok composes them (:meth:`add`, then :meth:`done`). Pagefind's cost grows
    with the words it indexes (about 5 µs a word here: 8 s for 3,000 chapters), so it should
    start as early as possible: the previous build's page of each chapter whose sources (its
    file and its records, ``sources``) did not change since (``earlier``) is fed to Pagefind
    at once, before staging decides it. Each guess is then checked against the page staging
    makes: one that differs is fed again, and Pagefind puts it in the place of the guess (a
    page added again under the same URL replaces it: ``fossick_one`` in Pagefind's
    ``lib.rs``); if a guessed page is gone, which Pagefind cannot drop, everything is
    indexed again from the pages themselves. What is written is always the index of exactly
    the pages added.

    When the pages, the language and Pagefind are those the index of the site being replaced
    (``previous``) was built from, as ``recorded`` then, and its files still have the digest
    recorded, that index is copied instead. The index is written to a folder beside the site
    and moved into it by :meth:`finish`, once the engine has written the site.
    :attr:`recorded` and :attr:`inputs` are what this build indexed, for the next one.
    """

    def __init__(self, site: Path, language: str, previous: Path | None = None,
                 recorded: Recorded | None = None, earlier: Earlier | None = None,
                 sources: Sources | None = None,
                 keep: Callable[[Earlier], None] | None = None) -> None:
        self.site, self.language = site, language
        self.previous, self.before = previous, recorded
        self.earlier, self.sources, self.keep = dict(earlier or {}), sources, keep
        self.recorded: Recorded | None = None
        self.inputs: Earlier = {}
        self.reused = False
        self.guessed = 0  # pages fed before staging decided them
        self.replaced = 0  # guesses staging made otherwise: fed again, in their place
        self.indexed_twice = False  # a guessed page was gone: everything was indexed again
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._out = site.parent / f".{site.name}.search-{os.getpid()}-{id(self):x}"
        self._error: BokError | None = None
        self._index: SearchIndex | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="bok-search", daemon=True)

    def start(self) -> SearchBuild:
        self._thread.start()
        return self

    def add(self, url: str, html: str, chapter: str | None = None) -> None:
        """A page of the site to index (``url`` from the site's root), as bok staged it."""
        self._queue.put((url, html, chapter))

    def done(self) -> SearchBuild:
        """Every page is added: the index can be written."""
        self._queue.put(None)
        return self

    def finish(self) -> None:
        """Wait until the index is written, then move it into the site; raise if it
        failed."""
        self._thread.join()
        try:
            if self._error is not None:
                raise self._error
            target = self.site / FOLDER
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.is_dir():
                shutil.rmtree(target)
            os.replace(self._out, target)
        finally:
            shutil.rmtree(self._out, ignore_errors=True)

    def close(self) -> None:
        """Stop indexing (a newer preview build, or a failed build); never leaves Pagefind
        running."""
        self._stopping.set()
        self._queue.put(None)
        with self._lock:
            index = self._index
        if index is not None:
            index.close()
        if self._thread.is_alive():
            self._thread.join()
        shutil.rmtree(self._out, ignore_errors=True)

    def _run(self) -> None:
        try:
            self._build()
        except BokError as exc:
            self._error = exc
        except OSError as exc:
            self._error = BokError(f"Pagefind could not index the site for search: {exc}")
        finally:
            with self._lock:
                index, self._index = self._index, None
            if index is not None:
                index.close()

    def _feed(self, url: str, html: str) -> None:
        with self._lock:
            if self._stopping.is_set():
                raise BokError("Pagefind was stopped before the index was written")
            if self._index is None:
                self._index = SearchIndex()
            index = self._index
        index.add_page(url, html, self.language)

    def _build(self) -> None:
        fed: dict[str, str] = {}
        # the digests of the sources, taken before the book is loaded: if a file changes
        # meanwhile, the next build finds it changed (it never guesses from newer bytes)
        digests: dict[str, str] = {}
        if self.sources is not None:
            for url, (chapter, digest, html) in self.earlier.items():
                if self._stopping.is_set():
                    break
                digests[chapter] = self.sources(chapter)
                if digests[chapter] == digest:
                    self._feed(url, html)
                    fed[url] = html
        self.guessed = len(fed)
        pages: dict[str, str] = {}
        chapters: dict[str, str | None] = {}
        while (item := self._queue.get()) is not None:
            url, html, chapter = item
            pages[url], chapters[url] = html, chapter
            if fed.get(url) != html:  # new, or a wrong guess, which it replaces
                self.replaced += url in fed
                self._feed(url, html)
                fed[url] = html
        if self._stopping.is_set():
            raise BokError("Pagefind was stopped before the index was written")
        wrong = not set(fed) <= set(pages)  # a guessed page is gone: Pagefind cannot drop it
        key = _input_digest(pages, self.language)
        if not self._reuse(key):
            with self._lock:
                index, self._index = self._index, None
            if wrong and index is not None:  # a guessed page is gone: index the real pages
                index.close()
                index, self.indexed_twice = None, True
            if index is None:
                with self._lock:
                    self._index = index = SearchIndex()
                if wrong:
                    for url, html in pages.items():
                        index.add_page(url, html, self.language)
            with self._lock:
                self._index = index
            index.write(self._out)
            self._remember(chapters, pages, digests)  # while Pagefind writes
            index.finish()
            written = _files_digest(self._out)
            self.recorded = (key, written) if written is not None else None
        else:
            self._remember(chapters, pages, digests)

    def _remember(self, chapters: dict[str, str | None], pages: dict[str, str],
                  digests: dict[str, str]) -> None:
        """What the next build may start from (:attr:`inputs`)."""
        if self.sources is None:
            return
        for url, chapter in chapters.items():
            if chapter is not None:
                digest = digests.get(chapter) or self.sources(chapter)
                self.inputs[url] = (chapter, digest, pages[url])
        if self.keep is not None:  # the next build checks every guess: kept even if this fails
            self.keep(self.inputs)

    def _reuse(self, key: str) -> bool:
        """Take the previous site's index if it was built from these pages."""
        if self.previous is None or self.before is None or self.before[0] != key:
            return False
        source = self.previous / FOLDER
        if _files_digest(source) != self.before[1]:
            return False
        shutil.copytree(source, self._out, copy_function=shutil.copyfile)
        self.recorded, self.reused = self.before, True
        return True
