"""Files whose owner is suspended: the owner cannot be impersonated, so remediation acts as the admin subject
when the file lets the admin share it, and otherwise fails with what a person has to do (never a crash)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.emulator import Emulator
from scanner.emulator.seeds.demo import ADMIN, SAM, fid
from scanner.emulator.state import mutate
from scanner.policy.evaluate import PolicyEngine
from scanner.remediate.engine import Remediator
from scanner.remediate.restore import RestoreRefused
from scanner.store.models import AuditEvent, Finding, RemediationAction
from tests.remediate.conftest import MiniScanner, drive_events, scan

SUSPENDED_DETAIL = (f"owner {SAM} is suspended or deleted (cannot be impersonated) and {ADMIN} has no write access "
                    f"(cannot change sharing) on file {fid('old_roster_suspended')}: transfer ownership (Admin "
                    "console > Data transfer) or ask an admin to fix the sharing, then run remediation again")


def _remediate(settings: Settings, sessions: sessionmaker[Session], engine: PolicyEngine,
               found: dict[str, list[Finding]]) -> Remediator:
    remediator = Remediator(settings, sessions, "test", rules=engine.rules)
    remediator.execute(remediator.plan([f.id for fs in found.values() for f in fs], apply=True))
    return remediator


def _actions(sessions: sessionmaker[Session]) -> list[tuple[str, str, str | None]]:
    with sessions() as session:
        return [(a.action, a.status, a.detail) for a in session.scalars(select(RemediationAction)
                                                                         .order_by(RemediationAction.id))]


def test_admin_writer_acts_for_a_suspended_owner_and_can_restore(
    emulator: Emulator, settings: Settings, sessions: sessionmaker[Session], scanner: MiniScanner,
    engine: PolicyEngine,
) -> None:
    assert emulator.workspace.users[SAM].suspended
    found = scan(scanner, engine, sessions, ["old_roster_suspended"])
    assert [f.rule_id for f in found["old_roster_suspended"]] == ["public-contractor-pii"]
    before = len(drive_events(emulator))
    remediator = _remediate(settings, sessions, engine, found)
    [deleted] = drive_events(emulator)[before:]
    assert (deleted["kind"], deleted["fileId"], deleted["actor"]) == (
        "permission.deleted", fid("old_roster_suspended"), ADMIN)
    note = f"acted as {ADMIN}: owner {SAM} cannot be impersonated (suspended or deleted)"
    assert _actions(sessions) == [
        ("revoke", "verified", f"permission removed ({note})"),
        ("notify", "applied", f"queued for {SAM} on 1 channel(s)"),  # no crawl recorded SAM as suspended here
    ]
    with sessions() as session:
        assert session.scalars(select(Finding)).one().status == "remediated"
        revoke_id = session.scalars(select(RemediationAction.id).where(RemediationAction.action == "revoke")).one()
        event = session.scalars(select(AuditEvent).where(AuditEvent.event_type == "remediation.verified")).one()
        assert event.data["acted_as_admin"] is True
    result = remediator.restorer().restore(revoke_id, reason="owner asked")
    assert result.detail == f"re-created anyone reader permission ({note})"
    assert drive_events(emulator)[-1]["kind"] == "permission.created"
    assert any(p.type == "anyone" for p in scanner.read("old_roster_suspended").permissions)


def test_admin_without_write_access_fails_with_an_actionable_detail(
    emulator: Emulator, settings: Settings, sessions: sessionmaker[Session], scanner: MiniScanner,
    engine: PolicyEngine,
) -> None:
    found = scan(scanner, engine, sessions, ["old_roster_suspended"])
    ws = emulator.workspace
    with ws.lock:
        admin_perm = next(p for p in ws.files[fid("old_roster_suspended")].permissions
                          if p.type == "user" and p.email == ADMIN)
        mutate.delete_permission(ws, fid("old_roster_suspended"), admin_perm.id, SAM)
    before = len(drive_events(emulator))
    _remediate(settings, sessions, engine, found)
    assert drive_events(emulator)[before:] == []
    assert _actions(sessions) == [
        ("revoke", "failed", SUSPENDED_DETAIL),
        ("notify", "applied", f"queued for {SAM} on 1 channel(s)"),  # no crawl recorded SAM as suspended here
    ]
    with sessions() as session:
        assert session.scalars(select(Finding)).one().status == "open"


def test_restore_refuses_when_the_admin_lost_access(
    emulator: Emulator, settings: Settings, sessions: sessionmaker[Session], scanner: MiniScanner,
    engine: PolicyEngine,
) -> None:
    found = scan(scanner, engine, sessions, ["old_roster_suspended"])
    remediator = _remediate(settings, sessions, engine, found)
    ws = emulator.workspace
    with ws.lock:
        admin_perm = next(p for p in ws.files[fid("old_roster_suspended")].permissions
                          if p.type == "user" and p.email == ADMIN)
        mutate.delete_permission(ws, fid("old_roster_suspended"), admin_perm.id, SAM)
    with sessions() as session:
        revoke_id = session.scalars(select(RemediationAction.id).where(RemediationAction.action == "revoke")).one()
    with pytest.raises(RestoreRefused, match="nothing restored: owner .* cannot see the file"):
        remediator.restorer().restore(revoke_id, reason="owner asked")


def test_restore_waits_for_the_files_lock(emulator: Emulator, settings: Settings, sessions: sessionmaker[Session],
                                          scanner: MiniScanner, engine: PolicyEngine) -> None:
    found = scan(scanner, engine, sessions, ["roster_csv"])
    remediator = _remediate(settings, sessions, engine, found)
    with sessions() as session:
        revoke_id = session.scalars(select(RemediationAction.id).where(RemediationAction.action == "revoke")).one()
    before = len(drive_events(emulator))
    results: list[str] = []
    lock = remediator.locks.lock(fid("roster_csv"))
    with lock:  # a remediation of the same file is in progress
        worker = threading.Thread(target=lambda: results.append(remediator.restorer().restore(revoke_id, reason="owner asked").status))
        worker.start()
        time.sleep(0.3)
        assert worker.is_alive() and drive_events(emulator)[before:] == []
    worker.join(10)
    assert results == ["restored"]
    assert [e["kind"] for e in drive_events(emulator)[before:]] == ["permission.created"]
