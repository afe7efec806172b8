"""A verdict changes only on evidence: a file whose content, publish state or permissions cannot be
read keeps its findings, is a pending read retried by every run (incremental ones too), turns
``unreadable`` after ``[limits] unreadable_after_attempts`` runs, makes the run partial, and is
analysed again when the fault goes away. One case per failure kind, against the emulator's faults."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from scanner.emulator import Emulator, FaultRule
from scanner.emulator.seeds.demo import fid
from scanner.emulator.state import mutate
from scanner.export.collect import ExportData
from scanner.run import ScanOptions, ScanResult, ScanService
from scanner.store.models import DriveFileRow, Finding, PendingRead, ScanCoverage, utcnow

INFO_RULE = "public-file-inventory"


@dataclass(frozen=True)
class Case:
    key: str  # demo file
    endpoint: str  # emulator endpoint that fails for that file only
    path: str  # the part of the request path after the file id
    aspect: str
    reason: str
    fault: str = "503"
    latency: float = 0.0


CASES = {
    "download": Case("roster_csv", "drive.files.download", "", "content", "download_failed"),
    "export": Case("roster_sheet", "drive.files.export", "/export", "content", "export_failed"),
    "publish check": Case("client_brief_published", "drive.revisions.list", "/revisions", "publish_state",
                          "publish_check_failed"),
    "permissions": Case("kestrel_qa_notes", "drive.permissions.list", "/permissions", "permissions",
                        "permissions_failed"),
    "timeout": Case("roster_xlsx", "drive.files.download", "", "content", "timeout", fault="latency",
                    latency=3.0),
}


def findings_of(app, file_id: str) -> dict[int, tuple[str, str]]:
    with app.sessions() as s:
        return {f.id: (f.status, f.detection_state) for f in s.scalars(
            select(Finding).where(Finding.file_id == file_id, Finding.rule_id != INFO_RULE))}


def pending_of(app, file_id: str) -> list[tuple[str, str, int, bool]]:
    with app.sessions() as s:
        return [(r.aspect, r.reason, r.attempts, r.unreadable) for r in s.scalars(
            select(PendingRead).where(PendingRead.file_id == file_id))]


def coverage_counts(app, run_id: int) -> tuple[int, int]:
    with app.sessions() as s:
        rows = list(s.scalars(select(ScanCoverage).where(ScanCoverage.run_id == run_id)))
    return sum(c.files_pending for c in rows), sum(c.files_unreadable for c in rows)


def new_revision(emulator: Emulator, file_id: str) -> None:
    """The owner edits the file (the same sensitive content plus a line): a new revision to read."""
    ws = emulator.workspace
    with ws.lock:
        f = ws.files[file_id]
        if f.is_native:
            mutate.edit_content(ws, file_id, f.owner or "system", name=f.name)
        else:
            mutate.edit_content(ws, file_id, f.owner or "system", content=(f.content or b"") + b"\n")


def snapshot_of(app, file_id: str) -> tuple[str | None, str | None, str]:
    with app.sessions() as s:
        row = s.get(DriveFileRow, file_id)
        assert row is not None
        return row.modified_time, row.content_revision, row.content_status


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_an_unreadable_file_keeps_its_findings_and_is_retried_until_read(make_app, emulator, case: Case) -> None:
    google = {"http_timeout_seconds": 1.0} if case.fault == "latency" else {}
    app = make_app(limits={"max_retries": 1, "unreadable_after_attempts": 2}, google=google)
    file_id = fid(case.key)
    first = ScanService(app).run(ScanOptions(full=True))
    assert first.status == "completed"
    before = findings_of(app, file_id)
    assert before and all(v == ("open", "active") for v in before.values()), before

    new_revision(emulator, file_id)
    emulator.set_faults([FaultRule(case.endpoint, kind=case.fault, latency=case.latency,
                                   path=f"*/files/{file_id}{case.path}*")])
    results: list[ScanResult] = []
    for attempt in (1, 2):
        result = ScanService(app).run(ScanOptions(full=False))
        results.append(result)
        # Nothing was resolved or made inactive because the file could not be read.
        assert result.findings_resolved == 0
        assert findings_of(app, file_id) == before
        assert pending_of(app, file_id) == [(case.aspect, case.reason, attempt, attempt == 2)]
        assert result.status == "partial"
        expected = (1, 0) if attempt == 1 else (0, 1)
        assert (result.files_pending, result.files_unreadable) == expected
        assert coverage_counts(app, result.run_id) == expected

    # Listed as unreadable in the exports, with the reason.
    with app.sessions() as s:
        data = ExportData(s, since=None, statuses=(), now=utcnow(), breach_deadline_hours=72)
        gaps = {g.file_id: g for g in data.content_gaps()}
    assert gaps[file_id].content_status == "unreadable"
    assert case.reason in gaps[file_id].reason

    emulator.set_faults([])
    last = ScanService(app).run(ScanOptions(full=False))
    assert (last.status, last.files_pending, last.files_unreadable) == ("completed", 0, 0)
    assert pending_of(app, file_id) == []
    assert findings_of(app, file_id) == before
    modified, revision, status = snapshot_of(app, file_id)
    assert modified == emulator.workspace.files[file_id].modified_time  # the new revision was read
    assert status == "analysed"
    with app.sessions() as s:
        row = s.get(DriveFileRow, file_id)
        assert row is not None and revision == row_to_revision(row)


def row_to_revision(row: DriveFileRow) -> str:
    from scanner.store.snapshot import row_to_file

    return row_to_file(row).revision_key


def test_scans_show_prints_pending_and_unreadable_per_target(make_sqlite_app, emulator) -> None:
    from scanner.cli.context import State
    from scanner.cli.scans import scans

    app = make_sqlite_app(limits={"max_retries": 1})
    ScanService(app).run(ScanOptions(full=True))
    roster = fid("roster_csv")
    new_revision(emulator, roster)
    emulator.set_faults([FaultRule("drive.files.download", kind="503", path=f"*/files/{roster}*")])
    result = ScanService(app).run(ScanOptions(full=False))
    state = State(None, 0, False)
    state._app = app
    out = CliRunner().invoke(scans, ["show", str(result.run_id), "--format", "json"], obj=state)
    assert out.exit_code == 0, out.output
    coverage = {c["key"]: c for c in json.loads(out.output)["coverage"]}
    owner = emulator.workspace.files[roster].owner
    assert (coverage[owner]["files_pending"], coverage[owner]["files_unreadable"]) == (1, 0)
    assert coverage[owner]["pending_reasons"] == {"download_failed": 1}
    assert sum(c["files_pending"] for c in coverage.values()) == 1
    table = CliRunner().invoke(scans, ["show", str(result.run_id), "--format", "csv"], obj=state)
    assert table.exit_code == 0, table.output
    rows = {r["target"]: r for r in csv.DictReader(io.StringIO(table.output))}
    assert (rows[owner]["files_pending"], rows[owner]["reason"]) == ("1", "not read: download_failed ×1")


@pytest.mark.parametrize("command", ["scan", "schedule run --once"])
def test_a_partial_run_exits_9(make_sqlite_app, emulator, command: str) -> None:
    from scanner.cli.context import State
    from scanner.cli.scan import scan
    from scanner.cli.schedule import schedule_group

    app = make_sqlite_app(limits={"max_retries": 0})
    roster = fid("roster_csv")
    emulator.set_faults([FaultRule("drive.files.download", kind="503", path=f"*/files/{roster}*")])
    state = State(None, 0, False)
    state._app = app
    group, args = (scan, ["--full", "--no-progress"]) if command == "scan" else (schedule_group,
                                                                                 ["run", "--once", "--full"])
    out = CliRunner().invoke(group, args, obj=state)
    assert out.exit_code == 9, out.output
    assert "1 pending, 0 unreadable" in out.output
