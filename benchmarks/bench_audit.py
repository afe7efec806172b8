"""Audit benchmark: the cost of the state events, and of ``audit verify``, on SQLite.

    .venv/bin/python benchmarks/bench_audit.py [--findings 5000] [--rounds 3]

A: findings created and then remediated through the ORM with the store's state hooks (every change
appends a keyed ``finding.state`` event in the same transaction); B: the same work with the hooks
removed (no state events). A and B alternate in one run, each on a fresh database, 100 findings per
transaction. Then ``verify_log`` (HMAC chain, checkpoint, every row's digest) on the last A database.
Prints the machine load; writes benchmarks/results/audit.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker

from scanner.config import AuditSettings
from scanner.export.anchors import write_checkpoint
from scanner.export.auditlog import verify_log
from scanner.export.signing import private_key
from scanner.store import migrate, statechain
from scanner.store.audit import AUDIT_KEY_INFO
from scanner.store.db import make_engine, make_sessionmaker
from scanner.store.models import DriveFileRow, Finding

RESULTS = Path(__file__).parent / "results" / "audit.json"
KEY = bytes(range(32))
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def _hooks(on: bool) -> None:
    if on:
        statechain.install()
    else:
        statechain.uninstall()


def _work(url: str, findings: int) -> float:
    engine = make_engine(url)
    sessions = sessionmaker(engine, expire_on_commit=False, info={AUDIT_KEY_INFO: KEY})  # keeps the hooks as set
    started = time.perf_counter()
    for start in range(0, findings, 100):
        with sessions.begin() as s:
            for i in range(start, min(start + 100, findings)):
                s.add(DriveFileRow(id=f"F{i}", name=f"file {i}", exposure="anyone_with_link"))
                s.add(Finding(fingerprint=f"{i:064x}", rule_id="public-contractor-pii", severity="critical",
                              file_id=f"F{i}", exposure="anyone_with_link", status="open",
                              matched_permissions=[{"id": "anyoneWithLink", "type": "anyone"}],
                              detectors={"contractor_roster": {"count": 12, "best_score": 0.9}},
                              data_categories=["contractor_pii"]))
    for start in range(0, findings, 100):
        with sessions.begin() as s:
            for f in s.query(Finding).filter(Finding.id > start, Finding.id <= start + 100):
                f.status, f.remediated_at, f.exposure_after = "remediated", NOW, "internal"
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"A state events": [], "B no hooks": []}
    last_a = ""
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for label, on in (("A state events", True), ("B no hooks", False)):
                url = f"sqlite:///{Path(tmp) / f'{label[0]}{r}.db'}"
                migrate.upgrade(url)
                _hooks(on)
                times[label].append(_work(url, args.findings))
                if on:
                    last_a = url
        _hooks(True)
        engine = make_engine(last_a)
        sessions = make_sessionmaker(engine, audit_key=KEY)
        key_file = Path(tmp) / "export-signing.key"
        with sessions() as s:
            write_checkpoint(s, AuditSettings(), Path(tmp) / "anchors", key_file, reason="bench")
        started = time.perf_counter()
        with sessions() as s:
            result = verify_log(s, anchor_dir=Path(tmp) / "anchors", trusted=private_key(key_file).public_key())
        verify_s = time.perf_counter() - started
        engine.dispose()
    assert result.ok, result.problems()
    load = os.getloadavg()
    out: dict[str, Any] = {
        "date": dt.date.today().isoformat(), "findings": args.findings, "rounds": args.rounds,
        "load_avg_1_5_15": [round(x, 2) for x in load], "cpus": os.cpu_count(),
        "create_and_remediate_s": {k: [round(t, 2) for t in v] for k, v in times.items()},
        "median_s": {k: round(statistics.median(v), 2) for k, v in times.items()},
        "verify_events": result.chain.events, "verify_rows": result.rows_checked, "verify_s": round(verify_s, 2),
    }
    a, b = out["median_s"]["A state events"], out["median_s"]["B no hooks"]
    print(f"machine load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print(f"{args.findings} findings created then remediated, 100 per transaction, median of {args.rounds}:")
    print(f"  A with state events: {a:.2f} s   B without: {b:.2f} s   overhead {100 * (a - b) / b:.0f}%")
    print(f"audit verify: {result.chain.events} events, {result.rows_checked} rows in {verify_s:.2f} s")
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
