"""A scan killed with SIGKILL in the middle resumes on the next run, without redoing finished
users and with the same findings as an uninterrupted scan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scanner.emulator import FaultRule
from scanner.emulator.seeds.demo import EXPECTED
from scanner.run import ScanOptions, ScanService
from scanner.store.models import Finding, ScanCoverage, ScanRun

FLAGGED = {e.file_id for e in EXPECTED.values() if e.flagged}


def write_config(app, path: Path) -> None:
    s = app.settings
    path.write_text(
        f'[organisation]\ndomains = {s.organisation.domains!r}\n'
        f'[google]\nservice_account_file = "{s.google.service_account_file}"\n'
        f'admin_subject = "{s.google.admin_subject}"\nendpoint = "{s.google.endpoint}"\n'
        f'[database]\nurl = "{s.database.url}"\n[detect]\nkey_file = "{s.detect.key_file}"\n'
        f'[limits]\nworkers = 1\n'.replace("'", '"'),
        encoding="utf-8",
    )


def test_killed_scan_resumes_to_the_same_result(make_sqlite_app, emulator, tmp_path: Path) -> None:
    app = make_sqlite_app()
    config = tmp_path / "sharescan.toml"
    write_config(app, config)
    # Slow every listing page down so the kill lands mid-crawl.
    emulator.set_faults([FaultRule("drive.files.list", kind="latency", latency=0.4)])
    proc = subprocess.Popen([sys.executable, "-m", "scanner.cli.main", "--config", str(config), "scan", "--full",
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "SHARESCAN_DATA_DIR": str(tmp_path / "data")})
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        with app.sessions() as s:
            done = s.scalar(select(func.count()).select_from(ScanCoverage).where(ScanCoverage.status == "done")) or 0
        if done >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with app.sessions() as s:
        killed = s.scalars(select(ScanRun)).one()
        assert killed.status == "running"  # it never got to say otherwise
        finished_before = {c.target_id for c in s.scalars(select(ScanCoverage).where(ScanCoverage.status == "done"))}
    assert finished_before

    emulator.set_faults([])
    emulator.reset_counters()
    result = ScanService(app).run(ScanOptions(full=True))
    assert result.status == "completed"
    assert result.resumed_from == killed.id
    with app.sessions() as s:
        assert s.get(ScanRun, killed.id).status == "interrupted"
        coverage = {c.target_id: c for c in s.scalars(select(ScanCoverage).where(ScanCoverage.run_id == result.run_id))}
        risky = set(s.scalars(select(Finding.file_id).where(Finding.rule_id != "public-file-inventory")))
    # Every target the killed run finished was carried over, not crawled again.
    for target_id in finished_before:
        assert coverage[target_id].status == "done"
        assert (coverage[target_id].reasons or {}).get("carried") is True, coverage[target_id].reasons
    # The same findings as an uninterrupted scan (test_scan.py checks that one against the seed).
    assert risky == FLAGGED


class _InterruptedAnalysis:
    """A content pipeline that is killed (Ctrl-C) on the first file it is given."""

    def analyze_bytes(self, *_args: object) -> None:
        raise KeyboardInterrupt


def test_a_resumed_run_also_analyses_what_earlier_runs_in_the_chain_crawled(make_app) -> None:
    app = make_app()
    # Run 1 crawls everything and is interrupted while analysing; run 2 resumes it (every target
    # carried, nothing crawled again) and is interrupted too; run 3 resumes run 2.
    for _ in range(2):
        with pytest.raises(KeyboardInterrupt):
            ScanService(app, pipeline_factory=_InterruptedAnalysis).run(ScanOptions(full=True))
    result = ScanService(app).run(ScanOptions(full=True))
    assert (result.status, result.resumed_from) == ("completed", 2)
    with app.sessions() as s:
        assert [r.status for r in s.scalars(select(ScanRun).order_by(ScanRun.id))] == [
            "interrupted", "interrupted", "completed"]
        risky = set(s.scalars(select(Finding.file_id).where(Finding.rule_id != "public-file-inventory")))
    assert risky == FLAGGED


def test_a_failed_run_s_crawl_is_analysed_by_the_next_run(make_sqlite_app, emulator) -> None:
    """A run that failed after its crawl (tokens already moved on) must not lose those files."""
    app = make_sqlite_app()

    def broken_pipeline() -> object:
        raise RuntimeError("detector configuration broke")

    with pytest.raises(RuntimeError):
        ScanService(app, pipeline_factory=broken_pipeline).run(ScanOptions(full=True))
    with app.sessions() as s:
        assert s.scalars(select(ScanRun.status)).one() == "failed"
    result = ScanService(app).run(ScanOptions(full=False))  # incremental: nothing changed in Drive
    assert result.status == "completed"
    with app.sessions() as s:
        risky = set(s.scalars(select(Finding.file_id).where(Finding.rule_id != "public-file-inventory")))
    assert risky == FLAGGED


def test_a_download_that_failed_is_tried_again_next_run(make_sqlite_app, emulator) -> None:
    app = make_sqlite_app()
    # A 403 the client does not retry: every export fails during the first run.
    emulator.set_faults([FaultRule("drive.files.export", kind="sharingRateLimitExceeded")])
    first = ScanService(app).run(ScanOptions(full=True))
    assert first.files_pending > 0
    assert first.status == "partial"
    emulator.set_faults([])
    second = ScanService(app).run(ScanOptions(full=True))
    assert (second.status, second.files_pending) == ("completed", 0)
    assert second.files_analysed == first.files_pending
    with app.sessions() as s:
        risky = set(s.scalars(select(Finding.file_id).where(Finding.rule_id != "public-file-inventory")))
    assert risky == FLAGGED
