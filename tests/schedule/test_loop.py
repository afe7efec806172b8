"""The scheduler with a fake clock and a fake job."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from scanner.cli.main import cli
from scanner.core.errors import ConfigError, GoogleApiError, RunLockedError
from scanner.schedule.loop import Fire, Schedule, Scheduler

UTC = dt.UTC


class FakeClock:
    def __init__(self, start: dt.datetime) -> None:
        self.t = start
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return self.t

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        self.sleeps.append(seconds)
        self.t += dt.timedelta(seconds=seconds)

    def advance(self, **kw: float) -> None:
        self.t += dt.timedelta(**kw)


@pytest.mark.parametrize(
    ("cron", "full", "tz", "after", "expected"),
    [
        ("0 2 * * *", "", "UTC", dt.datetime(2026, 3, 1, 1, 0, tzinfo=UTC),
         [("2026-03-01T02:00:00+00:00", False), ("2026-03-02T02:00:00+00:00", False)]),
        # 2026-03-01 is a Sunday: the full crawl at 03:00 Sunday comes after the 02:00 incremental.
        ("0 2 * * *", "0 3 * * 0", "UTC", dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC),
         [("2026-03-01T02:00:00+00:00", False), ("2026-03-01T03:00:00+00:00", True),
          ("2026-03-02T02:00:00+00:00", False)]),
        # Same minute: one full scan, not two.
        ("0 2 * * *", "0 2 * * 0", "UTC", dt.datetime(2026, 2, 28, 3, 0, tzinfo=UTC),
         [("2026-03-01T02:00:00+00:00", True), ("2026-03-02T02:00:00+00:00", False)]),
        # Time zone: 02:00 in Paris is 01:00 UTC in winter and 00:00 UTC in summer (DST 2026-03-29).
        ("0 2 * * *", "", "Europe/Paris", dt.datetime(2026, 3, 27, 12, 0, tzinfo=UTC),
         [("2026-03-28T02:00:00+01:00", False), ("2026-03-29T03:00:00+02:00", False),
          ("2026-03-30T02:00:00+02:00", False)]),
        ("", "30 4 1 * *", "UTC", dt.datetime(2026, 3, 1, 5, 0, tzinfo=UTC),
         [("2026-04-01T04:30:00+00:00", True)]),
    ],
)
def test_next_fires(cron: str, full: str, tz: str, after: dt.datetime, expected: list[tuple[str, bool]]) -> None:
    fires = Schedule(cron, full, tz).next_fires(after, len(expected))
    assert [(f.at.isoformat(), f.full) for f in fires] == expected


@pytest.mark.parametrize(
    ("cron", "full", "tz", "match"),
    [("not a cron", "", "UTC", "not a cron"), ("0 2 * * *", "", "Mars/Olympus", "unknown time zone"),
     ("", "", "UTC", "nothing to schedule")],
)
def test_bad_schedule(cron: str, full: str, tz: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Schedule(cron, full, tz)


def test_loop_runs_jobs_at_fire_times_and_survives_failures() -> None:
    clock = FakeClock(dt.datetime(2026, 3, 1, 0, 30, tzinfo=UTC))  # Sunday
    calls: list[tuple[dt.datetime, bool]] = []
    outcomes = iter([None, RunLockedError("another scan is running: held by x:1"), GoogleApiError("quota"),
                     ValueError("bug"), None])

    def job(full: bool) -> object:
        calls.append((clock.now(), full))
        clock.advance(minutes=10)
        result = next(outcomes)
        if isinstance(result, Exception):
            raise result
        return "ok"

    scheduler = Scheduler(Schedule("0 2 * * *", "0 3 * * 0", "UTC"), job, clock=clock)
    stats = scheduler.run(max_runs=5)
    assert [(t.isoformat(), f) for t, f in calls] == [
        ("2026-03-01T02:00:00+00:00", False),
        ("2026-03-01T03:00:00+00:00", True),
        ("2026-03-02T02:00:00+00:00", False),
        ("2026-03-03T02:00:00+00:00", False),
        ("2026-03-04T02:00:00+00:00", False),
    ]
    assert (stats.runs, stats.succeeded, stats.skipped_locked, stats.failed) == (5, 2, 1, 2)
    assert [o for _, o in stats.history] == ["ok", "locked", "failed", "failed", "ok"]
    assert max(clock.sleeps) <= 60  # sleeps are chunked so wall-clock jumps are noticed


def test_fires_missed_during_a_long_job_are_skipped_and_full_is_kept() -> None:
    clock = FakeClock(dt.datetime(2026, 3, 1, 1, 55, tzinfo=UTC))
    calls: list[tuple[str, bool]] = []

    def job(full: bool) -> object:
        calls.append((clock.now().isoformat(), full))
        if len(calls) == 1:
            clock.advance(hours=30)  # runs past Sunday 03:00 (full) and Monday 02:00
        return None

    stats = Scheduler(Schedule("0 2 * * *", "0 3 * * 0", "UTC"), job, clock=clock).run(max_runs=2)
    assert calls == [("2026-03-01T02:00:00+00:00", False), ("2026-03-03T02:00:00+00:00", True)]
    assert stats.missed_fires == 2


def test_stop_event_ends_the_sleep() -> None:
    stop = threading.Event()
    scheduler = Scheduler(Schedule("0 2 * * *"), lambda full: None, stop_event=stop)
    threading.Timer(0.2, scheduler.stop).start()
    started = time.monotonic()
    stats = scheduler.run()
    assert time.monotonic() - started < 5 and stats.runs == 0


def test_fire_kind() -> None:
    at = dt.datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
    assert (Fire(at, True).kind, Fire(at, False).kind) == ("full", "incremental")


def test_cli_next_json(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    config = os.path.join(tmp_path, "s.toml")
    with open(config, "w") as fh:
        fh.write('[schedule]\ncron = "15 1 * * *"\nfull_scan_cron = ""\ntimezone = "Asia/Tokyo"\n')
    result = CliRunner().invoke(cli, ["--config", config, "schedule", "next", "--count", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    rows = json.loads(result.output)
    assert len(rows) == 3 and all(r["kind"] == "incremental" for r in rows)
    assert all(r["at"].endswith("T01:15:00+09:00") for r in rows)
    assert all(r["utc"].endswith("T16:15:00Z") for r in rows)


def test_cli_run_foreground_exits_cleanly_on_sigterm(tmp_path: os.PathLike[str]) -> None:
    """The real command in a subprocess: SIGTERM while sleeping → exit 0 with a summary line."""
    code = (
        "import scanner.run\n"
        "scanner.run.run_scan = lambda app, full, apply=None, progress=None: None\n"
        "from scanner.cli.main import main\n"
        "main(['schedule', 'run'])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert "next incremental scan at" in first or "next full scan at" in first
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0
    assert "stopped after 0 scan(s)" in proc.stderr.read()


@pytest.mark.parametrize(("raise_locked", "code"), [(False, 0), (True, 75)])
def test_cli_run_once(raise_locked: bool, code: int) -> None:
    script = (
        "import scanner.run\n"
        "from scanner.core.errors import RunLockedError\n"
        "def run_scan(app, full, apply=None, progress=None):\n"
        "    print('FULL' if full else 'INCR')\n"
        f"    if {raise_locked}: raise RunLockedError('another scan is running: held by h:1')\n"
        "scanner.run.run_scan = run_scan\n"
        "from scanner.cli.main import main\n"
        "main(['schedule', 'run', '--once', '--full'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == code, proc.stderr
    assert proc.stdout.strip() == "FULL"
    if raise_locked:
        assert "another scan is running" in proc.stderr
