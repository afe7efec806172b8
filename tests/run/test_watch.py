"""``sharescan watch`` (scanner.watch) end to end: a file made public through the emulator's Drive API (the real
googleapiclient over HTTP) while the watcher runs is found, scanned and revoked within one poll."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from scanner.connectors.google.client import GoogleClients
from scanner.core.errors import RunLockedError
from scanner.emulator.seeds.demo import LIAM, fid
from scanner.run import ScanOptions, ScanService
from scanner.store.models import ExposureDating, Finding, RemediationAction, ScanRun, WatchCursor
from scanner.watch import PollReport, Watcher

TARGET = fid("client_brief_internal")  # confidential client brief, shared with an internal group only
#: How long the test waits for the watcher before failing (a hang guard, not a speed assertion).
GIVE_UP_SECONDS = 120


def make_public(app, file_id: str) -> str:
    drive = GoogleClients(app.settings).drive(LIAM, write=True)
    perm = drive.permissions().create(fileId=file_id, body={"type": "anyone", "role": "reader"},
                                      fields="id").execute()
    return str(perm["id"])


def removed(emulator, file_id: str, perm_id: str) -> bool:
    return any(e["kind"] == "permission.deleted" and e.get("fileId") == file_id
               and (e.get("before") or {}).get("id") == perm_id for e in emulator.events)


class Polls:
    def __init__(self) -> None:
        self.reports: list[PollReport] = []
        self.event = threading.Event()

    def __call__(self, report: PollReport) -> None:
        self.reports.append(report)
        self.event.set()

    def wait_for(self, predicate) -> None:
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while not predicate():
            assert time.monotonic() < deadline, [r.as_dict() for r in self.reports]
            self.event.wait(0.2)
            self.event.clear()


def start(watcher: Watcher, polls: Polls) -> tuple[threading.Thread, threading.Event, list[BaseException]]:
    stop = threading.Event()
    errors: list[BaseException] = []

    def body() -> None:
        try:
            watcher.run(stop=stop, interval_seconds=0.3, on_poll=polls)
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    thread = threading.Thread(target=body, name="watch", daemon=True)
    thread.start()
    return thread, stop, errors


def test_a_file_made_public_while_watch_runs_is_revoked(make_app, emulator) -> None:
    app = make_app(remediation={"mode": "enforce", "max_actions_share": 1.0})
    ScanService(app).run(ScanOptions(full=True, apply=False))  # last night's scan, dry-run
    polls = Polls()
    thread, stop, errors = start(Watcher(app), polls)
    try:
        polls.wait_for(lambda: bool(polls.reports))  # the watcher is reading the log
        perm_id = make_public(app, TARGET)
        polls.wait_for(lambda: removed(emulator, TARGET, perm_id) or bool(errors))
        # a second watcher on the same database is refused while the first one runs
        with pytest.raises(RunLockedError):
            Watcher(app).run(max_polls=1)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not errors, errors
    handled = [r for r in polls.reports if TARGET in r.exposed]
    # Overlapping windows never hand the same event over twice (the restart test checks that exactly), but
    # the two events of one change (visibility and access scope) can reach the log on either side of a
    # poll, and the late one scans the file once more (it then finds it already fixed).
    assert 1 <= len(handled) <= 2, [r.as_dict() for r in polls.reports]
    report = handled[0]
    assert report.run_id is not None and report.latencies and report.latencies[0] > 0
    with app.sessions() as s:
        run = s.get(ScanRun, report.run_id)
        assert run is not None and run.kind == "watch" and run.status == "completed"
        findings = s.scalars(select(Finding).where(Finding.file_id == TARGET)).all()
        assert findings and any(f.status == "remediated" for f in findings)
        acted = s.scalars(select(RemediationAction).where(RemediationAction.file_id == TARGET,
                                                          RemediationAction.mode == "enforce",
                                                          RemediationAction.permission_id == perm_id)).all()
        assert acted and acted[0].status == "verified" and acted[0].run_id == report.run_id
        dating = s.get(ExposureDating, TARGET)
        assert dating is not None and dating.source == "audit_log" and dating.exposed_by_kind == "insider"
        cursor = s.get(WatchCursor, "drive")
        assert cursor is not None and cursor.position is not None and cursor.seen


def test_a_restarted_watcher_continues_from_its_cursor_without_scanning_twice(make_app, emulator) -> None:
    app = make_app()  # dry-run: the file stays public, so a second scan would show up
    first = Watcher(app)
    assert first.poll().exposed == []  # starts now: the demo's history is the scans' business
    make_public(app, TARGET)
    report = first.poll()
    assert report.exposed == [TARGET] and report.run_id is not None
    restarted = Watcher(app)  # a new process: only the database carries over
    again = restarted.poll()
    assert again.exposed == [] and again.new_events == 0 and again.events >= 1
    with app.sessions() as s:
        assert s.scalar(select(Finding.id).where(Finding.file_id == TARGET)) is not None
        assert s.get(WatchCursor, "drive").polls == 3  # type: ignore[union-attr]


def test_the_command_polls_once_and_findings_show_prints_the_timeline(make_app, emulator, tmp_path,
                                                                       monkeypatch) -> None:
    import json

    from click.testing import CliRunner

    from scanner.cli.main import cli

    app = make_app()
    s = app.settings
    config = tmp_path / "sharescan.toml"
    config.write_text(f"""
[organisation]
domains = ["tessera-labs.com"]
[database]
url = "{s.database_url}"
[google]
endpoint = "{s.google.endpoint}"
service_account_file = "{s.google.service_account_file}"
remediation_service_account_file = "{s.google.remediation_service_account_file}"
admin_subject = "{s.google.admin_subject}"
[detect]
key_file = "{s.evidence_key_path}"
[remediation]
mode = "dry-run"
max_actions_share = 1.0
""")
    monkeypatch.setenv("SHARESCAN_CONFIG", str(config))
    Watcher(app).poll()  # the cursor starts here
    make_public(app, TARGET)
    result = CliRunner().invoke(cli, ["watch", "--once", "--apply", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    poll = json.loads(result.stdout.strip().splitlines()[-1])
    assert poll["exposed"] == [TARGET] and poll["audit_calls"] >= 4
    with app.sessions() as session:
        finding_id = session.scalar(select(Finding.id).where(Finding.file_id == TARGET))
    shown = CliRunner().invoke(cli, ["findings", "show", str(finding_id), "--format", "json"], catch_exceptions=False)
    record = json.loads(shown.stdout)
    assert record["exposure"]["source"] == "audit_log" and record["exposure"]["reached_outside"] == "no"
    events = [e["event"] for e in record["timeline"]]
    assert events[0] == "exposed" and "detected by sharescan" in events
    assert any(e.endswith("by sharescan") for e in events) and "remediated" in events
    # who exposed it: a domain and a keyed hash (the owner and whom sharescan acted as are named, by design)
    assert record["exposure"]["exposed_by"].startswith("someone@tessera-labs.com (#")
    assert record["timeline"][0]["who"] == record["exposure"]["exposed_by"]
