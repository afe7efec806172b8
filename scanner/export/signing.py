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

from scanner.errors import ConfigError
from scanner.keys import LoosePermissions, ensure_key, load_key

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "sharescan-export-manifest/1"
ALGORITHM = "ed25519"


def _seed(key: bytes) -> bytes:
    return key if len(key) == 32 else hashlib.sha256(key).digest()


def private_key(key_path: Path, *, create: bool = True, loose: str = LoosePermissions.REFUSE) -> Ed25519PrivateKey:
    """The signing key (created when ``create``); ``loose``: ``[keys] loose_permissions``."""
    key = ensure_key(key_path, loose=loose) if create else load_key(key_path, loose=loose)
    signer = Ed25519PrivateKey.from_private_bytes(_seed(key))
    pub_path = public_key_path(key_path)
    pub_hex = public_hex(signer.public_key())
    if not pub_path.exists() or pub_path.read_text(encoding="ascii").strip() != pub_hex:
        pub_path.write_text(pub_hex + "\n", encoding="ascii")
        os.chmod(pub_path, 0o644)
    return signer


def public_key_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name + ".pub")


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
    present = _listed_files(out_dir) - {MANIFEST}
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
    report.ok = not report.problems
    return report
