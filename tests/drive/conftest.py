"""Fixtures: the demo emulator, settings pointing at it, GoogleClients and a scan-run factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.connectors.google.client import GoogleClients
from scanner.drive.crawler import Crawler, CrawlSummary
from scanner.emulator import Emulator
from scanner.store.db import make_engine, make_sessionmaker
from scanner.store.models import DriveFileRow, ScanRun

ADMIN = "admin@tessera-labs.com"



def make_settings(emu: Emulator, key_file: Path, **google: Any) -> Settings:
    emu.write_key_file(key_file)
    return Settings.model_validate({
        "google": {"service_account_file": str(key_file), "endpoint": emu.endpoint, "admin_subject": ADMIN,
                   **google},
        "organisation": {"domains": [emu.workspace.domain]} if emu.workspace.domain != "tessera-labs.com" else {},
        "limits": {"workers": 4, "quota_units_per_minute": 10_000_000, "max_retries": 8},
    })


@pytest.fixture()
def settings(emulator: Emulator, tmp_path: Path) -> Settings:
    return make_settings(emulator, tmp_path / "sa.json")


@pytest.fixture()
def clients(settings: Settings) -> GoogleClients:
    return GoogleClients(settings, sleep=lambda _s: None)


@pytest.fixture()
def db(sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(sqlite_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


def new_run(sessions: sessionmaker[Session], kind: str = "full", status: str = "running") -> int:
    with sessions.begin() as s:
        run = ScanRun(kind=kind, status=status, remediation_mode="dry-run")
        s.add(run)
        s.flush()
        return run.id


def finish_run(sessions: sessionmaker[Session], run_id: int, status: str = "completed") -> None:
    with sessions.begin() as s:
        run = s.get(ScanRun, run_id)
        assert run is not None
        run.status = status


@pytest.fixture()
def crawl(settings: Settings, clients: GoogleClients,
          db: sessionmaker[Session]) -> Callable[..., CrawlSummary]:
    def run(full: bool = True, **kwargs: Any) -> CrawlSummary:
        run_id = new_run(db, "full" if full else "incremental")
        summary = Crawler(settings, clients, db).run(run_id, full=full, **kwargs)
        finish_run(db, run_id)
        return summary

    return run


def full_crawl(emulator: Emulator, tmp_path: Path, db: sessionmaker[Session], **google: Any) -> CrawlSummary:
    """One full crawl with these ``[google]`` settings, its run marked completed."""
    settings = make_settings(emulator, tmp_path / "sa.json", **google)
    run_id = new_run(db)
    summary = Crawler(settings, GoogleClients(settings, sleep=lambda _s: None), db).run(run_id, full=True)
    finish_run(db, run_id)
    return summary


def exposures(sessions: sessionmaker[Session]) -> dict[str, str]:
    """file id -> widest exposure of every file not removed."""
    with sessions() as s:
        return {r.id: r.exposure for r in s.query(DriveFileRow).filter(DriveFileRow.removed_at.is_(None))}
