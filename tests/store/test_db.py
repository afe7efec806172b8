"""Engine settings: SQLite writers begin IMMEDIATE; snapshot readers (exports) neither block writers
nor see their changes mid-read."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from scanner.store.db import make_engine, make_sessionmaker, snapshot_reads
from scanner.store.migrate import upgrade
from scanner.store.models import ScanRun


def _run(kind: str = "full") -> ScanRun:
    return ScanRun(kind=kind, status="completed", remediation_mode="dry-run")


def test_a_snapshot_reader_does_not_block_a_writer_and_keeps_its_view(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    try:
        with sessions.begin() as s:
            s.add(_run())
        with sessions() as reader:
            snapshot_reads(reader)
            assert reader.scalar(select(func.count(ScanRun.id))) == 1
            started = time.monotonic()
            with sessions.begin() as writer:  # a scan writing while the export reads
                writer.add(_run())
            assert time.monotonic() - started < 1.5, "the writer waited for the reader"
            assert reader.scalar(select(func.count(ScanRun.id))) == 1  # same snapshot
            reader.rollback()
        with sessions() as s:
            assert s.scalar(select(func.count(ScanRun.id))) == 2
    finally:
        engine.dispose()
