"""A scan killed with SIGKILL in the middle resumes on the next run, without redoing finished
users and with the same findings as an uninterrupted scan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
