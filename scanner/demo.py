"""The demo: the whole story against the bundled emulator, no Google account, no config, no network.

1. start the Drive/Admin emulator with the demo workspace (Tessera Labeling) on 127.0.0.1,
2. create a fresh database and keys in the output folder,
3. run a full scan with remediation enforced,
4. collect what happened (findings, the sharing that was revoked — as the emulator saw it),
5. write the HTML report and the CSV / JSON Lines / OCSF exports with a signed manifest, verify it.

:func:`run_demo` returns a :class:`DemoResult`; the CLI only renders it.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import select

from scanner.app import App
from scanner.config import Settings
from scanner.emulator import Emulator
from scanner.emulator.seeds.demo import ADMIN
from scanner.keys import ensure_key
from scanner.run import ScanOptions, ScanProgress, ScanResult, ScanService
from scanner.store.models import DriveFileRow, Finding, Notification, RemediationAction

DEMO_DOMAIN = "tessera-labs.com"
EXPORT_FORMATS = ("html", "csv", "jsonl", "ocsf")


@dataclass
class DemoResult:
    output: Path
    database_url: str
    endpoint: str
    scan: ScanResult
    findings: list[dict[str, Any]] = field(default_factory=list)
    sharing_changes: list[dict[str, Any]] = field(default_factory=list)
    #: Owner digests from the outbox, and how many the local webhook receiver got.
    notifications: list[dict[str, Any]] = field(default_factory=list)
    webhook_messages: int = 0
    #: Actions sharescan would not take on its own (inherited access, limits): what a person must do.
    needs_a_person: list[dict[str, Any]] = field(default_factory=list)
    export_dir: Path | None = None
    report_path: Path | None = None
    export_files: list[str] = field(default_factory=list)
    manifest_verified: bool = False
    elapsed_seconds: float = 0.0


def demo_settings(output: Path, endpoint: str, key_file: Path, *, webhook_url: str = "") -> Settings:
    notifications: dict[str, Any] = {"channels": ["webhook"], "webhook": {"url": webhook_url}} if webhook_url else {}
    return Settings.model_validate({
        "notifications": notifications,
        "organisation": {"domains": [DEMO_DOMAIN]},
        "google": {
            "service_account_file": str(key_file),
            "remediation_service_account_file": str(key_file),
            "admin_subject": ADMIN,
            "endpoint": endpoint,
        },
        "database": {"url": f"sqlite:///{output / 'sharescan.db'}"},
        "detect": {"key_file": str(output / "keys" / "evidence.key")},
        # The demo workspace is small and mostly risky: the share limit (a safety net for real
        # domains, default 50%) would refuse it, so the demo allows acting on every finding.
        "remediation": {"mode": "enforce", "max_actions_per_run": 50, "max_actions_share": 1.0},
        "export": {"signing_key_file": str(output / "keys" / "export-signing.key")},
        "audit": {"key_file": str(output / "keys" / "audit.key"), "anchor_path": str(output / "audit-anchors")},
    })


def prepare_output(output: Path) -> None:
    """A fresh folder each time; refuse to wipe anything that is not a previous demo's."""
    if output.exists():
        marker = output / ".sharescan-demo"
        if not marker.exists() and any(output.iterdir()):
            from scanner.core.errors import ConfigError

            raise ConfigError(f"{output}: exists and is not a sharescan demo folder; choose another --output")
        shutil.rmtree(output)
    output.mkdir(parents=True, mode=0o700)
    (output / ".sharescan-demo").write_text("created by `sharescan demo`; safe to delete\n", encoding="utf-8")


def run_demo(output: Path, *, actor: str = "sharescan-demo", progress: ScanProgress | None = None) -> DemoResult:
    from scanner.export.service import export
    from scanner.export.signing import private_key, verify_export

    started = time.monotonic()
    output = output.resolve()
    prepare_output(output)
    with Emulator(seed="demo") as emulator, webhook_receiver() as inbox:
        key_file = output / "keys" / "emulator-service-account.json"
        key_file.parent.mkdir(mode=0o700, exist_ok=True)
        emulator.write_key_file(key_file)
        settings = demo_settings(output, emulator.endpoint, key_file, webhook_url=inbox.url)
        app = App(settings, actor=actor)
        try:
            app.init_database()
            ensure_key(settings.evidence_key_path, loose=settings.keys.loose_permissions)
            scan = ScanService(app).run(ScanOptions(full=True, apply=True), progress=progress)
            result = DemoResult(output=output, database_url=settings.database_url, endpoint=emulator.endpoint,
                                scan=scan)
            result.findings = _findings(app)
            result.sharing_changes = _sharing_changes(app, emulator.events)
            result.needs_a_person = _needs_a_person(app)
            result.notifications = _notifications(app)
            result.webhook_messages = len(inbox.messages)
            exported = export(app, settings, list(EXPORT_FORMATS), output / "export")
            result.export_dir = exported.directory
            result.export_files = list(exported.files)
            html = [f for f in exported.files if f.endswith(".html")]
            result.report_path = exported.directory / html[0] if html else None
            trusted = private_key(settings.signing_key_path, create=False,
                                  loose=settings.keys.loose_permissions).public_key()
            result.manifest_verified = verify_export(exported.directory, trusted).ok
        finally:
            app.close()
    result.elapsed_seconds = round(time.monotonic() - started, 2)
    return result


def _findings(app: App) -> list[dict[str, Any]]:
    with app.sessions() as s:
        rows = s.execute(
            select(Finding, DriveFileRow.name).join(DriveFileRow, DriveFileRow.id == Finding.file_id)
            .order_by(Finding.id)
        ).all()
        return [
            {"id": f.id, "severity": f.severity, "status": f.status, "rule": f.rule_id, "file": name,
             "owner": f.owner_email, "exposure": f.exposure, "exposure_after": f.exposure_after,
             "data": ", ".join(sorted(f.data_categories or []))}
            for f, name in rows
        ]


class _Inbox:
    def __init__(self) -> None:
        self.url = ""
        self.messages: list[dict[str, Any]] = []


@contextmanager
def webhook_receiver() -> Iterator[_Inbox]:
    """A Slack-compatible webhook on 127.0.0.1 that keeps what it is sent (the demo's owner channel)."""
    inbox = _Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            inbox.messages.append(json.loads(body or b"{}"))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    inbox.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/owners"
    thread = threading.Thread(target=server.serve_forever, name="demo-webhook", daemon=True)
    thread.start()
    try:
        yield inbox
    finally:
        server.shutdown()
        server.server_close()


def _notifications(app: App) -> list[dict[str, Any]]:
    with app.sessions() as s:
        return [{"to": n.recipient, "channel": n.channel, "subject": n.subject, "status": n.status}
                for n in s.scalars(select(Notification).order_by(Notification.id))]


def _needs_a_person(app: App) -> list[dict[str, Any]]:
    with app.sessions() as s:
        rows = s.execute(
            select(RemediationAction, DriveFileRow.name)
            .join(DriveFileRow, DriveFileRow.id == RemediationAction.file_id)
            .where(RemediationAction.status.in_(("planned", "skipped", "failed", "refused", "over_limit",
                                                 "awaiting_owner")),
                   RemediationAction.action != "notify")
            .order_by(RemediationAction.id)
        ).all()
        return [{"action": a.id, "finding": a.finding_id, "file": name, "what": a.action, "status": a.status,
                 "why": a.detail} for a, name in rows]


def _sharing_changes(app: App, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the emulator (standing in for Google) recorded as changed, joined to file names."""
    with app.sessions() as s:
        names = {file_id: name for file_id, name in s.execute(select(DriveFileRow.id, DriveFileRow.name))}
        actions = {(a.file_id, a.permission_id): a.action for a in s.scalars(
            select(RemediationAction).where(RemediationAction.mode == "enforce"))}
    out = []
    for event in events:
        kind = str(event.get("kind", ""))
        if not kind.startswith(("permission.", "revision.")):
            continue
        before, after = event.get("before") or {}, event.get("after") or {}
        perm = before or after
        who = perm.get("emailAddress") or perm.get("domain") or perm.get("type") or ""
        if kind.startswith("revision."):
            who = "published to the web" if before.get("published") else who
        file_id = str(event.get("fileId", ""))
        out.append({
            "file": names.get(file_id, file_id), "change": kind, "who": who, "role": perm.get("role", ""),
            "action": actions.get((file_id, str(perm.get("id", ""))), ""), "by": event.get("actor", ""),
        })
    return out
