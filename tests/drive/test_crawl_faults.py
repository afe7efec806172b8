"""The crawl under injected faults, and a crawl killed mid-way then resumed, end the same."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.connectors.google.client import GoogleClients
from scanner.drive.crawler import Crawler, CrawlSummary
from scanner.emulator import Emulator, FaultPlan, FaultRule
from scanner.store.db import make_engine, make_sessionmaker
from scanner.store.models import ScanCoverage, ScanRun

from .conftest import exposures, finish_run, make_settings, new_run
from .test_crawler import DEMO_EXPOSURE, EXTRA_FILES


def test_twenty_percent_429_and_503_give_the_same_result(
    crawl: Callable[..., CrawlSummary], emulator: Emulator, db: sessionmaker[Session]
) -> None:
    emulator.set_faults(FaultPlan([FaultRule(endpoint="*", kind="429", rate=0.1),
                                   FaultRule(endpoint="*", kind="503", rate=0.11)], seed=7))
    summary = crawl(full=True)
    assert summary.complete, [t for t in summary.targets if t.status == "failed"]
    assert exposures(db) == {**DEMO_EXPOSURE, **EXTRA_FILES}
    incremental = crawl(full=False)
    assert incremental.complete
    assert exposures(db) == {**DEMO_EXPOSURE, **EXTRA_FILES}


CHILD = """
import sys
from scanner.config import Settings
from scanner.drive.crawler import Crawler
from scanner.connectors.google.client import GoogleClients
from scanner.store.db import make_engine, make_sessionmaker
settings = Settings.model_validate_json(open(sys.argv[1]).read())
sessions = make_sessionmaker(make_engine(sys.argv[2]))
Crawler(settings, GoogleClients(settings), sessions).run(int(sys.argv[3]), full=True)
"""


def _done(sessions: sessionmaker[Session], run_id: int) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ScanCoverage).where(
            ScanCoverage.run_id == run_id, ScanCoverage.status == "done")) or 0)


def test_killed_crawl_resumes_to_the_same_result(sa_key: object, tmp_path: Path, sqlite_url: str) -> None:
    with Emulator(seed="synthetic:12:1500:3", key=sa_key) as emu:  # type: ignore[arg-type]
        settings = make_settings(emu, tmp_path / "sa.json", admin_subject="admin@" + emu.workspace.domain)
        settings = settings.with_overrides(limits={"workers": 2})
        # a reference crawl into its own database
        ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
        from scanner.store import migrate

        migrate.upgrade(ref_url)
        ref = make_sessionmaker(make_engine(ref_url))
        rid = new_run(ref)
        Crawler(settings, GoogleClients(settings), ref).run(rid, full=True)
        expected = exposures(ref)

        sessions = make_sessionmaker(make_engine(sqlite_url))
        run_id = new_run(sessions)
        emu.set_faults([FaultRule(endpoint="drive.files.list", kind="latency", latency=0.15)])
        cfg = tmp_path / "settings.json"
        cfg.write_text(settings.model_dump_json())
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(cfg), sqlite_url, str(run_id)],
                                 env={**os.environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while _done(sessions, run_id) < 3 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        child.send_signal(signal.SIGKILL)
        child.wait()
        done_before = _done(sessions, run_id)
        assert 3 <= done_before < 13
        emu.set_faults(None)
        emu.reset_counters()
        finish_run(sessions, run_id, "interrupted")  # what the orchestrator records when it takes the stale lock

        resumed = new_run(sessions)
        summary = Crawler(settings, GoogleClients(settings), sessions).run(resumed, full=True)
        finish_run(sessions, resumed)
        assert summary.resumed_from == run_id
        assert summary.complete
        assert sum(1 for t in summary.targets if t.mode == "resumed") == done_before
        assert exposures(sessions) == expected
        with sessions() as s:
            run = s.get(ScanRun, resumed)
            assert run is not None and run.resumed_from_id == run_id
