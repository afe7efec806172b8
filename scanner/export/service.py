"""``export()``: stream a snapshot through the writers, sign a manifest, record an audit event."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from scanner.app import App
from scanner.config import Settings
from scanner.core.errors import ConfigError
from scanner.core.statuses import FindingStatus
from scanner.export.anchors import anchor_now
from scanner.export.collect import ComplianceMapping, collect
from scanner.export.compliance import write_control_summaries
from scanner.export.ocsf import OCSF_VERSION
from scanner.export.signing import (
    ALLOWED_SIGNERS,
    MANIFEST,
    MANIFEST_FORMAT,
    SUMS_SIG,
    allowed_signers_line,
    allowed_signers_path,
    file_entries,
    private_key,
    sign_manifest,
    sshsig_sign,
    verify_command,
    write_manifest,
    write_sums,
)
from scanner.export.writers import WRITERS, Writer
from scanner.policy.compliance import framework
from scanner.policy.compliance import frameworks as all_frameworks
from scanner.policy.loader import load_configured_rules
from scanner.store import audit
from scanner.store.db import snapshot_reads

#: The built-in formats, in the order an export writes them by default (``WRITERS`` may hold more).
FORMATS = ("csv", "jsonl", "ocsf", "html")
FINDING_STATUSES = tuple(s.value for s in FindingStatus)


def writers() -> dict[str, Writer]:
    """A fresh instance of every registered writer (the built-ins and ``sharescan.writers`` entry points)."""
    return {name: cls() for name, cls in WRITERS.all().items()}


@dataclass(frozen=True)
class FrameworkCount:
    """How the controls of one framework stand in an export."""

    framework: str
    failing: int
    warning: int
    passing: int
    without: int


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: list[str]
    manifest_path: Path
    manifest_sha256: str
    audit_head_hash: str
    audit_event_seq: int
    key_id: str
    public_key: str
    counts: dict[str, int]
    #: The check with standard tools (sha256sum, ssh-keygen), against the installation's allowed_signers.
    verify_command: str = ""
    frameworks: list[FrameworkCount] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "files": self.files, "manifest": str(self.manifest_path),
                "manifest_sha256": self.manifest_sha256, "audit_head_hash": self.audit_head_hash,
                "audit_event_seq": self.audit_event_seq, "key_id": self.key_id, "public_key": self.public_key,
                "counts": self.counts, "verify_command": self.verify_command,
                "frameworks": [dataclasses.asdict(f) for f in self.frameworks]}


def default_directory(settings: Settings, now: dt.datetime) -> Path:
    name = f"sharescan-export-{now.strftime('%Y%m%dT%H%M%SZ')}"
    return Path(settings.export.directory).expanduser() / name if settings.export.directory else Path(name)


def compliance_mapping(settings: Settings, chosen: Sequence[str]) -> ComplianceMapping:
    """The configured rules' controls; the frameworks to summarise (``chosen``, else every mapped one)."""
    rules = load_configured_rules(settings).rules
    if chosen:
        selected = [framework(fid) for fid in dict.fromkeys(chosen)]
    else:
        used = {ref.split(":", 1)[0] for r in rules for ref in r.controls()}
        selected = [fw for fid, fw in all_frameworks().items() if fid in used]
    return ComplianceMapping.of(rules, selected)


def _prepare(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ConfigError(f"{out_dir}: exists and is not an empty directory (exports never overwrite)")
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)


def export(app_or_sessions: App | sessionmaker[Session], settings: Settings, formats: Sequence[str],
           out_dir: Path | None = None, since: dt.datetime | None = None, status: Sequence[str] | None = None,
           *, actor: str | None = None, now: dt.datetime | None = None,
           frameworks: Sequence[str] = ()) -> ExportResult:
    """Write the requested formats into ``out_dir`` (created; must be new or empty) with a signed
    ``manifest.json``, then append ``export.created`` (with the manifest's SHA-256) to the audit log.

    Every finding carries the controls its rule evidences; ``frameworks`` (default: every framework a
    rule maps to) get a per-control summary (``compliance/<framework>.csv|json`` and the report)."""
    now = now or dt.datetime.now(dt.UTC)
    chosen = list(dict.fromkeys(formats)) or list(FORMATS)
    unknown = [f for f in chosen if f not in WRITERS]
    if unknown:
        raise ConfigError(f"unknown export format(s) {', '.join(unknown)} (expected {', '.join(WRITERS.names())})")
    statuses = list(dict.fromkeys(status or []))
    bad = [s for s in statuses if s not in FINDING_STATUSES]
    if bad:
        raise ConfigError(f"unknown status {', '.join(bad)} (expected {', '.join(FINDING_STATUSES)})")
    if isinstance(app_or_sessions, App):
        sessions, actor = app_or_sessions.sessions, actor or app_or_sessions.actor
    else:
        sessions = app_or_sessions
    actor = actor or "sharescan"
    mapping = compliance_mapping(settings, frameworks)
    # fail on a bad key before writing anything
    signer = private_key(settings.signing_key_path, loose=settings.keys.loose_permissions)
    out_dir = Path(out_dir) if out_dir is not None else default_directory(settings, now)
    _prepare(out_dir)

    files: list[str] = []
    with sessions() as session:
        # every query of the export (several passes) sees the same data, and a scan may write meanwhile
        snapshot_reads(session)
        data = collect(session, since=since, statuses=statuses, now=now,
                       breach_deadline_hours=settings.export.breach_deadline_hours, mapping=mapping)
        available = writers()
        active = [available[name] for name in chosen]
        with ExitStack() as open_files:
            sinks = [sink for w in active if (sink := w.start(data, out_dir, open_files)) is not None]
            data.scan_findings(sinks)  # one pass over the findings feeds every writer
            for w in active:
                files.extend(w.finish(data, out_dir))
            files.extend(write_control_summaries(data, out_dir))
        controls = data.controls
        session.rollback()

    # the signer's allowed-signers entry, for ssh-keygen -Y verify (compare its key with the one the
    # installation published: ``sharescan export public-key``)
    (out_dir / ALLOWED_SIGNERS).write_text(allowed_signers_line(signer.public_key()) + "\n", encoding="ascii")
    files.append(ALLOWED_SIGNERS)
    body = {
        "format": MANIFEST_FORMAT,
        "tool": {"name": "sharescan", "version": data.tool_version},
        "created_at": now.isoformat().replace("+00:00", "Z"),
        "actor": actor,
        "filters": {"since": since.isoformat().replace("+00:00", "Z") if since else None, "status": statuses,
                    "formats": chosen, "frameworks": [fw.id for fw in mapping.frameworks]},
        "ocsf_version": OCSF_VERSION if "ocsf" in chosen else None,
        "audit": {"head_seq": data.audit_head_seq, "head_hash": data.audit_head_hash, "events": data.audit_events,
                  "chain_ok": data.audit_chain_ok},
        "counts": data.counts(),
        "files": file_entries(out_dir, files),
    }
    manifest = sign_manifest(body, signer)
    manifest_sha = write_manifest(out_dir, manifest)
    sums = write_sums(out_dir, [*files, MANIFEST])
    (out_dir / SUMS_SIG).write_text(sshsig_sign(signer, sums), encoding="ascii")

    with sessions.begin() as session:
        event = audit.record(
            session, "export.created", actor=actor, subject_type="export", subject_id=out_dir.name,
            data={"manifest_sha256": manifest_sha, "directory": str(out_dir.resolve()), "formats": chosen,
                  "counts": data.counts(), "audit_head_hash": data.audit_head_hash,
                  "key_id": manifest["signature"]["key_id"]},
        )
        seq = event.seq
    # the export.created event is anchored at once: cutting it from the log is detected
    anchor_now(sessions, settings, reason=f"export {out_dir.name}")
    return ExportResult(
        directory=out_dir, files=sorted(files), manifest_path=out_dir / MANIFEST, manifest_sha256=manifest_sha,
        audit_head_hash=data.audit_head_hash, audit_event_seq=seq, key_id=manifest["signature"]["key_id"],
        public_key=manifest["signature"]["public_key"], counts=data.counts(),
        verify_command=verify_command(out_dir.resolve(), allowed_signers_path(settings.signing_key_path).resolve()),
        frameworks=[_framework_count(fw.id, [c.state for c in controls if c.framework == fw.id])
                    for fw in mapping.frameworks],
    )


def _framework_count(framework_id: str, states: list[str]) -> FrameworkCount:
    return FrameworkCount(framework_id, states.count("fail"), states.count("warning"), states.count("pass"),
                          states.count("none"))
