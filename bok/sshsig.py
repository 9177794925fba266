"""SSHSIG signatures (OpenSSH ``PROTOCOL.sshsig``): sign with ssh-keygen, verify in-process.

Reviews are signed with the reviewer's existing SSH key, so nobody has to manage a new kind
of key. Signing shells out to ``ssh-keygen -Y sign`` so that ssh-agent, passphrases and
hardware-backed keys keep working exactly as they do for ``git commit -S``. Verification is
done in-process with ``cryptography``, so checking a book never depends on which OpenSSH (if
any) is installed on the machine that builds it.

Signatures use bok's own namespace (:data:`NAMESPACE`), never ``"git"``: a signature made for a
Git commit or tag must not be replayable as a review approval, and vice versa.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import os
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_ssh_public_key,
)

__all__ = [
    "NAMESPACE",
    "PublicKey",
    "SignatureError",
    "parse_public_key",
    "public_key_of",
    "sign",
    "verify",
]

NAMESPACE = "bok-review"
"""bok's SSHSIG namespace; keeps review signatures apart from Git ("git") and file signatures."""

_MAGIC = b"SSHSIG"
_VERSION = 1
_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_END = "-----END SSH SIGNATURE-----"

_HASHES = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}

_ED25519 = "ssh-ed25519"
_RSA = "ssh-rsa"
# ECDSA key type -> (expected cryptography curve, hash used by the signature algorithm; RFC 5656)
_ECDSA: dict[str, tuple[type[ec.EllipticCurve], type[hashes.HashAlgorithm]]] = {
    "ecdsa-sha2-nistp256": (ec.SECP256R1, hashes.SHA256),
    "ecdsa-sha2-nistp384": (ec.SECP384R1, hashes.SHA384),
    "ecdsa-sha2-nistp521": (ec.SECP521R1, hashes.SHA512),
}
# RSA signature format -> hash (RFC 8332). Plain "ssh-rsa" (SHA-1) is deliberately absent.
_RSA_SIG_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "rsa-sha2-256": hashes.SHA256,
    "rsa-sha2-512": hashes.SHA512,
}
_KEY_TYPES = frozenset({_ED25519, _RSA, *_ECDSA})
_SK_TYPES = frozenset({"sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"})
_SK_ADVICE = (
    "security keys (FIDO/U2F) are not supported yet; "
    "register an ed25519 key instead (ssh-keygen -t ed25519)"
)


class SignatureError(Exception):
    """A signature could not be made or is not valid; the message is meant for humans."""


@dataclass(frozen=True)
class PublicKey:
    """An SSH public key as bok stores it: type, wire-format blob, and a free-form comment.

    Equality ignores the comment, so a key found in a signature compares equal to the same key
    registered for a member under any comment.
    """

    key_type: str
    blob: bytes
    comment: str = field(default="", compare=False)

    @functools.cached_property
    def fingerprint(self) -> str:
        """``SHA256:...`` fingerprint, identical to what ``ssh-keygen -l`` prints."""
        digest = hashlib.sha256(self.blob).digest()
        return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")

    @property
    def openssh(self) -> str:
        """The key as one ``authorized_keys``/``.pub`` style line (comment included if any)."""
        line = f"{self.key_type} {base64.b64encode(self.blob).decode('ascii')}"
        return f"{line} {self.comment}" if self.comment else line

    def __str__(self) -> str:
        return self.openssh


class _Truncated(Exception):
    """Internal: a wire-format field ran past the end of its buffer or was malformed."""


class _Reader:
    """Bounds-checked reader for SSH wire encoding (RFC 4251 section 5)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise _Truncated("data ends early")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def uint32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def string(self) -> bytes:
        return self.take(self.uint32())

    def text(self) -> str:
        raw = self.string()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _Truncated("text field is not UTF-8") from exc

    def mpint(self) -> int:
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise _Truncated("negative integer")
        if len(raw) > 1 and raw[0] == 0 and not raw[1] & 0x80:
            raise _Truncated("integer is not minimally encoded")
        return int.from_bytes(raw, "big")

    def done(self) -> None:
        if self._pos != len(self._data):
            raise _Truncated("unexpected trailing data")


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


@functools.lru_cache(maxsize=1024)  # a book has few keys and many signatures
def _load_key(key_type: str, blob: bytes) -> object:
    """Validate ``blob`` as a canonical key of ``key_type``; return the cryptography key.

    Raises ValueError. The re-serialisation check matters: cryptography accepts non-minimal
    integers (e.g. an RSA exponent with leading zero bytes), and two different blobs must never
    stand for the same key, or the fingerprint a member registered would not identify the key
    that signed.
    """
    try:
        inner_type = _Reader(blob).text()
    except _Truncated as exc:
        raise ValueError(f"{key_type} key data is truncated or malformed") from exc
    if inner_type != key_type:
        raise ValueError(f"key says it is {key_type} but its data is {inner_type!r}")
    line = f"{key_type} {base64.b64encode(blob).decode('ascii')}".encode("ascii")
    try:
        key = load_ssh_public_key(line)
    except (ValueError, UnsupportedAlgorithm, NotImplementedError) as exc:
        # NotImplementedError: cryptography's answer to compressed EC points.
        reason = str(exc) or type(exc).__name__
        raise ValueError(f"not a valid {key_type} public key ({reason})") from exc
    if key_type == _ED25519:
        ok = isinstance(key, ed25519.Ed25519PublicKey)
    elif key_type == _RSA:
        ok = isinstance(key, rsa.RSAPublicKey)
    else:
        ok = isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
            key.curve, _ECDSA[key_type][0]
        )
    if not ok:
        raise ValueError(f"key data does not match key type {key_type}")
    canonical = key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).split()[1]
    if base64.b64decode(canonical) != blob:
        raise ValueError(f"{key_type} key data is not canonically encoded")
    return key


def _check_key_type(key_type: str) -> None:
    if key_type in _SK_TYPES:
        raise ValueError(f"{key_type}: {_SK_ADVICE}")
    if key_type not in _KEY_TYPES:
        supported = ", ".join(sorted(_KEY_TYPES))
        raise ValueError(f"unsupported SSH key type {key_type!r} (supported: {supported})")


def parse_public_key(line: str) -> PublicKey:
    """Parse one ``<type> <base64> [comment]`` line, as found in ``~/.ssh/id_*.pub``.

    Rejects anything cryptography cannot load, DSA, certificates and (for now) security keys,
    so that every registered key is one :func:`verify` can actually check.
    """
    text = line.strip()
    if not text:
        raise ValueError("not an SSH public key: the line is empty")
    if "\n" in text or "\r" in text:
        raise ValueError("not an SSH public key: expected a single line")
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise ValueError("not an SSH public key: expected '<type> <base64 key> [comment]'")
    key_type, encoded = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) == 3 else ""
    _check_key_type(key_type)
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not an SSH public key: {key_type} key data is not base64") from exc
    _load_key(key_type, blob)
    return PublicKey(key_type=key_type, blob=blob, comment=comment)


def _dearmor(armored: str | bytes) -> bytes:
    if isinstance(armored, bytes):
        try:
            armored = armored.decode("ascii")
        except UnicodeDecodeError as exc:
            raise SignatureError("signature is not armored SSHSIG (not ASCII text)") from exc
    if not isinstance(armored, str):
        raise SignatureError("signature is not armored SSHSIG (not text)")
    lines = [ln.strip() for ln in armored.strip().splitlines()]
    if not lines:
        raise SignatureError("signature is empty")
    if len(lines) < 2 or lines[0] != _BEGIN or lines[-1] != _END:
        raise SignatureError("signature is not armored SSHSIG")
    body = "".join(lines[1:-1])
    if not body:
        raise SignatureError("signature is empty (nothing between the armor lines)")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("signature is not valid base64") from exc


def _mismatch(sig_format: str, key_type: str) -> SignatureError:
    return SignatureError(f"signature algorithm {sig_format!r} does not match {key_type} key")


def _verify_raw(key: object, key_type: str, sig_blob: bytes, signed: bytes) -> None:
    """Check one SSH signature blob (string format, string bytes) over ``signed``."""
    reader = _Reader(sig_blob)
    sig_format = reader.text()
    sig = reader.string()
    reader.done()
    if key_type == _ED25519:
        if sig_format != _ED25519:
            raise _mismatch(sig_format, key_type)
        if len(sig) != 64:
            raise SignatureError("signature does not match the content")
        assert isinstance(key, ed25519.Ed25519PublicKey)
        key.verify(sig, signed)
    elif key_type in _ECDSA:
        if sig_format != key_type:
            raise _mismatch(sig_format, key_type)
        inner = _Reader(sig)
        r, s = inner.mpint(), inner.mpint()
        inner.done()
        assert isinstance(key, ec.EllipticCurvePublicKey)
        key.verify(encode_dss_signature(r, s), signed, ec.ECDSA(_ECDSA[key_type][1]()))
    else:
        if sig_format == _RSA:
            raise SignatureError(
                "RSA signatures with SHA-1 (ssh-rsa) are not accepted; "
                "sign with a current OpenSSH (rsa-sha2-256/512) or an ed25519 key"
            )
        if sig_format not in _RSA_SIG_HASHES:
            raise _mismatch(sig_format, key_type)
        assert isinstance(key, rsa.RSAPublicKey)
        size = (key.key_size + 7) // 8
        if len(sig) > size:
            raise SignatureError("signature does not match the content")
        # OpenSSH left-pads short RSA signatures to the modulus length before checking.
        sig = sig.rjust(size, b"\0")
        key.verify(sig, signed, padding.PKCS1v15(), _RSA_SIG_HASHES[sig_format]())


def verify(message: bytes, armored: str, namespace: str = NAMESPACE) -> PublicKey:
    """Check an armored SSHSIG signature over ``message``; return the key that made it.

    Only proves the signature is internally valid for *some* key: the caller must still check
    that the returned key is one registered to the person claimed to have signed.
    Raises SignatureError, with a human-readable reason, for anything that is not a valid
    signature under ``namespace``.
    """
    if not namespace:
        raise ValueError("namespace must not be empty")
    data = _dearmor(armored)
    try:
        reader = _Reader(data)
        if reader.take(len(_MAGIC)) != _MAGIC:
            raise SignatureError("signature does not start with the SSHSIG magic preamble")
        version = reader.uint32()
        if version != _VERSION:
            raise SignatureError(f"unsupported SSHSIG version {version} (expected {_VERSION})")
        key_blob = reader.string()
        got_namespace = reader.text()
        reader.string()  # reserved: ignored, as OpenSSH does (see signed data below)
        hash_alg = reader.text()
        sig_blob = reader.string()
        reader.done()
    except _Truncated as exc:
        raise SignatureError(f"signature is truncated or malformed ({exc})") from exc

    if got_namespace != namespace:
        raise SignatureError(
            f"signature was made under namespace {got_namespace!r}, expected {namespace!r}"
        )
    if hash_alg not in _HASHES:
        raise SignatureError(f"unsupported hash algorithm {hash_alg!r} (expected sha256 or sha512)")

    try:
        key_type = _Reader(key_blob).text()
    except _Truncated as exc:
        raise SignatureError("signature contains a malformed public key") from exc
    if key_type in _SK_TYPES:
        raise SignatureError(f"key type {key_type} is not supported ({_SK_ADVICE})")
    if key_type not in _KEY_TYPES:
        raise SignatureError(f"key type {key_type} is not supported")
    try:
        key = _load_key(key_type, key_blob)
    except ValueError as exc:
        raise SignatureError(f"signature contains an invalid public key: {exc}") from exc

    # Like OpenSSH's sshsig_wrap_verify: the expected namespace and an *empty* reserved field
    # are what is signed; a non-empty reserved field in the blob is ignored (PROTOCOL.sshsig).
    signed = (
        _MAGIC
        + _string(namespace.encode("utf-8"))
        + _string(b"")
        + _string(hash_alg.encode("ascii"))
        + _string(_HASHES[hash_alg](message).digest())
    )
    try:
        _verify_raw(key, key_type, sig_blob, signed)
    except _Truncated as exc:
        raise SignatureError(f"signature is truncated or malformed ({exc})") from exc
    except (InvalidSignature, ValueError, OverflowError) as exc:
        raise SignatureError("signature does not match the content") from exc
    return PublicKey(key_type=key_type, blob=key_blob)


def _summarise(stderr: bytes, returncode: int) -> str:
    noise = ("Signing data on standard input", "Signing file -")
    text = stderr.decode("utf-8", "replace").replace("Enter passphrase:", "")  # the prompt
    lines = [
        ln.strip()
        for ln in text.splitlines()
        if ln.strip() and not ln.strip().startswith(noise)
    ]
    text = "; ".join(lines) or f"exit status {returncode}"
    return text if len(text) <= 500 else text[:497] + "..."


def _run_ssh_keygen(args: list[str], stdin: bytes | None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["ssh-keygen", *args],
            input=stdin,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SignatureError(
            "ssh-keygen not found: install the OpenSSH client tools to sign reviews"
        ) from exc
    except OSError as exc:
        raise SignatureError(f"could not run ssh-keygen: {exc}") from exc


def sign(message: bytes, key_file: str | os.PathLike[str], namespace: str = NAMESPACE) -> str:
    """Sign ``message`` with ``ssh-keygen -Y sign``; return the armored signature.

    Going through ssh-keygen (rather than reading the private key here) means ssh-agent,
    passphrase prompts and hardware-backed keys all work, and bok never touches key material.
    ``key_file`` may be the private key or its ``.pub`` when an agent holds the private half.
    The result is verified in-process before being returned, so a signature bok would later
    reject (e.g. from an unsupported key type) fails now, with the reason.
    """
    if not namespace:
        raise ValueError("namespace must not be empty")
    path = os.fspath(key_file)
    proc = _run_ssh_keygen(["-Y", "sign", "-n", namespace, "-f", path], stdin=message)
    if proc.returncode != 0:
        raise SignatureError(
            f"ssh-keygen could not sign with {path}: {_summarise(proc.stderr, proc.returncode)}"
        )
    armored = proc.stdout.decode("ascii", "replace")
    try:
        verify(message, armored, namespace)
    except SignatureError as exc:
        raise SignatureError(f"signature made with {path} cannot be used: {exc}") from exc
    return armored


def public_key_of(key_file: str | os.PathLike[str]) -> PublicKey:
    """Return the public key for ``key_file`` (a private key path or its ``.pub``).

    Reads ``KEY.pub`` when present (no passphrase needed); otherwise asks
    ``ssh-keygen -y -f KEY``. Any failure, including an unsupported key type, raises
    SignatureError so callers handle "cannot sign with this key" in one place.
    """
    path = Path(key_file)
    pub = path if path.name.endswith(".pub") else path.with_name(path.name + ".pub")
    if pub.is_file():
        try:
            text = pub.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SignatureError(f"cannot read {pub}: {exc}") from exc
        source = str(pub)
    elif pub == path:
        raise SignatureError(f"{pub}: no such public key file")
    else:
        proc = _run_ssh_keygen(["-y", "-f", os.fspath(path)], stdin=None)
        if proc.returncode != 0:
            raise SignatureError(
                f"cannot read the public key of {path}: {_summarise(proc.stderr, proc.returncode)}"
            )
        text = proc.stdout.decode("utf-8", "replace")
        source = str(path)
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if len(lines) != 1:
        raise SignatureError(f"{source}: expected exactly one public key line")
    try:
        return parse_public_key(lines[0])
    except ValueError as exc:
        raise SignatureError(f"{source}: {exc}") from exc
