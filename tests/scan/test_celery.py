"""Celery as the executor: `sharescan worker` processes crawl and analyse a scan of the emulator over
Redis, on PostgreSQL, and the run's findings, actions, coverage and stored analyses are those of the
in-process run on SQLite; a worker killed in the middle of a task does not stop the run (its task is
delivered again to another worker).

Runs in the PostgreSQL pass (CI starts nothing else: Redis runs on this machine); skips with the reason
when Redis, PostgreSQL or the celery extra is missing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.app import App
from scanner.emulator.faults import FaultRule
from scanner.run import ScanOptions, ScanService
from tests.scan.compare import assert_same, scan_state

pytestmark = pytest.mark.postgres

REDIS = os.environ.get("SHARESCAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def _redis_or_skip() -> None:
    pytest.importorskip("celery", reason="the celery extra is not installed")
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis at {REDIS} unreachable: {exc}")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(app: App, path: Path) -> None:
    """The app's settings as a config file the worker processes read (every non-default key)."""
    lines: list[str] = []

    def table(name: str, data: dict[str, Any]) -> None:
        scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
        if scalars:
            lines.append(f"[{name}]")
            lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
        for k, v in data.items():
            if isinstance(v, dict):
                table(f"{name}.{k}", v)

    for name, data in app.settings.model_dump(exclude_defaults=True).items():
        if isinstance(data, dict) and data:
            table(name, data)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class Workers:
    def __init__(self, config: Path, data_dir: Path) -> None:
        self.config, self.data_dir = config, data_dir
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = open(self.data_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "scanner.cli.main", "--config", str(self.config), "worker",
                                 "--hostname", f"{name}@%h", "--loglevel", "INFO"],
                                stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, "SHARESCAN_DATA_DIR": str(self.data_dir)})
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.data_dir.glob("*.log")))


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("Celery workers share a PostgreSQL database")
    return db_url


def _two_runs(app: App) -> dict[str, Any]:
    for full in (True, False):
        ScanService(app).run(ScanOptions(full=full))
    return scan_state(app)


@pytest.fixture
def celery_app(make_app, pg_url: str, tmp_path: Path) -> Iterator[tuple[App, Workers]]:
    _redis_or_skip()
    app = make_app(database={"url": pg_url},
                   executor={"kind": "celery", "broker_url": REDIS, "queue": f"test-{uuid.uuid4().hex[:10]}",
                             "files_per_task": 3, "visibility_timeout_seconds": 8, "task_timeout_seconds": 300},
                   detect={"nlp": "pattern-only"})
    config = tmp_path / "worker.toml"
    write_config(app, config)
    workers = Workers(config, tmp_path)
    try:
        yield app, workers
    finally:
        workers.stop()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_celery_workers_on_postgres_match_the_in_process_run_on_sqlite(make_app, celery_app, tmp_path) -> None:
    reference = make_app(database={"url": f"sqlite:///{tmp_path / 'reference.db'}"}, detect={"nlp": "pattern-only"})
    expected = _two_runs(reference)

    app, workers = celery_app
    for name in ("w1", "w2", "w3"):
        workers.start(name)
    got = _two_runs(app)
    assert_same(expected, got)
    assert sum("succeeded" in line for line in workers.logs().splitlines()) > 3, workers.logs()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_killed_workers_task_is_delivered_again_and_the_run_completes(make_app, celery_app, emulator,
                                                                       tmp_path) -> None:
    reference = make_app(database={"url": f"sqlite:///{tmp_path / 'reference.db'}"}, detect={"nlp": "pattern-only"})
    ScanService(reference).run(ScanOptions(full=True))
    expected = scan_state(reference)

    app, workers = celery_app
    doomed = workers.start("doomed")
    # The emulator SIGKILLs the only worker on its first content download or export: it dies inside a task
    emulator.set_faults([FaultRule(endpoint="drive.files.*port", kind="kill_before", pid=doomed.pid),
                         FaultRule(endpoint="drive.files.download", kind="kill_before", pid=doomed.pid)])

    def replace_when_dead() -> None:
        doomed.wait()
        emulator.set_faults([])
        workers.start("survivor")

    import threading

    watcher = threading.Thread(target=replace_when_dead, daemon=True)
    watcher.start()
    started = time.monotonic()
    result = ScanService(app).run(ScanOptions(full=True))
    watcher.join(timeout=60)
    assert doomed.returncode == -9, "the worker was not killed: the test did not test anything"
    assert result.status == "completed", workers.logs()
    got = scan_state(app)
    assert_same(expected, got)
    assert time.monotonic() - started > 0  # the run waited for the redelivery rather than failing
