"""Export manifests: SHA-256 of every file, the audit-log head, signed with Ed25519.

Why Ed25519 rather than HMAC: an auditor verifies with the *public* key only and cannot forge a
manifest. The private key is the 32-byte installation key at ``settings.signing_key_path``
(created 0600 by :func:`scanner.keys.ensure_key`, kept outside the database); its public key is
written beside it as ``<key>.pub`` (hex) and embedded in every manifest. ``verify`` trusts the
public key it is given (``--public-key``) or the local key's; an embedded key that differs from
the trusted one fails verification.

The signature covers the canonical JSON of the manifest without its ``signature`` member
(sorted keys, ``,``/``:`` separators, ASCII).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from scanner.core.errors import ConfigError
from scanner.keys import LoosePermissions, ensure_key, load_key

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "sharescan-export-manifest/1"
ALGORITHM = "ed25519"
#: Checked with standard tools: ``sha256sum -c SHA256SUMS`` and ``ssh-keygen -Y verify`` (OpenSSH's SSHSIG).
SUMS, SUMS_SIG, ALLOWED_SIGNERS = "SHA256SUMS", "SHA256SUMS.sig", "allowed_signers"
SSH_NAMESPACE = "sharescan-export"
SSH_PRINCIPAL = "sharescan"


def _seed(key: bytes) -> bytes:
    return key if len(key) == 32 else hashlib.sha256(key).digest()


def private_key(key_path: Path, *, create: bool = True, loose: str = LoosePermissions.REFUSE) -> Ed25519PrivateKey:
    """The signing key (created when ``create``); ``loose``: ``[keys] loose_permissions``."""
    key = ensure_key(key_path, loose=loose) if create else load_key(key_path, loose=loose)
    signer = Ed25519PrivateKey.from_private_bytes(_seed(key))
    public = signer.public_key()
    _write_public(public_key_path(key_path), public_hex(public) + "\n")
    _write_public(ssh_public_key_path(key_path), ssh_public_key(public) + "\n")
    _write_public(allowed_signers_path(key_path), allowed_signers_line(public) + "\n")
    return signer


def public_key_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".pub")


def ssh_public_key_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".ssh.pub")


def allowed_signers_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + "." + ALLOWED_SIGNERS)


def ssh_public_key(key: Ed25519PublicKey) -> str:
    """The key in OpenSSH format (``ssh-ed25519 AAAA… sharescan``)."""
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode() + f" {SSH_PRINCIPAL}"


def allowed_signers_line(key: Ed25519PublicKey) -> str:
    """An ``ssh-keygen -Y verify`` allowed-signers entry: principal, namespace restriction, key."""
    openssh = key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    return f'{SSH_PRINCIPAL} namespaces="{SSH_NAMESPACE}" {openssh}'


def ssh_fingerprint(key: Ed25519PublicKey) -> str:
    """As ``ssh-keygen -l`` prints it: SHA256:<base64 without padding>."""
    import base64

    blob = _ssh_string(b"ssh-ed25519") + _ssh_string(key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _write_public(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="ascii") != text:
        path.write_text(text, encoding="ascii")
        os.chmod(path, 0o644)


def public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def key_id(pub_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(pub_hex)).hexdigest()[:16]


def parse_public_key(value: str) -> Ed25519PublicKey:
    """A public key given as hex (64 chars) or a file holding it."""
    text = value.strip()
    path = Path(text)
    if len(text) != 64 and path.is_file():
        text = path.read_text(encoding="ascii").strip()
    try:
        raw = bytes.fromhex(text)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ConfigError(f"{value!r}: not an Ed25519 public key (64 hex characters, or a file holding them)"
                          ) from None


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sign_manifest(body: dict[str, Any], signer: Ed25519PrivateKey) -> dict[str, Any]:
    pub = public_hex(signer.public_key())
    signature = signer.sign(canonical(body)).hex()
    return body | {"signature": {"algorithm": ALGORITHM, "public_key": pub, "key_id": key_id(pub),
                                 "value": signature}}


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> str:
    """Write ``manifest.json``; return its SHA-256."""
    path = out_dir / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return sha256_file(path)


def file_entries(out_dir: Path, relpaths: list[str]) -> list[dict[str, Any]]:
    return [{"path": rel, "sha256": sha256_file(out_dir / rel), "bytes": (out_dir / rel).stat().st_size}
            for rel in sorted(relpaths)]


# --------------------------------------------------------------------------- SHA256SUMS + SSHSIG
def write_sums(out_dir: Path, relpaths: list[str]) -> bytes:
    """``SHA256SUMS`` in the format ``sha256sum -c`` reads (hash, two spaces, path); returns its bytes."""
    text = "".join(f"{sha256_file(out_dir / rel)}  {rel}\n" for rel in sorted(relpaths))
    data = text.encode("utf-8")
    (out_dir / SUMS).write_bytes(data)
    return data


def _ssh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _read_string(buf: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 4 > len(buf):
        raise ValueError("truncated SSH signature")
    n = int.from_bytes(buf[pos:pos + 4], "big")
    if pos + 4 + n > len(buf):
        raise ValueError("truncated SSH signature")
    return buf[pos + 4:pos + 4 + n], pos + 4 + n


_SSHSIG_MAGIC = b"SSHSIG"
_SSHSIG_HASH = b"sha512"


def _sshsig_signed_data(message: bytes, namespace: str) -> bytes:
    return (_SSHSIG_MAGIC + _ssh_string(namespace.encode()) + _ssh_string(b"")
            + _ssh_string(_SSHSIG_HASH) + _ssh_string(hashlib.sha512(message).digest()))


def sshsig_sign(signer: Ed25519PrivateKey, message: bytes, namespace: str = SSH_NAMESPACE) -> str:
    """A detached signature of ``message`` in OpenSSH's SSHSIG format (PROTOCOL.sshsig), armored —
    what ``ssh-keygen -Y sign`` writes and ``ssh-keygen -Y verify`` checks."""
    import base64
    import textwrap

    public = signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    pub_blob = _ssh_string(b"ssh-ed25519") + _ssh_string(public)
    signature = signer.sign(_sshsig_signed_data(message, namespace))
    sig_blob = _ssh_string(b"ssh-ed25519") + _ssh_string(signature)
    blob = (_SSHSIG_MAGIC + (1).to_bytes(4, "big") + _ssh_string(pub_blob) + _ssh_string(namespace.encode())
            + _ssh_string(b"") + _ssh_string(_SSHSIG_HASH) + _ssh_string(sig_blob))
    body = "\n".join(textwrap.wrap(base64.b64encode(blob).decode(), 70))
    return f"-----BEGIN SSH SIGNATURE-----\n{body}\n-----END SSH SIGNATURE-----\n"


def sshsig_verify(armored: str, message: bytes, namespace: str = SSH_NAMESPACE) -> Ed25519PublicKey:
    """Check an armored SSHSIG signature of ``message``; return the key that made it. Raises ValueError."""
    import base64

    lines = [line.strip() for line in armored.strip().splitlines()]
    if len(lines) < 3 or lines[0] != "-----BEGIN SSH SIGNATURE-----" or lines[-1] != "-----END SSH SIGNATURE-----":
        raise ValueError("not an armored SSH signature")
    blob = base64.b64decode("".join(lines[1:-1]), validate=True)
    if not blob.startswith(_SSHSIG_MAGIC) or int.from_bytes(blob[6:10], "big") != 1:
        raise ValueError("not an SSHSIG version 1 signature")
    pub_blob, pos = _read_string(blob, 10)
    ns, pos = _read_string(blob, pos)
    _, pos = _read_string(blob, pos)  # reserved
    hash_alg, pos = _read_string(blob, pos)
    sig_blob, _ = _read_string(blob, pos)
    if ns.decode() != namespace:
        raise ValueError(f"signature namespace {ns.decode()!r}, expected {namespace!r}")
    key_type, p = _read_string(pub_blob, 0)
    raw_key, _ = _read_string(pub_blob, p)
    sig_type, p = _read_string(sig_blob, 0)
    raw_sig, _ = _read_string(sig_blob, p)
    if key_type != b"ssh-ed25519" or sig_type != b"ssh-ed25519" or hash_alg != _SSHSIG_HASH:
        raise ValueError("only ssh-ed25519 signatures over sha512 are expected")
    key = Ed25519PublicKey.from_public_bytes(raw_key)
    try:
        key.verify(raw_sig, _sshsig_signed_data(message, namespace))
    except InvalidSignature:
        raise ValueError("bad signature") from None
    return key


def verify_command(directory: Path, allowed_signers: Path) -> str:
    """The standard-tools check of an export, as a shell command (coreutils and OpenSSH 8.1 or later)."""
    import shlex

    return (f"cd {shlex.quote(str(directory))} && sha256sum -c {SUMS} && ssh-keygen -Y verify -n {SSH_NAMESPACE} "
            f"-f {shlex.quote(str(allowed_signers))} -I {SSH_PRINCIPAL} -s {SUMS_SIG} < {SUMS}")


@dataclass
class VerifyReport:
    directory: str
    ok: bool = False
    signature_ok: bool = False
    trusted_key: bool = False
    key_id: str | None = None
    files_checked: int = 0
    audit_head_hash: str | None = None
    manifest_sha256: str | None = None
    #: SHA256SUMS lists every file with its hash, and SHA256SUMS.sig (SSHSIG) is the trusted key's signature
    #: over it (None: the export predates them).
    sums_ok: bool | None = None
    ssh_signature_ok: bool | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _listed_files(out_dir: Path) -> set[str]:
    return {p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file() or p.is_symlink()}


def verify_export(out_dir: Path, trusted: Ed25519PublicKey | None) -> VerifyReport:
    """Check the signature, the key, and every file's hash; list added and removed files."""
    report = VerifyReport(directory=str(out_dir))
    path = out_dir / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        signature = manifest.pop("signature")
        embedded = Ed25519PublicKey.from_public_bytes(bytes.fromhex(signature["public_key"]))
        value = bytes.fromhex(signature["value"])
        if signature.get("algorithm") != ALGORITHM:
            raise ValueError(f"unsupported algorithm {signature.get('algorithm')!r}")
    except FileNotFoundError:
        report.problems.append(f"{MANIFEST}: missing")
        return report
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        report.problems.append(f"{MANIFEST}: unreadable or malformed ({exc})")
        return report
    report.manifest_sha256 = sha256_file(path)
    report.key_id = key_id(signature["public_key"])
    report.audit_head_hash = (manifest.get("audit") or {}).get("head_hash")
    try:
        embedded.verify(value, canonical(manifest))
        report.signature_ok = True
    except InvalidSignature:
        report.problems.append(f"{MANIFEST}: bad signature (the manifest was modified or signed by another key)")
    if trusted is None:
        report.problems.append("no trusted public key: pass --public-key (the signer's .pub file or hex)")
    elif public_hex(trusted) != signature["public_key"]:
        report.problems.append(f"{MANIFEST}: signed by key {report.key_id}, not by the trusted key "
                               f"{key_id(public_hex(trusted))}")
    else:
        report.trusted_key = True
    listed: dict[str, str] = {}
    for entry in manifest.get("files", []):
        rel = str(entry.get("path", ""))
        if rel.startswith("/") or ".." in Path(rel).parts:
            report.problems.append(f"{rel}: path outside the export directory")
            continue
        listed[rel] = str(entry.get("sha256", ""))
    present = _listed_files(out_dir) - {MANIFEST, SUMS, SUMS_SIG}
    for rel, expected in sorted(listed.items()):
        file = out_dir / rel
        if not file.is_file():
            report.problems.append(f"{rel}: missing")
            continue
        report.files_checked += 1
        if sha256_file(file) != expected:
            report.problems.append(f"{rel}: modified (SHA-256 differs)")
    for rel in sorted(present - set(listed)):
        report.problems.append(f"{rel}: added (not in the manifest)")
    _check_sums(out_dir, set(listed) | {MANIFEST}, trusted, report)
    report.ok = not report.problems
    return report


def _check_sums(out_dir: Path, expected: set[str], trusted: Ed25519PublicKey | None, report: VerifyReport) -> None:
    """What ``sha256sum -c SHA256SUMS`` and ``ssh-keygen -Y verify`` would say, without them."""
    sums, sig = out_dir / SUMS, out_dir / SUMS_SIG
    if not sums.exists() and not sig.exists():
        return  # an export written before SHA256SUMS existed
    try:
        data = sums.read_bytes()
        entries: dict[str, str] = {}
        for line in data.decode("utf-8").splitlines():
            digest, rel = line.split("  ", 1)
            entries[rel] = digest
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        report.sums_ok = False
        report.problems.append(f"{SUMS}: missing or malformed ({type(exc).__name__})")
        return
    bad = [rel for rel, digest in sorted(entries.items())
           if not (out_dir / rel).is_file() or sha256_file(out_dir / rel) != digest]
    report.sums_ok = not bad and set(entries) == expected
    report.problems += [f"{SUMS}: {rel} does not match" for rel in bad]
    report.problems += [f"{SUMS}: {rel} not listed" for rel in sorted(expected - set(entries))]
    try:
        signer = sshsig_verify(sig.read_text(encoding="ascii"), data)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        report.ssh_signature_ok = False
        report.problems.append(f"{SUMS_SIG}: {exc}")
        return
    report.ssh_signature_ok = trusted is not None and public_hex(signer) == public_hex(trusted)
    if trusted is not None and not report.ssh_signature_ok:
        report.problems.append(f"{SUMS_SIG}: signed by key {key_id(public_hex(signer))}, not by the trusted key")
