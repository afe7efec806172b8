"""A whole scan against the emulator's demo workspace over real HTTP: the findings, the fixes,
the second run, incremental changes, and two scans that must not overlap."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from scanner.core.errors import RunLockedError
from scanner.emulator.seeds.demo import EXPECTED
from scanner.emulator.state import mutate
from scanner.run import ScanOptions, ScanProgress, ScanService
from scanner.store.models import (
    AuditEvent,
    DriveFileRow,
    Finding,
    Notification,
    RemediationAction,
    ScanCoverage,
    ScanRun,
)

FLAGGED = {e.file_id for e in EXPECTED.values() if e.flagged}
NOT_FLAGGED = {e.file_id for e in EXPECTED.values() if not e.flagged}
INFO_RULE = "public-file-inventory"


def risky_findings(app) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    with app.sessions() as s:
        for f in s.scalars(select(Finding).where(Finding.rule_id != INFO_RULE)):
            out.setdefault(f.file_id, []).append(f)
    return out


def test_full_scan_flags_exactly_the_expected_files(make_app, emulator) -> None:
    app = make_app()
    result = ScanService(app).run(ScanOptions(full=True))
    assert result.status == "completed"
    found = risky_findings(app)
    assert set(found) == FLAGGED, {
        "missed": sorted(EXPECTED_NAME[i] for i in FLAGGED - set(found)),
        "extra": sorted(EXPECTED_NAME.get(i, i) for i in set(found) - FLAGGED),
    }
    # dry-run: nothing changed in Drive
    assert not [e for e in emulator.events if e["kind"].startswith(("permission.", "revision."))]
    with app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(RemediationAction).where(
            RemediationAction.mode == "enforce")) == 0


EXPECTED_NAME = {e.file_id: e.key for e in EXPECTED.values()}


def test_enforce_changes_only_risky_sharing_and_the_next_run_sees_it_fixed(make_app, emulator) -> None:
    app = make_app()
    first = ScanService(app).run(ScanOptions(full=True, apply=True))
    assert first.remediation_refused is None, first.remediation_refused
    changed = [e for e in emulator.events if e["kind"].startswith(("permission.", "revision."))]
    assert changed, "enforce changed nothing"
    touched = {e["fileId"] for e in changed}
    # Only flagged files, or the folder an inherited permission comes from, were changed.
    allowed = FLAGGED | {EXPECTED["recruiting_folder"].file_id, EXPECTED["kestrel_folder"].file_id}
    assert touched <= allowed, sorted(EXPECTED_NAME.get(i, i) for i in touched - allowed)
    assert not touched & {EXPECTED[k].file_id for k in ("marketing_one_pager", "offsite_recipe", "blog_draft")}
    with app.sessions() as s:
        remediated = s.scalar(select(func.count()).select_from(Finding).where(Finding.status == "remediated"))
        # what the fix left: the widest exposure once the verified actions took effect
        after = dict(s.execute(select(Finding.rule_id, Finding.exposure_after)
                               .where(Finding.status == "remediated")).all())
        verified = s.scalars(select(RemediationAction).where(RemediationAction.status == "verified")).all()
        analysed = s.scalar(select(func.sum(ScanCoverage.files_analysed)).where(ScanCoverage.run_id == first.run_id))
    assert remediated and remediated >= 5
    assert after and all(e in ("internal", "domain") for e in after.values()), sorted(after.items())
    assert after.get("public-client-confidential") == "domain"  # downgraded to the organisation
    # who acted: the impersonated owner, or a member of the shared drive; on behalf of the scan's actor
    assert verified and all(a.acted_as and a.acted_as.endswith("@tessera-labs.com") for a in verified)
    # files_analysed per target adds up to what the scan reports
    assert analysed == first.files_analysed > 0
    # the scan anchored the audit log: the chain, its checkpoint and the tables' state events all verify
    from scanner.export.auditlog import verify_log
    from scanner.export.signing import private_key

    trusted = private_key(app.settings.signing_key_path, create=False).public_key()
    with app.sessions() as s:
        check = verify_log(s, anchor_dir=app.settings.anchor_dir, trusted=trusted)
    assert check.ok, check.problems()
    assert check.latest is not None
    assert check.latest.reason == f"scan {first.run_id} completed"

    events_before = len(emulator.events)
    second = ScanService(app).run(ScanOptions(full=True, apply=True))
    assert second.status == "completed"
    assert second.findings_new == 0
    assert len(emulator.events) == events_before, "the second run changed sharing again"
    with app.sessions() as s:
        still = s.scalar(select(func.count()).select_from(Finding).where(Finding.status == "remediated"))
    assert still == remediated


def test_incremental_run_picks_up_exactly_a_new_share(make_app, emulator) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    payroll = EXPECTED["payroll_xlsx"].file_id
    assert payroll not in risky_findings(app)
    with emulator.workspace.lock:
        perm = mutate.make_permission(emulator.workspace, {"type": "anyone", "role": "reader"})
        mutate.add_permission(emulator.workspace, payroll, "payroll.owner@tessera-labs.com", perm)
    emulator.reset_counters()
    result = ScanService(app).run(ScanOptions(full=False))
    assert result.status == "completed"
    with app.sessions() as s:
        touched = set(s.scalars(select(DriveFileRow.id).where(DriveFileRow.last_run_id == result.run_id)))
    # Exactly the new share, plus the suspended user's files: a suspended user has no changes feed
    # (cannot be impersonated), so what the admin can see of their Drive is listed every run.
    assert touched == {payroll, EXPECTED["old_roster_suspended"].file_id}, touched
    assert payroll in risky_findings(app)
    list_calls = sum(v for k, v in emulator.counters.items() if k in ("drive.files.list",))
    # Incremental: changes.list per user and shared drive; files.list only for the suspended user.
    assert list_calls == 1, emulator.counters
    assert emulator.counters.get("drive.changes.list", 0) >= 1


def test_two_scans_at_once_run_exactly_once(make_app, emulator) -> None:
    from scanner.emulator import FaultRule

    app = make_app()
    emulator.set_faults([FaultRule("drive.files.list", kind="latency", latency=0.3)])
    errors: list[BaseException] = []
    results = []
    barrier = threading.Barrier(2)

    def scan() -> None:
        barrier.wait()
        try:
            results.append(ScanService(app).run(ScanOptions(full=True)))
        except RunLockedError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 1 and len(errors) == 1, (results, errors)
    assert "held by" in str(errors[0])
    with app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ScanRun)) == 1


@pytest.mark.parametrize("missing", ["domains", "service_account_file", "admin_subject"])
def test_scan_refuses_incomplete_settings_clearly(make_app, missing) -> None:
    from scanner.core.errors import ConfigError

    section = "organisation" if missing == "domains" else "google"
    app = make_app(**{section: {missing: [] if missing == "domains" else ""}})
    with pytest.raises(ConfigError, match=missing):
        ScanService(app).run(ScanOptions(full=True))


def test_unchanged_content_is_not_downloaded_again(make_app, emulator) -> None:
    app = make_app()
    first = ScanService(app).run(ScanOptions(full=True))
    assert first.files_analysed > 0
    emulator.reset_counters()
    second = ScanService(app).run(ScanOptions(full=True))
    assert second.files_analysed == 0
    assert second.content_cache_hits == first.files_analysed + first.files_not_analysed
    fetches = {k: v for k, v in emulator.counters.items() if k in ("drive.files.export", "drive.files.download")}
    assert not fetches, fetches
    # ...and the findings are the same, seen again rather than new.
    assert second.findings_new == 0
    assert second.findings_active == first.findings_active


def test_the_run_lock_names_the_run_while_it_runs(make_app, emulator) -> None:
    from scanner.store.models import RunLock as RunLockRow

    app = make_app()
    seen: list[int | None] = []

    class Probe(ScanProgress):
        def phase(self, name: str, total: int) -> None:
            with app.sessions() as s:
                seen.append(s.scalars(select(RunLockRow.run_id)).one())

    result = ScanService(app).run(ScanOptions(full=True), progress=Probe())
    assert seen == [result.run_id]


def test_findings_show_gives_the_evidence_without_values(make_app, emulator) -> None:
    import json

    from click.testing import CliRunner

    from scanner.cli.main import cli
    from scanner.emulator.seeds.demo import ROSTER_ROWS

    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    roster = EXPECTED["old_roster_suspended"].file_id  # header + ROSTER_ROWS[3:]
    with app.sessions() as s:
        finding = s.scalars(select(Finding).where(Finding.file_id == roster,
                                                  Finding.rule_id == "public-contractor-pii")).one()
    result = CliRunner().invoke(cli, ["findings", "show", str(finding.id), "--format", "json"],
                                env={"SHARESCAN_DATABASE_URL": app.settings.database_url})
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    people = {e["detector"]: e for e in shown["evidence"] if e["entity_type"] == "PERSON"}
    assert people["contractor_roster"]["count"] == len(ROSTER_ROWS[3:]) == 5  # the header row is not a person
    assert {e["entity_type"] for e in shown["evidence"]} >= {"PERSON", "EMAIL_ADDRESS", "PAY_RATE"}
    assert all("•" in e["masked_preview"] and len(e["value_hash"]) == 16 for e in shown["evidence"])
    for row in ROSTER_ROWS:
        assert row[0] not in result.output and row[1] not in result.output
    table = CliRunner().invoke(cli, ["findings", "show", str(finding.id)],
                               env={"SHARESCAN_DATABASE_URL": app.settings.database_url, "COLUMNS": "200"})
    assert table.exit_code == 0 and "evidence (values are never stored)" in table.output


def test_a_doc_published_from_a_shared_drive_is_found_and_unpublished(make_app, emulator) -> None:
    from scanner.emulator.seeds.demo import LIAM, fid

    kickoff = fid("bluefin_kickoff")  # "Orion Health BLUEFIN kickoff. Confidential." in the Client Delivery drive
    with emulator.workspace.lock:
        doc = emulator.workspace.files[kickoff]
        mutate.set_published(emulator.workspace, doc.id, doc.revisions[-1].id, LIAM, published=True,
                             publish_auto=True, published_outside_domain=True)
    app = make_app(notifications={"channels": ["webhook"], "cc": ["security@tessera-labs.com"],
                                  "webhook": {"url": "http://127.0.0.1:9/unreachable"}})
    result = ScanService(app).run(ScanOptions(full=True, apply=True))
    assert result.status == "completed" and result.remediation_refused is None
    with app.sessions() as s:
        rules = {f.rule_id for f in s.scalars(select(Finding).where(Finding.file_id == kickoff))}
        [notice] = [n for n in s.scalars(select(Notification)) if any(
            i["file_id"] == kickoff for i in n.payload["items"])]
        assert notice.recipient == "security@tessera-labs.com"  # shared-drive files have no owner
        assert 'shared drive: "Client Delivery"' in notice.body
    assert "public-client-confidential" in rules
    unpublished = [e for e in emulator.events if e["kind"] == "revision.unpublished" and e["fileId"] == kickoff]
    with app.sessions() as s:
        actions = [(a.action, a.status, a.detail) for a in s.scalars(
            select(RemediationAction).where(RemediationAction.file_id == kickoff, RemediationAction.mode == "enforce")
            .order_by(RemediationAction.id))]
    assert len(unpublished) == 1, actions
    # the admin is not a member of Client Delivery: a member of the drive acted (Google has no domain-admin
    # access for files.get or revisions.update)
    assert unpublished[0]["actor"] == LIAM
    assert [a[:2] for a in actions] == [("unpublish", "verified"), ("notify", "applied")]
    assert actions[0][2].endswith(f"(acted as {LIAM}, a member of the shared drive)")
    with app.sessions() as s:
        [event] = [e for e in s.scalars(select(AuditEvent).where(AuditEvent.event_type == "remediation.verified"))
                   if e.data["file_id"] == kickoff]
        assert (event.data["acting"], event.data["acted_as_admin"]) == (
            f"acted as {LIAM}, a member of the shared drive", False)
    assert not any(r.published for r in emulator.workspace.files[kickoff].revisions)


def test_an_internal_doc_shared_with_a_group_holding_an_outsider_is_flagged(make_app, emulator) -> None:
    from scanner.emulator.seeds.builder import group_perm
    from scanner.emulator.seeds.demo import MAYA, fid

    internal_copy = fid("client_brief_internal")  # the KESTREL brief, not flagged in the demo
    ws = emulator.workspace
    with ws.lock:
        ws.add_group("vendors@tessera-labs.com", "Vendors", [MAYA, "labeler.one@partner-studio.example"])
        mutate.add_permission(ws, internal_copy, MAYA, group_perm(ws, "vendors@tessera-labs.com"))
    plain = make_app()
    ScanService(plain).run(ScanOptions(full=True))
    assert internal_copy not in risky_findings(plain)
    expanded = make_app(google={"expand_groups": True})  # the same database: the next night, with the setting on
    ScanService(expanded).run(ScanOptions(full=True))
    [finding] = risky_findings(expanded)[internal_copy]
    assert (finding.rule_id, finding.exposure) == ("external-client-confidential", "external_group")
