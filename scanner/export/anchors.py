"""Anchors of the audit chain outside the database: signed checkpoints and export manifests.

A hash chain shows edits, deletions and reordering inside the log, but not its tail being cut:
a log that lost its last 30 events is a shorter, perfectly consistent chain. An *anchor* records
the head (sequence number and hash of the newest event) somewhere the database's users cannot
rewrite, and ``audit verify`` checks the log still holds exactly that event:

* a **checkpoint** written after every scan and export (and by ``sharescan audit anchor``) into
  ``[audit] anchor_path``, one new file each time (the directory may be append-only or write-once),
  signed with the installation's Ed25519 export key, optionally also sent to syslog or a webhook;
* every signed **export manifest** (``audit.head_seq``/``audit.head_hash``).

A checkpoint also names the log by the hash of its first event (``genesis_hash``), so a log
replaced from the start is told apart from one that merely grew.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import AuditSettings, Settings
from scanner.core.errors import SharescanError
from scanner.export.signing import canonical, key_id, private_key, public_hex
from scanner.store import audit

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "sharescan-audit-checkpoint/1"
CHECKPOINT_GLOB = "checkpoint-*.json"


@dataclass(frozen=True)
class Anchor:
    """One recorded head of the chain."""

    kind: str  # checkpoint | manifest
    source: str  # the file it was read from
    seq: int
    head_hash: str
    created_at: str
    genesis_hash: str | None = None
    reason: str = ""

    def describe(self) -> str:
        return f"{self.kind} {self.source} (seq {self.seq}, {self.created_at})"


@dataclass(frozen=True)
class AnchorProblem:
    source: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


def _now_text(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def write_checkpoint(session: Session, settings: AuditSettings, anchor_dir: Path, signing_key: Path, *,
                     reason: str, now: dt.datetime | None = None) -> Anchor | None:
    """Write a signed checkpoint of the current head (None for an empty log). Reads in ``session``."""
    seq, head_hash = audit.head(session)
    if seq == 0:
        return None
    when = now or dt.datetime.now(dt.UTC)
    signer = private_key(signing_key)
    pub = public_hex(signer.public_key())
    genesis, created = audit.genesis_hash(session), _now_text(when)
    body: dict[str, Any] = {"format": CHECKPOINT_FORMAT, "seq": seq, "head_hash": head_hash,
                            "genesis_hash": genesis, "created_at": created, "reason": reason}
    document = body | {"signature": {"algorithm": "ed25519", "public_key": pub, "key_id": key_id(pub),
                                     "value": signer.sign(canonical(body)).hex()}}
    anchor_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = anchor_dir / f"checkpoint-{seq:012d}-{when.astimezone(dt.UTC):%Y%m%dT%H%M%S%fZ}.json"
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    _send(settings, document)
    return Anchor("checkpoint", str(path), seq, head_hash, created, genesis, reason)


def anchor_now(sessions: sessionmaker[Session], settings: Settings, *, reason: str) -> Anchor | None:
    """Checkpoint the head after a scan or an export. A checkpoint that cannot be written is logged as an
    error and does not undo the work it follows (``audit verify`` then checks against an older anchor)."""
    try:
        with sessions() as session:
            return write_checkpoint(session, settings.audit, settings.anchor_dir, settings.signing_key_path,
                                    reason=reason)
    except (OSError, SharescanError) as exc:
        log.error("audit checkpoint not written to %s: %s", settings.anchor_dir, exc)
        return None


def _send(settings: AuditSettings, document: dict[str, Any]) -> None:
    """Copies to syslog / a webhook: best effort (the file is the anchor ``audit verify`` reads)."""
    line = json.dumps(document, sort_keys=True, separators=(",", ":"))
    if settings.anchor_syslog:
        try:
            import syslog

            syslog.openlog("sharescan", 0, syslog.LOG_AUTHPRIV)
            syslog.syslog(syslog.LOG_NOTICE, f"audit checkpoint {line}")
        except OSError as exc:  # pragma: no cover - no syslog on this host
            log.warning("audit checkpoint not sent to syslog: %s", exc)
    url = settings.anchor_webhook_url
    if url and urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        log.warning("audit checkpoint not sent: [audit] anchor_webhook_url must be an http(s) URL")
    elif url:
        request = urllib.request.Request(url, data=line.encode(), method="POST",  # noqa: S310 - checked above
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - checked above
                response.read(1024)
        except OSError as exc:
            log.warning("audit checkpoint not delivered to the webhook: %s", type(exc).__name__)


def _signed(document: dict[str, Any], trusted: Ed25519PublicKey | None) -> str | None:
    """None when ``document`` carries a valid signature by the trusted key, else the problem."""
    signature = document.pop("signature", None)
    if not isinstance(signature, dict):
        return "not signed"
    try:
        embedded = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(signature["public_key"])))
        embedded.verify(bytes.fromhex(str(signature["value"])), canonical(document))
    except (KeyError, ValueError):
        return "malformed signature"
    except InvalidSignature:
        return "bad signature (the file was modified or forged)"
    if trusted is None:
        return "no trusted public key to check its signature with"
    if public_hex(trusted) != signature["public_key"]:
        return f"signed by key {key_id(str(signature['public_key']))}, not by the trusted key"
    return None


def load_checkpoints(directory: Path, trusted: Ed25519PublicKey | None) -> tuple[list[Anchor], list[AnchorProblem]]:
    """Every checkpoint in ``directory`` whose signature verifies, and what is wrong with the others."""
    anchors: list[Anchor] = []
    problems: list[AnchorProblem] = []
    if not directory.is_dir():
        return anchors, problems
    for path in sorted(directory.glob(CHECKPOINT_GLOB)):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(document, dict) or document.get("format") != CHECKPOINT_FORMAT:
                raise ValueError("not a sharescan audit checkpoint")
        except (OSError, ValueError) as exc:
            problems.append(AnchorProblem(str(path), f"unreadable checkpoint ({exc})"))
            continue
        problem = _signed(document, trusted)
        if problem is not None:
            problems.append(AnchorProblem(str(path), problem))
            continue
        try:
            anchors.append(Anchor("checkpoint", str(path), int(document["seq"]), str(document["head_hash"]),
                                  str(document["created_at"]), document.get("genesis_hash"),
                                  str(document.get("reason", ""))))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(AnchorProblem(str(path), f"malformed checkpoint ({exc})"))
    return anchors, problems


def manifest_anchor(path: Path, trusted: Ed25519PublicKey | None) -> Anchor | AnchorProblem:
    """The head an export manifest recorded (``path``: the manifest or its export directory)."""
    if path.is_dir():
        path = path / "manifest.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return AnchorProblem(str(path), f"unreadable manifest ({exc})")
    problem = _signed(document, trusted)
    if problem is not None:
        return AnchorProblem(str(path), problem)
    head = document.get("audit") or {}
    try:
        # Manifests before head_seq existed recorded the number of events of an intact chain: the same.
        seq = int(head["head_seq"] if "head_seq" in head else head["events"])
        return Anchor("manifest", str(path), seq, str(head["head_hash"]), str(document.get("created_at", "")))
    except (KeyError, TypeError, ValueError):
        return AnchorProblem(str(path), "manifest records no audit head")


def check_anchor(session: Session, anchor: Anchor, *, genesis: str | None, last_seq: int) -> str | None:
    """None when the log still holds the anchored head; else what happened to it."""
    if anchor.seq == 0:
        return None
    if anchor.genesis_hash and genesis is not None and anchor.genesis_hash != genesis:
        return "the log was replaced from its first event (its genesis hash differs from the anchor's)"
    stored = audit.hash_at(session, anchor.seq)
    if stored is None:
        if last_seq < anchor.seq:
            cut = anchor.seq - last_seq
            return (f"truncated: the log ends at seq {last_seq} but the anchor recorded seq {anchor.seq} "
                    f"({cut} event{'s' if cut != 1 else ''} removed from the end)")
        return f"event seq {anchor.seq} is missing"
    if stored != anchor.head_hash:
        return (f"event seq {anchor.seq} differs from the anchor (hash {stored[:12]}… instead of "
                f"{anchor.head_hash[:12]}…): the log was rewritten up to there")
    return None
