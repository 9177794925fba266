"""A persistent cache of bok's costly pure results, so a rebuild redoes only what changed.

Four results are cached under ``.bok/cache/``, each keyed by a digest of everything it depends
on, so a changed input is a different key (a miss), never a stale hit:

* ``render``: a page's Markdown rendered and sanitized (:mod:`bok.render`); the key is the
  page's Markdown, its path and URL, every page URL of the site (links resolve against them),
  the extension list and its configuration, and the versions of bok, Markdown, its extensions
  and the sanitizer (plus the source of bok's renderer and sanitizer).
* ``comments``: reviewers' comments rendered and sanitized, by a digest of their text and
  of the code that renders them; one entry for the book.
* ``scan``: what the loader found without problems (:class:`bok.loading.Remembered`): the
  digests of the Markdown bodies neither too costly to render nor unsafe, and the records
  that loaded without a finding; one entry, read once, so a rebuild checks only the files
  that changed. A file with problems is never in it.
* ``signature``: which key made an SSHSIG signature over a record's signed bytes (or why it
  does not verify), by a digest of those bytes and the signature; one entry for the book
  (:class:`CachedSigner`). Whether that key belongs to the
  record's member is decided by :func:`bok.signing.verify_record` on every build, from the
  registry of that build: a changed registry is never answered from the cache.

Each entry is one file whose last line is a digest of its key and value: a truncated,
corrupted or edited entry does not match and is ignored (and rebuilt). The cache is not used
at all when Git tracks anything under ``.bok/`` (a pull request could otherwise ship entries
that say a forged signature verifies, or carry HTML the sanitizer never saw), or when the
folder is a symbolic link. Entries this build did not use are pruned at its end, so the
folder holds one book's worth.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from . import git, sshsig

CACHE = ".bok/cache"
#: Bumped when the format of an entry or of a key changes.
FORMAT = "1"
_PACKAGES = ("bok", "Markdown", "pymdown-extensions", "nh3", "Pygments")


def digest(*parts: str | bytes) -> str:
    """One SHA-256 over ``parts``, each length-prefixed (so ``("ab", "c") != ("a", "bc")``)."""
    h = Digest()
    h.update(*parts)
    return h.hexdigest()


class Digest:
    """:func:`digest`, fed part by part (a book's files, one at a time)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def update(self, *parts: str | bytes) -> None:
        for part in parts:
            data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
            self._h.update(len(data).to_bytes(8, "big"))
            self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def versions(packages: Iterable[str] = _PACKAGES) -> str:
    """The installed versions of ``packages`` (``name=-`` for one that is not installed)."""
    found = []
    for name in packages:
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=-")
    return ";".join(found)


def code_fingerprint(modules: Iterable[Any]) -> str:
    """The versions of the packages that shape a result, and the source of ``modules`` (bok's
    own code may change without a new version number while it is developed)."""
    sources = []
    for module in modules:
        path = getattr(module, "__file__", None)
        try:
            sources.append(Path(path).read_bytes() if path else b"")
        except OSError:
            sources.append(b"")
    return digest(FORMAT, sys.version, versions(), *sources)


def config_fingerprint(value: Any) -> str:
    """A digest of a configuration (extension options). Values JSON cannot write are taken by
    their ``repr``: a function's names its address, so it never matches another run's (a miss,
    not a stale hit)."""
    return digest(json.dumps(value, sort_keys=True, default=repr))


@dataclass
class Cache:
    """The entries under ``folder``; a Cache without a folder misses every time."""

    folder: Path | None
    hits: int = 0
    misses: int = 0
    used: dict[str, set[str]] = field(default_factory=dict)  # kind -> keys got or put

    def get(self, kind: str, key: str) -> Any | None:
        self.used.setdefault(kind, set()).add(key)
        path = self._path(kind, key)
        if path is None:
            self.misses += 1
            return None
        try:
            raw = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        body, _, check = raw.rstrip(b"\n").rpartition(b"\n")
        value = None
        if check.decode("ascii", "replace") == digest(kind, key, body):
            try:
                value = json.loads(body)
            except ValueError:
                value = None
        if value is None:  # damaged: never trusted, rebuilt
            path.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, kind: str, key: str, value: Any) -> None:
        self.used.setdefault(kind, set()).add(key)
        path = self._path(kind, key)
        if path is None:
            return
        body = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(body + b"\n" + digest(kind, key, body).encode() + b"\n")
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only makes the next build slower

    def prune(self, kind: str) -> int:
        """Remove the entries of ``kind`` this cache did not use; return how many."""
        if self.folder is None or not (self.folder / kind).is_dir():
            return 0
        keep = self.used.get(kind, set())
        removed = 0
        for path in (self.folder / kind).glob("*/*"):
            if path.name not in keep:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def _path(self, kind: str, key: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / kind / key[:2] / key


def open_cache(root: Path) -> Cache:
    """The book's cache, or a disabled one when it cannot be trusted (see the module's text)."""
    folder = root / CACHE
    for part in (root / ".bok", folder):
        if part.is_symlink() or (part.exists() and not part.is_dir()):
            return Cache(None)
    if git.tracks_anything_under(root, ".bok"):
        return Cache(None)
    return Cache(folder)


# --- signatures -------------------------------------------------------------------------


#: Given a record's signed bytes and its armored signature: the signing key's fingerprint;
#: raises :class:`bok.sshsig.SignatureError` when the signature does not verify.
Signer = Callable[[bytes, str], str]


def verify_signature(message: bytes, armored: str) -> str:
    """The fingerprint of the key that signed ``message`` (uncached)."""
    return sshsig.verify(message, armored).fingerprint


class CachedSigner:
    """:func:`verify_signature`, answered from one ``signature`` entry that holds every result
    of the last build (read once: a book has thousands of records); :meth:`save` keeps this
    build's results, and only those, for the next."""

    KEY = "all"

    def __init__(self, cache: Cache):
        self.cache = cache
        self.context = code_fingerprint([sshsig])  # a fixed verifier is a different key
        found = cache.get("signature", self.KEY)
        self.known: dict[str, Any] = found if isinstance(found, dict) else {}
        self.used: dict[str, Any] = {}

    def __call__(self, message: bytes, armored: str) -> str:
        key = digest(self.context, sshsig.NAMESPACE, message, armored)
        found = self.known.get(key)
        if isinstance(found, dict) and isinstance(found.get("fingerprint"), str):
            self.used[key] = found
            return found["fingerprint"]
        if isinstance(found, dict) and isinstance(found.get("error"), str):
            self.used[key] = found
            raise sshsig.SignatureError(found["error"])
        try:
            fingerprint = verify_signature(message, armored)
        except sshsig.SignatureError as exc:
            self.used[key] = {"error": str(exc)}
            raise
        self.used[key] = {"fingerprint": fingerprint}
        return fingerprint

    def save(self) -> None:
        if self.used != self.known:
            self.cache.put("signature", self.KEY, self.used)
        self.cache.prune("signature")
