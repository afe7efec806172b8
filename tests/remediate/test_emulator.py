"""Remediation against the emulator's demo workspace over real HTTP with the real googleapiclient."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.connectors.google.drive_ops import DriveOps, google_ops_factory
from scanner.core.errors import RemediationRefused
from scanner.emulator import Emulator
from scanner.emulator.seeds.demo import DOMAIN, LIAM, fid
from scanner.policy.evaluate import PolicyEngine
from scanner.remediate.engine import Remediator
from scanner.remediate.restore import Restorer, RestoreRefused
from scanner.store.audit import verify_chain
from scanner.store.models import AuditEvent, Finding, Notification, RemediationAction
from scanner.store.repo import FindingRepo
from tests.remediate.conftest import MiniScanner, drive_events, new_run, scan

RISKY = ["roster_sheet", "roster_csv", "deploy_notes_txt", "client_brief_published", "peregrine_review_pptx",
         "offsite_recipe", "candidate_shortlist"]


def _remediator(settings: Settings, sessions: sessionmaker[Session], engine: PolicyEngine, **kw: Any) -> Remediator:
    return Remediator(settings, sessions, "test", rules=engine.rules, **kw)


def _ids(found: dict[str, list[Finding]], keys: list[str] | None = None) -> list[int]:
    return [f.id for k, fs in found.items() if keys is None or k in keys for f in fs]


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    out = []
    for e in events:
        perm = e["before"] or e["after"] or {}
        out.append((e["kind"], e["fileId"], perm.get("id") or perm.get("revisionId")))
    return sorted(out)


def test_enforce_revokes_exactly_the_risky_permissions(
    emulator: Emulator, settings: Settings, sessions: sessionmaker[Session], scanner: MiniScanner,
    engine: PolicyEngine,
) -> None:
    found = scan(scanner, engine, sessions, RISKY, run_id=new_run(sessions))
    assert {k: sorted(f.rule_id for f in fs) for k, fs in found.items()} == {
        "roster_sheet": ["public-contractor-pii"],
        "roster_csv": ["public-contractor-pii"],
        "deploy_notes_txt": ["exposed-credentials"],
        "client_brief_published": ["public-client-confidential"],
        "peregrine_review_pptx": ["public-client-confidential"],
        "offsite_recipe": ["public-file-inventory"],
        "candidate_shortlist": ["public-contractor-pii"],
    }
    baseline = len(emulator.events)
    remediator = _remediator(settings, sessions, engine)
    plan = remediator.plan(_ids(found), apply=None)
    report = remediator.execute(plan)

    events = drive_events(emulator)[baseline:] if baseline else drive_events(emulator)
    domain_perm = next(e["after"]["id"] for e in events if e["kind"] == "permission.created")
    assert _summary(events) == sorted([
        ("permission.deleted", fid("roster_sheet"), "anyoneWithLink"),
        ("permission.deleted", fid("roster_csv"), "anyoneWithLink"),
        ("permission.deleted", fid("deploy_notes_txt"), "anyoneWithLink"),
        ("revision.unpublished", fid("client_brief_published"), "2"),
        ("permission.created", fid("peregrine_review_pptx"), domain_perm),
        ("permission.deleted", fid("peregrine_review_pptx"), "anyoneWithLink"),
    ])
    created = next(e["after"] for e in events if e["kind"] == "permission.created")
    assert (created["type"], created["domain"], created["role"], created["allowFileDiscovery"]) == \
        ("domain", DOMAIN, "reader", False)
    assert report.stopped is None
    assert report.status_counts == {"verified": 5, "skipped": 1, "applied": 6}

    with sessions() as session:
        actions = session.scalars(select(RemediationAction).order_by(RemediationAction.id)).all()
        skipped = [a for a in actions if a.status == "skipped"]
        assert len(skipped) == 1 and skipped[0].file_id == fid("candidate_shortlist")
        assert f"fix on ancestor {fid('recruiting_folder')}" in (skipped[0].detail or "")
        revoke = next(a for a in actions if a.file_id == fid("roster_sheet") and a.action == "revoke")
        assert revoke.before is not None and revoke.before["permission"]["id"] == "anyoneWithLink"
        assert revoke.after == {"permission": None}
        statuses = {f.file_id: f.status for f in session.scalars(select(Finding))}
        assert statuses == {
            fid("roster_sheet"): "remediated", fid("roster_csv"): "remediated",
            fid("deploy_notes_txt"): "remediated", fid("client_brief_published"): "remediated",
            fid("peregrine_review_pptx"): "remediated", fid("offsite_recipe"): "open",
            fid("candidate_shortlist"): "open",
        }
        # One digest per owner (maya: 2 rosters + the inherited one still to fix), no content in it.
        notes = session.scalars(select(Notification).order_by(Notification.recipient)).all()
        assert [(n.recipient, len(n.payload["items"])) for n in notes] == [
            ("jonas.weber@tessera-labs.com", 1), ("liam.novak@tessera-labs.com", 1),
            ("maya.chen@tessera-labs.com", 3), ("priya.raman@tessera-labs.com", 1)]
        maya = notes[2].body
        assert "Candidate shortlist" in maya and "still to do: remove anyone with the link (reader)" in maya
        assert "Contractor roster — March 2026" in maya and "removed anyone with the link (reader access)" in maya
        assert "elena" not in maya.lower() and "@gmail.com" not in maya
        assert verify_chain(session).ok
        kinds = [e.event_type for e in session.scalars(select(AuditEvent))]
        assert kinds.count("remediation.verified") == 5 and kinds.count("finding.remediated") == 5

    # A second evaluation: the fixed files no longer match; a complete run leaves them remediated/inactive.
    run2 = new_run(sessions)
    again = scan(scanner, engine, sessions, RISKY, run_id=run2)
    assert {k for k, fs in again.items() if fs} == {"offsite_recipe", "candidate_shortlist"}
    with sessions() as session:
        repo = FindingRepo(session, "test")
        partial = repo.close_missing(run2, complete=False, covered_owners=["maya.chen@tessera-labs.com"])
        assert partial.resolved == () and partial.deactivated == ()
        report2 = repo.close_missing(run2, complete=True, covered_owners=[
            "maya.chen@tessera-labs.com", "jonas.weber@tessera-labs.com", LIAM, "priya.raman@tessera-labs.com"])
        session.commit()
        rows = {f.file_id: (f.status, f.detection_state) for f in session.scalars(select(Finding))}
    assert rows[fid("roster_sheet")] == ("remediated", "inactive")
    assert rows[fid("deploy_notes_txt")] == ("remediated", "inactive")
    assert rows[fid("candidate_shortlist")] == ("open", "active")
    assert rows[fid("offsite_recipe")] == ("open", "active")
    assert report2.resolved == () and len(report2.deactivated) == 5


def test_dry_run_changes_nothing(emulator: Emulator, settings: Settings, sessions: sessionmaker[Session],
                                 scanner: MiniScanner, engine: PolicyEngine) -> None:
    found = scan(scanner, engine, sessions, ["roster_sheet", "deploy_notes_txt"])
    before = len(drive_events(emulator))
    dry = settings.with_overrides(remediation={"mode": "dry-run"})
    report = _remediator(dry, sessions, engine).execute(_remediator(dry, sessions, engine).plan(_ids(found),
                                                                                                 apply=None))
    assert len(drive_events(emulator)) == before
    assert report.status_counts == {"planned": 4}
    with sessions() as session:
        assert {f.status for f in session.scalars(select(Finding))} == {"open"}
        assert session.scalars(select(Notification)).all() == []


def test_restore_brings_the_permission_back_exactly(emulator: Emulator, settings: Settings,
                                                    sessions: sessionmaker[Session], scanner: MiniScanner,
                                                    engine: PolicyEngine) -> None:
    original = scanner.read("roster_sheet").permissions
    found = scan(scanner, engine, sessions, ["roster_sheet"])
    remediator = _remediator(settings, sessions, engine)
    report = remediator.execute(remediator.plan(_ids(found), apply=None))
    assert report.status_counts["verified"] == 1
    assert [p.id for p in scanner.read("roster_sheet").permissions] == [p.id for p in original
                                                                         if p.type != "anyone"]
    with sessions() as session:
        revoke = session.scalars(select(RemediationAction).where(RemediationAction.action == "revoke")).one()
        revoke_id, before = revoke.id, revoke.before
    result = Restorer(settings, sessions, "test").restore(revoke_id, reason="owner asked")
    assert result.status == "restored"
    restored = {p.id: p.raw for p in scanner.read("roster_sheet").permissions}
    assert before is not None and restored["anyoneWithLink"] == before["permission"]
    assert sorted(restored) == sorted(p.id for p in original)
    with sessions() as session:
        finding = session.scalars(select(Finding)).one()
        assert finding.status == "open"
        row = session.get_one(RemediationAction, result.action_id)
        assert (row.action, row.restores_action_id, row.status) == ("restore", revoke_id, "restored")
    # Restoring twice, or when an equivalent permission exists, is refused.
    with pytest.raises(RestoreRefused, match="already restored"):
        Restorer(settings, sessions, "test").restore(revoke_id, reason="owner asked")
    created = [e for e in drive_events(emulator) if e["kind"] == "permission.created"]
    assert len(created) == 1 and created[0]["after"]["type"] == "anyone"


def test_restore_refuses_when_an_equivalent_permission_exists(
    emulator: Emulator, settings: Settings, sessions: sessionmaker[Session], scanner: MiniScanner,
    engine: PolicyEngine,
) -> None:
    found = scan(scanner, engine, sessions, ["roster_csv"])
    remediator = _remediator(settings, sessions, engine)
    remediator.execute(remediator.plan(_ids(found), apply=None))
    with sessions() as session:
        revoke_id = session.scalars(select(RemediationAction.id).where(RemediationAction.action == "revoke")).one()
    # Someone re-shared the file in the meantime.
    from scanner.emulator.seeds.builder import anyone_perm
    from scanner.emulator.state import mutate

    with emulator.workspace.lock:
        mutate.add_permission(emulator.workspace, fid("roster_csv"), "maya.chen@tessera-labs.com",
                              anyone_perm("writer"))
    with pytest.raises(RestoreRefused, match="equivalent permission already exists"):
        Restorer(settings, sessions, "test").restore(revoke_id, reason="owner asked")


def test_max_actions_refuses_before_any_change(emulator: Emulator, settings: Settings,
                                               sessions: sessionmaker[Session], scanner: MiniScanner,
                                               engine: PolicyEngine) -> None:
    found = scan(scanner, engine, sessions, ["roster_sheet", "roster_csv", "deploy_notes_txt"])
    before = len(drive_events(emulator))
    limited = settings.with_overrides(remediation={"max_actions_per_run": 2})
    remediator = _remediator(limited, sessions, engine)
    with pytest.raises(RemediationRefused, match="3 actions exceed max_actions_per_run=2"):
        remediator.execute(remediator.plan(_ids(found), apply=None))
    assert len(drive_events(emulator)) == before
    with sessions() as session:
        assert session.scalars(select(RemediationAction)).all() == []
        assert [e.event_type for e in session.scalars(select(AuditEvent))][-1] == "remediation.refused"


def test_kill_switch_stops_before_the_next_action(emulator: Emulator, settings: Settings,
                                                  sessions: sessionmaker[Session], scanner: MiniScanner,
                                                  engine: PolicyEngine) -> None:
    found = scan(scanner, engine, sessions, ["roster_sheet", "roster_csv", "deploy_notes_txt"])
    before = len(drive_events(emulator))
    kill = Path(settings.remediation.kill_switch_file)
    real = google_ops_factory(settings)

    class Tripwire:
        """Real Drive operations; the first delete flips the kill switch (an operator pulling the plug)."""

        def __init__(self, inner: DriveOps) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def delete_permission(self, file_id: str, permission_id: str) -> bool:
            result = self.inner.delete_permission(file_id, permission_id)
            kill.write_text("stop")
            return result

    remediator = _remediator(settings, sessions, engine,
                             ops_factory=lambda owner, drive: Tripwire(real(owner, drive)))  # type: ignore[arg-type]
    report = remediator.execute(remediator.plan(_ids(found), apply=None))
    assert report.stopped == "kill switch"
    assert [e["kind"] for e in drive_events(emulator)[before:]] == ["permission.deleted"]
    # With the switch in place, nothing at all happens.
    report2 = remediator.execute(remediator.plan(_ids(found), apply=None))
    assert report2.stopped == "kill switch" and report2.action_ids == []
    assert len(drive_events(emulator)) == before + 1


def test_inherited_permission_fixed_on_ancestor_when_asked(emulator: Emulator, settings: Settings,
                                                           sessions: sessionmaker[Session], scanner: MiniScanner,
                                                           engine: PolicyEngine) -> None:
    found = scan(scanner, engine, sessions, ["candidate_shortlist"])
    before = len(drive_events(emulator))
    remediator = _remediator(settings, sessions, engine)
    report = remediator.execute(remediator.plan(_ids(found), apply=None, fix_on_ancestor=True))
    assert report.status_counts.get("verified") == 1
    assert _summary(drive_events(emulator)[before:]) == [
        ("permission.deleted", fid("recruiting_folder"), "anyoneWithLink")]
    assert not any(p.type == "anyone" for p in scanner.read("candidate_shortlist").permissions)


def test_inherited_shared_drive_permission_fixed_on_the_folder_as_a_drive_member(
    emulator: Emulator, settings: Settings, sessions: sessionmaker[Session], scanner: MiniScanner,
    engine: PolicyEngine,
) -> None:
    """The KESTREL folder's anyone-link sits in Client Delivery, a drive the admin is not a member of:
    Google has no domain-admin access for files.get, so a member of the drive must act."""
    found = scan(scanner, engine, sessions, ["kestrel_qa_notes"])
    before = len(drive_events(emulator))
    remediator = _remediator(settings, sessions, engine)
    report = remediator.execute(remediator.plan(_ids(found), apply=None, fix_on_ancestor=True))
    assert report.status_counts.get("failed") is None, report.status_counts
    changed = drive_events(emulator)[before:]
    assert {e["fileId"] for e in changed} == {fid("kestrel_folder")}
    assert {e["actor"] for e in changed} == {"liam.novak@tessera-labs.com"}  # organizer of Client Delivery
    assert not any(p.type == "anyone" for p in scanner.read("kestrel_qa_notes").permissions)


RERUN = " (or rerun with --fix-on-ancestor / [remediation] fix_inherited_on_ancestor)"


@pytest.mark.parametrize(("folder_in_snapshot", "scan_saw_inherited", "expected"), [
    # The plan skips it (the scan recorded the permission as inherited) ...
    (True, True, 'inherited from folder "Recruiting": fix on ancestor {folder}' + RERUN),
    (False, True, "inherited from {folder}: fix on ancestor {folder}" + RERUN),
    # ... or the live re-read does (the scan thought it direct).
    (True, False, 'inherited from folder "Recruiting": fix on ancestor {folder}'),
    (False, False, "inherited from {folder}: fix on ancestor {folder}"),
])
def test_skipped_inherited_permission_names_the_folder(
    emulator: Emulator, settings: Settings, sessions: sessionmaker[Session], scanner: MiniScanner,
    engine: PolicyEngine, folder_in_snapshot: bool, scan_saw_inherited: bool, expected: str,
) -> None:
    found = scan(scanner, engine, sessions, ["candidate_shortlist"])
    with sessions() as session:
        if folder_in_snapshot:
            FindingRepo(session, "test").ensure_file(scanner.read("recruiting_folder"))
        if not scan_saw_inherited:
            finding = session.get_one(Finding, _ids(found)[0])
            finding.matched_permissions = [{**p, "inherited": False, "inherited_from": None}
                                           for p in finding.matched_permissions]
        session.commit()
    before = len(drive_events(emulator))
    remediator = _remediator(settings, sessions, engine)
    report = remediator.execute(remediator.plan(_ids(found), apply=None))
    assert report.status_counts.get("skipped") == 1
    assert len(drive_events(emulator)) == before
    with sessions() as session:
        row = session.scalars(select(RemediationAction).where(RemediationAction.action == "revoke")).one()
        assert row.status == "skipped"
        assert row.detail == expected.format(folder=fid("recruiting_folder"))


def test_permission_changed_since_scan_is_refused(emulator: Emulator, settings: Settings,
                                                 sessions: sessionmaker[Session], scanner: MiniScanner,
                                                 engine: PolicyEngine) -> None:
    found = scan(scanner, engine, sessions, ["roster_sheet"])
    from scanner.emulator.state import mutate

    with emulator.workspace.lock:
        mutate.update_permission(emulator.workspace, fid("roster_sheet"), "anyoneWithLink", "someone", role="writer")
    before = len(drive_events(emulator))
    remediator = _remediator(settings, sessions, engine)
    report = remediator.execute(remediator.plan(_ids(found), apply=None))
    assert report.status_counts.get("refused") == 1
    assert len(drive_events(emulator)) == before
    with sessions() as session:
        row = session.scalars(select(RemediationAction).where(RemediationAction.action == "revoke")).one()
        assert row.detail == "changed since the scan: role reader -> writer"


def test_already_gone_is_recorded(emulator: Emulator, settings: Settings, sessions: sessionmaker[Session],
                                  scanner: MiniScanner, engine: PolicyEngine) -> None:
    found = scan(scanner, engine, sessions, ["deploy_notes_txt"])
    from scanner.emulator.state import mutate

    with emulator.workspace.lock:
        mutate.delete_permission(emulator.workspace, fid("deploy_notes_txt"), "anyoneWithLink", "someone")
    remediator = _remediator(settings, sessions, engine)
    report = remediator.execute(remediator.plan(_ids(found), apply=None))
    assert report.status_counts.get("already_gone") == 1
