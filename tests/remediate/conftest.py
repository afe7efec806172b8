"""Fixtures: the demo workspace on the emulator, a migrated SQLite store, and a tiny scanner that reads
files through the real googleapiclient (read-only scopes) so findings carry real permission JSON."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.connectors.google.client import GoogleClients
from scanner.connectors.google.drive_api import permission_from_api
from scanner.connectors.google.mime import item_kind
from scanner.core.exposure import classify
from scanner.core.models import DriveFile, FileExposure
from scanner.detect.models import ContentResult, DetectorHit
from scanner.emulator import Emulator
from scanner.emulator.seeds.demo import ADMIN, fid
from scanner.policy.evaluate import FileContext, PolicyEngine
from scanner.policy.loader import builtin_rules_dir, load_rules
from scanner.store.db import make_engine, make_sessionmaker
from scanner.store.models import Finding
from scanner.store.repo import FindingRepo

DOMAIN = "tessera-labs.com"
PERMISSION_EVENTS = ("permission.created", "permission.updated", "permission.deleted", "revision.unpublished",
                     "revision.published", "revision.updated", "member.created", "member.deleted")

#: What the content pipeline would say about the demo files these tests use (detector → count).
CONTENT: dict[str, dict[str, int]] = {
    "roster_sheet": {"contractor_roster": 8, "pay_data": 8},
    "roster_csv": {"contractor_roster": 8},
    "candidate_shortlist": {"contractor_roster": 5},
    "old_roster_suspended": {"contractor_roster": 5},
    "deploy_notes_txt": {"credentials": 2},
    "client_brief_published": {"client_codename": 3, "confidential_marking": 1},
    "peregrine_review_pptx": {"client_codename": 2},
    "offsite_recipe": {},
    "bluefin_guidelines": {"client_codename": 1, "confidential_marking": 1},
    "kestrel_qa_notes": {"client_codename": 2},
}
CATEGORIES = {"contractor_roster": ("contractor_pii",), "pay_data": ("contractor_pii", "financial"),
              "credentials": ("credentials",), "client_codename": ("client_confidential",),
              "confidential_marking": ("client_confidential",)}


def content_for(key: str) -> ContentResult:
    hits = [DetectorHit(name, count, 0.9, categories=CATEGORIES[name]) for name, count in CONTENT[key].items()]
    return ContentResult(analysed=True, hits=hits)



@pytest.fixture()
def settings(emulator: Emulator, tmp_path: Path) -> Settings:
    key = emulator.write_key_file(tmp_path / "scan-key.json")
    rkey = emulator.write_key_file(tmp_path / "remediation-key.json")
    return Settings.model_validate({
        "organisation": {"domains": [DOMAIN, "tessera-labeling.com"]},
        "google": {"endpoint": emulator.endpoint, "service_account_file": str(key),
                   "remediation_service_account_file": str(rkey), "admin_subject": ADMIN},
        "limits": {"max_retries": 1},
        "remediation": {"mode": "enforce", "max_actions_per_run": 20, "max_actions_share": 1.0,
                        "kill_switch_file": str(tmp_path / "STOP")},
        "notifications": {"channels": ["smtp"], "smtp": {"host": "127.0.0.1", "sender": "sharescan@" + DOMAIN}},
    })


@pytest.fixture()
def sessions(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sqlite_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


@dataclass
class MiniScanner:
    """Reads a few demo files the way the crawler does (files.get, permissions.list, revisions.list)."""

    emulator: Emulator
    settings: Settings

    def __post_init__(self) -> None:
        self.clients = GoogleClients(self.settings)

    def _subject(self, file_id: str) -> tuple[str, bool]:
        ws = self.emulator.workspace
        f = ws.files[file_id]
        if f.drive_id:  # as an organizer of the drive, like the crawler (the admin may not be a member)
            drive = ws.drives[f.drive_id]
            member = next((m.email for m in drive.members if m.type == "user" and m.role == "organizer"), ADMIN)
            return member or ADMIN, member == ADMIN
        owner = ws.users.get(f.owner or "")
        if owner is None or owner.suspended:
            return ADMIN, False  # a suspended owner cannot be impersonated; the crawler reads as the admin
        return owner.email, False

    def read(self, key: str) -> DriveFile:
        file_id = fid(key)
        subject, admin = self._subject(file_id)
        drive = self.clients.drive(subject)
        extra: dict[str, Any] = {"useDomainAdminAccess": True} if admin else {}
        meta = self.clients.execute(drive.files().get(
            fileId=file_id, supportsAllDrives=True,
            fields="id,name,mimeType,owners(emailAddress),driveId,parents,createdTime,modifiedTime,webViewLink"))
        perms = self.clients.execute(drive.permissions().list(
            fileId=file_id, supportsAllDrives=True, pageSize=100,
            fields="permissions(id,type,role,emailAddress,domain,allowFileDiscovery,expirationTime,deleted,"
                   "permissionDetails)", **extra))["permissions"]
        published = False
        if meta["mimeType"].startswith("application/vnd.google-apps.") and "folder" not in meta["mimeType"]:
            revs = self.clients.execute(drive.revisions().list(fileId=file_id, fields="revisions(id,published)"))
            published = any(r.get("published") for r in revs.get("revisions", []))
        owners = meta.get("owners") or []
        return DriveFile(
            id=meta["id"], name=meta["name"], mime_type=meta["mimeType"], kind=item_kind(meta["mimeType"]),
            owner_email=owners[0]["emailAddress"] if owners else None, drive_id=meta.get("driveId"),
            parents=tuple(meta.get("parents") or ()), created_time=meta.get("createdTime"),
            modified_time=meta.get("modifiedTime"), web_view_link=meta.get("webViewLink"),
            permissions=tuple(permission_from_api(p) for p in perms), published=published,
        )

    def exposure(self, key: str) -> FileExposure:
        return classify(self.read(key), self.settings.organisation.domains)


@pytest.fixture()
def scanner(emulator: Emulator, settings: Settings) -> MiniScanner:
    return MiniScanner(emulator, settings)


@pytest.fixture()
def engine() -> PolicyEngine:
    return PolicyEngine(load_rules([builtin_rules_dir()]))


def scan(scanner: MiniScanner, engine: PolicyEngine, sessions: sessionmaker[Session], keys: list[str],
         run_id: int | None = None) -> dict[str, list[Finding]]:
    """Evaluate these demo files and upsert their findings (what the orchestrator does per file)."""
    out: dict[str, list[Finding]] = {}
    with sessions() as session:
        repo = FindingRepo(session, "test")
        for key in keys:
            exposure = scanner.exposure(key)
            matches = engine.evaluate(exposure, content_for(key), FileContext())
            out[key] = [repo.upsert(m, run_id) for m in matches]
        session.commit()
    return out


def drive_events(emulator: Emulator) -> list[dict[str, Any]]:
    return [e for e in emulator.events if e["kind"] in PERMISSION_EVENTS]


def new_run(sessions: sessionmaker[Session]) -> int:
    from scanner.store.models import ScanRun

    with sessions() as session:
        run = ScanRun(kind="full", status="running", remediation_mode="enforce")
        session.add(run)
        session.commit()
        return run.id
