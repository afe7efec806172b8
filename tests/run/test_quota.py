"""The quota ledger of a run, publish checks that cost less, and ``scan --estimate``, against the emulator."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from scanner.cli.main import cli
from scanner.connectors.google.quota import method_cost
from scanner.emulator.seeds.demo import LIAM, fid
from scanner.emulator.state import mutate
from scanner.run import ScanOptions, ScanService
from scanner.store.models import DriveFileRow, Finding
from scanner.store.quota import run_ledger


def _cli(app, *args: str):
    return CliRunner().invoke(cli, list(args), env={"SHARESCAN_DATABASE_URL": app.settings.database_url,
                                                    "COLUMNS": "200"})


def test_a_run_records_calls_and_units_per_method_as_google_counts_them(make_app, emulator) -> None:
    app = make_app()
    result = ScanService(app).run(ScanOptions(full=True))
    with app.sessions() as s:
        ledger = {line.method: (line.calls, line.units) for line in run_ledger(s, result.run_id)}
    served = emulator.counters
    for method in ("drive.files.list", "drive.permissions.list", "drive.revisions.list"):
        calls, units = ledger[method]
        assert calls == served[method] > 0, method
        assert units == calls * method_cost(method)
    # every attempt is charged (a connection the client found dropped is sent again)
    assert ledger["drive.files.export"][0] >= served["drive.files.export"] > 0
    assert ledger["drive.files.get[media]"][1] == 200 * ledger["drive.files.get[media]"][0]
    assert ledger["drive.revisions.list"][1] == 100 * ledger["drive.revisions.list"][0]  # a list call
    shown = _cli(app, "scans", "show", str(result.run_id), "--format", "json")
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    assert {r["method"]: (r["calls"], r["units"]) for r in body["quota"]} == ledger
    assert body["api_units"] == sum(u for _, u in ledger.values()) == sum(result.api_units_by_method.values())
    table = _cli(app, "scans", "show", str(result.run_id))
    assert "quota ledger" in table.output and "drive.revisions.list" in table.output


def test_an_unchanged_full_scan_reads_the_publish_state_only_of_published_docs(make_app, emulator) -> None:
    app = make_app()
    first = ScanService(app).run(ScanOptions(full=True))
    with app.sessions() as s:
        editors = s.scalars(select(DriveFileRow).where(DriveFileRow.publish_checked_at.is_not(None))).all()
        published = {r.id for r in editors if r.published}
    assert editors and published
    emulator.reset_counters()
    second = ScanService(app).run(ScanOptions(full=True))
    assert emulator.counters.get("drive.revisions.list", 0) == len(published) < len(editors)
    assert second.findings_new == 0 and second.findings_active == first.findings_active
    with app.sessions() as s:  # the states not read again stand (nothing closed for lack of a read)
        assert {r.id for r in s.scalars(select(DriveFileRow).where(DriveFileRow.published.is_(True)))} == published


def test_a_doc_published_without_a_revision_moving_is_found_by_the_next_incremental_run(make_app, emulator) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    kickoff = fid("bluefin_kickoff")
    with emulator.workspace.lock:  # publishing moves no revision: only the Changes feed reports it
        doc = emulator.workspace.files[kickoff]
        mutate.set_published(emulator.workspace, doc.id, doc.revisions[-1].id, LIAM, published=True,
                             publish_auto=True, published_outside_domain=True)
    ScanService(app).run(ScanOptions(full=False))
    with app.sessions() as s:
        row = s.get(DriveFileRow, kickoff)
        assert row is not None and row.published
        assert "public-client-confidential" in set(s.scalars(select(Finding.rule_id).where(Finding.file_id == kickoff)))


def test_estimate_forecasts_units_and_time_from_the_inventory(make_app, emulator) -> None:
    app = make_app()
    result = ScanService(app).run(ScanOptions(full=True))
    shown = _cli(app, "scan", "--estimate", "--format", "json")
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.output)
    assert body["files"] == result.files_seen
    full, unchanged, changed = body["forecasts"]
    assert full["calls"]["drive.files.list"] >= body["users"] + body["shared_drives"] - 1
    assert unchanged["calls"]["drive.changes.list"] == body["users"] + body["shared_drives"]
    assert "drive.revisions.list" not in unchanged["calls"]  # every Doc was read and none changed
    assert changed["total_units"] >= unchanged["total_units"]
    assert full["minimum_minutes"] >= round(full["total_units"] / body["project_units_per_minute"], 2)
    as_csv = _cli(app, "scan", "--estimate", "--format", "csv")
    assert as_csv.exit_code == 0 and as_csv.output.splitlines()[0] == "scan,method,calls,units,minimum_minutes"
