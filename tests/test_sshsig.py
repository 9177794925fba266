"""Tests for bok.sshsig against real keys and the real ssh-keygen.

The test-side SSHSIG encoder/decoder below is deliberately independent of bok.sshsig so that
crafted signatures exercise the parser rather than mirror it.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_ssh_private_key

from bok import sshsig
from bok.sshsig import NAMESPACE, PublicKey, SignatureError, parse_public_key, verify

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")

KEY_SPECS = {
    "ed25519": (["-t", "ed25519"], "ssh-ed25519"),
    "ecdsa256": (["-t", "ecdsa", "-b", "256"], "ecdsa-sha2-nistp256"),
    "ecdsa384": (["-t", "ecdsa", "-b", "384"], "ecdsa-sha2-nistp384"),
    "ecdsa521": (["-t", "ecdsa", "-b", "521"], "ecdsa-sha2-nistp521"),
    "rsa": (["-t", "rsa", "-b", "2048"], "ssh-rsa"),
}
KINDS = list(KEY_SPECS)
MESSAGE = b"chapter: intro\nrevision: 0123456789abcdef\nverdict: approve\n"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One private key per supported type (``.pub`` alongside), generated once per module."""
    base = tmp_path_factory.mktemp("keys")
    out = {}
    for kind, (args, _) in KEY_SPECS.items():
        path = base / f"id_{kind}"
        subprocess.run(
            ["ssh-keygen", "-q", *args, "-N", "", "-C", f"{kind}@test", "-f", str(path)],
            check=True,
            capture_output=True,
        )
        out[kind] = path
    return out


# --- test-side helpers -------------------------------------------------------------------


def ssh_keygen_sign(key: Path, message: bytes, namespace: str, *opts: str) -> str:
    proc = subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-n", namespace, *opts, "-f", str(key)],
        input=message,
        capture_output=True,
        check=True,
    )
    return proc.stdout.decode("ascii")


def ssh_keygen_verify(
    tmp_path: Path, pub_line: str, message: bytes, armored: str, namespace: str = NAMESPACE
) -> subprocess.CompletedProcess[bytes]:
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"reviewer@test {pub_line}\n")
    sig = tmp_path / "msg.sig"
    sig.write_text(armored)
    return subprocess.run(
        [
            "ssh-keygen",
            "-Y",
            "verify",
            "-f",
            str(allowed),
            "-I",
            "reviewer@test",
            "-n",
            namespace,
            "-s",
            str(sig),
        ],
        input=message,
        capture_output=True,
        check=False,
    )


def pub_line(key: Path) -> str:
    return Path(f"{key}.pub").read_text().strip()


def sstr(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def read_str(data: bytes, pos: int) -> tuple[bytes, int]:
    (n,) = struct.unpack(">I", data[pos : pos + 4])
    return data[pos + 4 : pos + 4 + n], pos + 4 + n


def unarmor(armored: str) -> bytes:
    lines = armored.strip().splitlines()
    assert lines[0] == "-----BEGIN SSH SIGNATURE-----"
    assert lines[-1] == "-----END SSH SIGNATURE-----"
    return base64.b64decode("".join(lines[1:-1]))


def armor(blob: bytes) -> str:
    body = base64.b64encode(blob).decode("ascii")
    wrapped = "\n".join(body[i : i + 70] for i in range(0, len(body), 70))
    return f"-----BEGIN SSH SIGNATURE-----\n{wrapped}\n-----END SSH SIGNATURE-----\n"


def decode(blob: bytes) -> dict[str, bytes | int]:
    assert blob[:6] == b"SSHSIG"
    (version,) = struct.unpack(">I", blob[6:10])
    pos = 10
    fields: dict[str, bytes | int] = {"magic": b"SSHSIG", "version": version}
    for name in ("publickey", "namespace", "reserved", "hash", "signature"):
        fields[name], pos = read_str(blob, pos)
    assert pos == len(blob)
    return fields


def encode(fields: dict[str, bytes | int]) -> bytes:
    out = bytes(fields["magic"]) + struct.pack(">I", int(fields["version"]))
    for name in ("publickey", "namespace", "reserved", "hash", "signature"):
        out += sstr(bytes(fields[name]))
    return out


def craft(armored: str, **changes: bytes | int) -> str:
    fields = decode(unarmor(armored))
    fields.update(changes)
    return armor(encode(fields))


# --- sign + verify -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_sign_then_verify_in_process(keys: dict[str, Path], kind: str) -> None:
    armored = sshsig.sign(MESSAGE, keys[kind])
    assert armored.startswith("-----BEGIN SSH SIGNATURE-----\n")
    assert decode(unarmor(armored))["namespace"] == b"bok-review"
    signer = verify(MESSAGE, armored)
    expected = parse_public_key(pub_line(keys[kind]))
    assert signer == expected
    assert signer.key_type == KEY_SPECS[kind][1]
    assert signer.blob == expected.blob
    assert signer.fingerprint == expected.fingerprint


@pytest.mark.parametrize("hash_alg", ["sha256", "sha512"])
@pytest.mark.parametrize("kind", KINDS)
def test_ssh_keygen_signature_verifies_in_process(
    keys: dict[str, Path], kind: str, hash_alg: str
) -> None:
    armored = ssh_keygen_sign(keys[kind], MESSAGE, NAMESPACE, "-O", f"hashalg={hash_alg}")
    assert decode(unarmor(armored))["hash"] == hash_alg.encode()
    signer = verify(MESSAGE, armored)
    assert signer.blob == parse_public_key(pub_line(keys[kind])).blob


@pytest.mark.parametrize("kind", KINDS)
def test_sign_output_verifies_with_ssh_keygen(
    keys: dict[str, Path], kind: str, tmp_path: Path
) -> None:
    armored = sshsig.sign(MESSAGE, keys[kind])
    ok = ssh_keygen_verify(tmp_path, pub_line(keys[kind]), MESSAGE, armored)
    assert ok.returncode == 0, ok.stderr.decode()
    # Negative control: the harness really detects a bad signature.
    bad = ssh_keygen_verify(tmp_path, pub_line(keys[kind]), MESSAGE + b"x", armored)
    assert bad.returncode != 0


@pytest.mark.parametrize("kind", KINDS)
def test_tampered_message_fails(keys: dict[str, Path], kind: str) -> None:
    armored = sshsig.sign(MESSAGE, keys[kind])
    with pytest.raises(SignatureError, match="does not match the content"):
        verify(MESSAGE.replace(b"approve", b"reject!"), armored)
    with pytest.raises(SignatureError, match="does not match the content"):
        verify(b"", armored)


def test_sign_accepts_pub_path_and_custom_namespace(keys: dict[str, Path]) -> None:
    armored = sshsig.sign(MESSAGE, Path(f"{keys['ed25519']}.pub"), namespace="other-ns")
    assert verify(MESSAGE, armored, namespace="other-ns").key_type == "ssh-ed25519"
    with pytest.raises(SignatureError, match="namespace 'other-ns', expected 'bok-review'"):
        verify(MESSAGE, armored)


def test_git_namespace_signature_is_refused(keys: dict[str, Path]) -> None:
    armored = ssh_keygen_sign(keys["ed25519"], MESSAGE, "git")
    with pytest.raises(SignatureError) as info:
        verify(MESSAGE, armored)
    assert "namespace 'git'" in str(info.value)
    assert "'bok-review'" in str(info.value)
    # The same signature is fine where "git" is what was asked for.
    assert verify(MESSAGE, armored, namespace="git").key_type == "ssh-ed25519"


def test_namespace_is_bound_by_the_signature(keys: dict[str, Path]) -> None:
    # Relabelling a "git" signature as bok-review must not make it valid.
    armored = craft(ssh_keygen_sign(keys["ed25519"], MESSAGE, "git"), namespace=b"bok-review")
    with pytest.raises(SignatureError, match="does not match the content"):
        verify(MESSAGE, armored)


def test_sign_failure_reports_ssh_keygen_stderr(tmp_path: Path) -> None:
    with pytest.raises(SignatureError) as info:
        sshsig.sign(MESSAGE, tmp_path / "no_such_key")
    text = str(info.value)
    assert "no_such_key" in text
    assert "No such file" in text
    assert "Signing data on standard input" not in text


def test_sign_rejects_output_it_cannot_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A misbehaving ssh-keygen (exit 0, unusable output) must not yield a "signature".
    fake = tmp_path / "bin" / "ssh-keygen"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\ncat >/dev/null\necho 'not a signature'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(fake.parent))
    with pytest.raises(SignatureError, match="cannot be used: signature is not armored"):
        sshsig.sign(MESSAGE, tmp_path / "id_any")


def test_sign_without_ssh_keygen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SignatureError, match="ssh-keygen not found"):
        sshsig.sign(MESSAGE, tmp_path / "id_any")
    with pytest.raises(SignatureError, match="ssh-keygen not found"):
        sshsig.public_key_of(tmp_path / "id_any")


# --- malformed signatures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("armored", "match"),
    [
        ("", "empty"),
        ("  \n\t\n", "empty"),
        ("-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n", "empty"),
        ("hello", "not armored SSHSIG"),
        ("-----BEGIN PGP SIGNATURE-----\nAAAA\n-----END PGP SIGNATURE-----\n", "not armored"),
        ("-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n", "not armored"),
        ("-----BEGIN SSH SIGNATURE-----\n!!!!****\n-----END SSH SIGNATURE-----", "base64"),
        ("-----BEGIN SSH SIGNATURE-----\nU1NIU0lHA\n-----END SSH SIGNATURE-----", "base64"),
        (armor(b"NOTSIG\0\0\0\1"), "magic"),
        (armor(b"SSHSIG"), "truncated"),
        (armor(b"SSHSIG\0\0\0\1\xff\xff\xff\xff"), "truncated"),
    ],
)
def test_garbage_signatures_raise_signature_error(armored: str, match: str) -> None:
    with pytest.raises(SignatureError, match=match):
        verify(MESSAGE, armored)


def test_bytes_signature_is_handled(keys: dict[str, Path]) -> None:
    armored = sshsig.sign(MESSAGE, keys["ed25519"])
    assert verify(MESSAGE, armored.encode("ascii")).key_type == "ssh-ed25519"
    with pytest.raises(SignatureError, match="not ASCII"):
        verify(MESSAGE, b"\xff\xfe")


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa256", "rsa"])
def test_every_truncation_raises_signature_error(keys: dict[str, Path], kind: str) -> None:
    armored = sshsig.sign(MESSAGE, keys[kind])
    blob = unarmor(armored)
    for n in range(len(blob)):
        with pytest.raises(SignatureError):
            verify(MESSAGE, armor(blob[:n]))
    # Truncating the armored text itself (e.g. a copy-paste accident).
    for n in range(0, len(armored) - 1, 7):
        with pytest.raises(SignatureError):
            verify(MESSAGE, armored[:n])


@pytest.mark.parametrize("kind", KINDS)
def test_every_single_byte_corruption_raises_signature_error(
    keys: dict[str, Path], kind: str
) -> None:
    armored = sshsig.sign(MESSAGE, keys[kind])
    blob = unarmor(armored)
    for i in range(len(blob)):
        for flip in (0x01, 0x80):
            corrupt = blob[:i] + bytes([blob[i] ^ flip]) + blob[i + 1 :]
            with pytest.raises(SignatureError):
                verify(MESSAGE, armor(corrupt))


def test_trailing_data_is_rejected(keys: dict[str, Path]) -> None:
    armored = sshsig.sign(MESSAGE, keys["ed25519"])
    with pytest.raises(SignatureError, match="trailing data"):
        verify(MESSAGE, armor(unarmor(armored) + b"\0"))
    fields = decode(unarmor(armored))
    with pytest.raises(SignatureError, match="trailing data"):
        verify(MESSAGE, craft(armored, signature=bytes(fields["signature"]) + b"\0"))
    with pytest.raises(SignatureError, match="invalid public key"):
        verify(MESSAGE, craft(armored, publickey=bytes(fields["publickey"]) + b"\0"))


def _padded_rsa_blob(keys: dict[str, Path]) -> bytes:
    """The test RSA key, re-encoded with a redundant leading zero in its exponent."""
    blob = parse_public_key(pub_line(keys["rsa"])).blob
    name, pos = read_str(blob, 0)
    e, pos = read_str(blob, pos)
    n, pos = read_str(blob, pos)
    assert pos == len(blob)
    return sstr(name) + sstr(b"\0" + e) + sstr(n)


def test_non_canonical_key_encoding_is_rejected(keys: dict[str, Path]) -> None:
    # Same RSA key, different bytes: it would get a different fingerprint, so refuse it.
    padded = _padded_rsa_blob(keys)
    with pytest.raises(ValueError, match="not canonically encoded"):
        parse_public_key("ssh-rsa " + base64.b64encode(padded).decode())
    armored = craft(sshsig.sign(MESSAGE, keys["rsa"]), publickey=padded)
    with pytest.raises(SignatureError, match="not canonically encoded"):
        verify(MESSAGE, armored)


def test_compressed_ec_point_is_rejected(keys: dict[str, Path]) -> None:
    blob = parse_public_key(pub_line(keys["ecdsa256"])).blob
    name, pos = read_str(blob, 0)
    curve, pos = read_str(blob, pos)
    point, _ = read_str(blob, pos)
    compressed = bytes([2 + (point[-1] & 1)]) + point[1:33]
    bad = sstr(name) + sstr(curve) + sstr(compressed)
    with pytest.raises(ValueError, match="not a valid ecdsa-sha2-nistp256 public key"):
        parse_public_key("ecdsa-sha2-nistp256 " + base64.b64encode(bad).decode())
    armored = craft(sshsig.sign(MESSAGE, keys["ecdsa256"]), publickey=bad)
    with pytest.raises(SignatureError, match="invalid public key"):
        verify(MESSAGE, armored)


def test_wrong_version_and_hash_are_rejected(keys: dict[str, Path]) -> None:
    armored = sshsig.sign(MESSAGE, keys["ed25519"])
    with pytest.raises(SignatureError, match="unsupported SSHSIG version 2"):
        verify(MESSAGE, craft(armored, version=2))
    with pytest.raises(SignatureError, match="magic"):
        verify(MESSAGE, craft(armored, magic=b"SSHSIH"))
    with pytest.raises(SignatureError, match="unsupported hash algorithm 'sha1'"):
        verify(MESSAGE, craft(armored, hash=b"sha1"))


def test_hash_algorithm_is_bound_by_the_signature(keys: dict[str, Path]) -> None:
    armored = ssh_keygen_sign(keys["ed25519"], MESSAGE, NAMESPACE, "-O", "hashalg=sha512")
    with pytest.raises(SignatureError, match="does not match the content"):
        verify(MESSAGE, craft(armored, hash=b"sha256"))


def test_nonempty_reserved_is_ignored_like_openssh(keys: dict[str, Path], tmp_path: Path) -> None:
    armored = craft(sshsig.sign(MESSAGE, keys["ed25519"]), reserved=b"future-extension")
    # OpenSSH ignores the reserved field (it signs and verifies an empty one); so do we.
    result = ssh_keygen_verify(tmp_path, pub_line(keys["ed25519"]), MESSAGE, armored)
    assert result.returncode == 0, result.stderr.decode()
    assert verify(MESSAGE, armored).key_type == "ssh-ed25519"


def test_signature_algorithm_must_match_key(keys: dict[str, Path]) -> None:
    ed = sshsig.sign(MESSAGE, keys["ed25519"])
    ec = sshsig.sign(MESSAGE, keys["ecdsa256"])
    # ed25519 signature bytes presented with the ECDSA key.
    ec_key = decode(unarmor(ec))["publickey"]
    with pytest.raises(SignatureError, match="does not match ecdsa-sha2-nistp256 key"):
        verify(MESSAGE, craft(ed, publickey=ec_key))


def test_sha1_rsa_signature_is_refused(keys: dict[str, Path]) -> None:
    armored = sshsig.sign(MESSAGE, keys["rsa"])
    sig = bytes(decode(unarmor(armored))["signature"])
    name, pos = read_str(sig, 0)
    assert name == b"rsa-sha2-512"  # what OpenSSH uses for SSHSIG
    relabelled = sstr(b"ssh-rsa") + sig[pos:]
    with pytest.raises(SignatureError, match=r"SHA-1 \(ssh-rsa\) are not accepted"):
        verify(MESSAGE, craft(armored, signature=relabelled))


def _sshsig_signed_data(message: bytes, namespace: bytes = b"bok-review") -> bytes:
    return (
        b"SSHSIG"
        + sstr(namespace)
        + sstr(b"")
        + sstr(b"sha512")
        + sstr(hashlib.sha512(message).digest())
    )


def test_rsa_sha2_256_signature_verifies(keys: dict[str, Path], tmp_path: Path) -> None:
    # ssh-keygen always uses rsa-sha2-512 for SSHSIG; other signers may pick rsa-sha2-256.
    private = load_ssh_private_key(keys["rsa"].read_bytes(), password=None)
    raw = private.sign(_sshsig_signed_data(MESSAGE), padding.PKCS1v15(), hashes.SHA256())
    template = sshsig.sign(MESSAGE, keys["rsa"])
    armored = craft(template, signature=sstr(b"rsa-sha2-256") + sstr(raw))
    assert verify(MESSAGE, armored).key_type == "ssh-rsa"
    result = ssh_keygen_verify(tmp_path, pub_line(keys["rsa"]), MESSAGE, armored)
    assert result.returncode == 0, result.stderr.decode()
    # The format name decides the hash: the same bytes labelled rsa-sha2-512 must fail.
    mislabelled = craft(template, signature=sstr(b"rsa-sha2-512") + sstr(raw))
    with pytest.raises(SignatureError, match="does not match the content"):
        verify(MESSAGE, mislabelled)


def test_short_rsa_signature_is_left_padded(keys: dict[str, Path], tmp_path: Path) -> None:
    # An RSA signature whose integer value has leading zero bytes may be sent without them;
    # OpenSSH pads it back. Find one by varying the message.
    private = load_ssh_private_key(keys["rsa"].read_bytes(), password=None)
    template = sshsig.sign(MESSAGE, keys["rsa"])
    for i in range(2000):
        message = MESSAGE + str(i).encode()
        raw = private.sign(_sshsig_signed_data(message), padding.PKCS1v15(), hashes.SHA512())
        if raw[0] == 0:
            break
    else:  # pragma: no cover - probability ~ (255/256)**2000
        pytest.fail("no RSA signature with a leading zero byte found")
    armored = craft(template, signature=sstr(b"rsa-sha2-512") + sstr(raw.lstrip(b"\0")))
    assert verify(message, armored).key_type == "ssh-rsa"
    result = ssh_keygen_verify(tmp_path, pub_line(keys["rsa"]), message, armored)
    assert result.returncode == 0, result.stderr.decode()


def _sk_ed25519_blob() -> bytes:
    return sstr(b"sk-ssh-ed25519@openssh.com") + sstr(b"\x11" * 32) + sstr(b"ssh:")


def _sk_ecdsa_blob() -> bytes:
    point = b"\x04" + b"\x22" * 64
    return (
        sstr(b"sk-ecdsa-sha2-nistp256@openssh.com")
        + sstr(b"nistp256")
        + sstr(point)
        + sstr(b"ssh:")
    )


def test_security_key_signature_is_refused(keys: dict[str, Path]) -> None:
    armored = craft(sshsig.sign(MESSAGE, keys["ed25519"]), publickey=_sk_ed25519_blob())
    with pytest.raises(
        SignatureError, match="key type sk-ssh-ed25519@openssh.com is not supported"
    ):
        verify(MESSAGE, armored)


def test_unknown_key_type_in_signature_is_refused(keys: dict[str, Path]) -> None:
    dss = sstr(b"ssh-dss") + sstr(b"\x01") * 4
    armored = craft(sshsig.sign(MESSAGE, keys["ed25519"]), publickey=dss)
    with pytest.raises(SignatureError, match="key type ssh-dss is not supported"):
        verify(MESSAGE, armored)


# --- public keys -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_fingerprint_matches_ssh_keygen(keys: dict[str, Path], kind: str) -> None:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", f"{keys[kind]}.pub"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split()
    key = parse_public_key(pub_line(keys[kind]))
    assert out[1].startswith("SHA256:")
    assert key.fingerprint == out[1]
    assert key.comment == f"{kind}@test"
    assert key.key_type == KEY_SPECS[kind][1]


def test_public_key_equality_ignores_comment(keys: dict[str, Path]) -> None:
    line = pub_line(keys["ed25519"])
    a = parse_public_key(line)
    b = parse_public_key(" ".join(line.split()[:2]) + "  another comment  ")
    assert b.comment == "another comment"
    assert a == b
    assert parse_public_key(a.openssh) == a
    assert a != parse_public_key(pub_line(keys["ecdsa256"]))


def _ed_b64(keys: dict[str, Path]) -> str:
    return pub_line(keys["ed25519"]).split()[1]


@pytest.mark.parametrize(
    ("make_line", "match"),
    [
        (lambda k: "", "empty"),
        (lambda k: "hello world", "unsupported SSH key type 'hello'"),
        (lambda k: "ssh-ed25519", "expected '<type> <base64 key>"),
        (lambda k: "ssh-ed25519 !!!not-base64!!!", "not base64"),
        (lambda k: "ssh-ed25519 AAAA", "truncated or malformed"),
        (lambda k: "ssh-ed25519 " + _ed_b64(k)[:-8], "not base64|not a valid"),
        (lambda k: "ssh-rsa " + _ed_b64(k), "key says it is ssh-rsa"),
        (lambda k: "ssh-dss AAAAB3NzaC1kc3MAAAA=", "unsupported SSH key type 'ssh-dss'"),
        (lambda k: "ssh-ed25519-cert-v01@openssh.com AAAA", "unsupported SSH key type"),
        (lambda k: 'from="*" ssh-ed25519 ' + _ed_b64(k), "unsupported SSH key type"),
        (lambda k: "ssh-ed25519 " + _ed_b64(k) + "\nssh-ed25519 x", "single line"),
        (
            lambda k: (
                "ssh-ed25519 " + base64.b64encode(base64.b64decode(_ed_b64(k)) + b"\0").decode()
            ),
            "unparsed data",
        ),
    ],
)
def test_parse_public_key_rejects_garbage(keys: dict[str, Path], make_line, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_public_key(make_line(keys))


@pytest.mark.parametrize("blob", [_sk_ed25519_blob(), _sk_ecdsa_blob()])
def test_parse_public_key_refuses_security_keys(blob: bytes) -> None:
    key_type = read_str(blob, 0)[0].decode()
    line = f"{key_type} {base64.b64encode(blob).decode()} me@yubikey"
    with pytest.raises(ValueError) as info:
        parse_public_key(line)
    message = str(info.value)
    assert key_type in message
    assert "security keys" in message
    assert "not supported yet" in message
    assert "ed25519" in message


def test_public_key_of_reads_pub_file(keys: dict[str, Path]) -> None:
    expected = parse_public_key(pub_line(keys["ecdsa384"]))
    assert sshsig.public_key_of(keys["ecdsa384"]) == expected
    assert sshsig.public_key_of(f"{keys['ecdsa384']}.pub").comment == "ecdsa384@test"


def test_public_key_of_derives_from_private_key(keys: dict[str, Path], tmp_path: Path) -> None:
    lonely = tmp_path / "id_lonely"
    shutil.copy(keys["rsa"], lonely)
    lonely.chmod(0o600)  # ssh-keygen refuses group/world-readable private keys
    assert not Path(f"{lonely}.pub").exists()
    key = sshsig.public_key_of(lonely)
    assert key == parse_public_key(pub_line(keys["rsa"]))


def test_public_key_of_errors(tmp_path: Path) -> None:
    with pytest.raises(SignatureError, match="cannot read the public key"):
        sshsig.public_key_of(tmp_path / "missing")
    with pytest.raises(SignatureError, match="no such public key file"):
        sshsig.public_key_of(tmp_path / "missing.pub")
    bad = tmp_path / "bad"
    Path(f"{bad}.pub").write_text("not a key\n")
    with pytest.raises(SignatureError, match="bad.pub: unsupported SSH key type"):
        sshsig.public_key_of(bad)


def test_public_key_dataclass_is_frozen() -> None:
    key = PublicKey("ssh-ed25519", b"x", "c")
    with pytest.raises(AttributeError):
        key.comment = "d"  # type: ignore[misc]
