"""Crawl benchmark: a synthetic domain on the emulator, full crawl then an incremental one.

    .venv/bin/python benchmarks/bench_crawl.py [--users 100] [--files 100000] [--workers 4]

Reports files per second and API calls per 1,000 files for both, checks that the full crawl used
at most 1.1x the minimum number of files.list pages for My Drive content, prints a table and
writes benchmarks/results/crawl.json.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from scanner.config import Settings
from scanner.connectors.google.client import GoogleClients
from scanner.drive.crawler import Crawler
from scanner.emulator import Emulator, build_seed
from scanner.store import migrate
from scanner.store.db import make_engine, make_sessionmaker
from scanner.store.models import ScanRun

RESULTS = Path(__file__).parent / "results" / "crawl.json"


def _serve(spec: str, key_path: str, conn: Any) -> None:
    """The emulator in its own process (so it does not share the crawler's GIL)."""
    with Emulator(seed=spec) as emu:
        emu.write_key_file(key_path)
        conn.send(emu.endpoint)
        while True:
            cmd = conn.recv()
            if cmd == "counters":
                conn.send(emu.counters)
            elif cmd == "reset":
                emu.reset_counters()
                conn.send(True)
            else:
                return


def _run(settings: Settings, sessions: Any, full: bool) -> tuple[Any, float]:
    with sessions.begin() as s:
        run = ScanRun(kind="full" if full else "incremental", status="running", remediation_mode="dry-run")
        s.add(run)
        s.flush()
        run_id = run.id
    clients = GoogleClients(settings)
    started = time.perf_counter()
    summary = Crawler(settings, clients, sessions).run(run_id, full=full)
    elapsed = time.perf_counter() - started
    with sessions.begin() as s:
        r = s.get(ScanRun, run_id)
        assert r is not None
        r.status = "completed"
    return summary, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--quota", type=int, default=1_000_000, help="quota units per minute (Google: 1M/project)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    console = Console()
    spec = f"synthetic:{args.users}:{args.files}:1"
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ws = build_seed(spec)  # the same deterministic domain the emulator process serves
        build_seconds = time.perf_counter() - t0
        key = Path(tmp) / "sa.json"
        parent, child = mp.Pipe()
        server = mp.get_context("spawn").Process(target=_serve, args=(spec, str(key), child), daemon=True)
        server.start()
        try:
            endpoint = parent.recv()
            settings = Settings.model_validate({
                "organisation": {"domains": [ws.domain]},
                "google": {"service_account_file": str(key), "endpoint": endpoint,
                           "admin_subject": f"admin@{ws.domain}"},
                "limits": {"workers": args.workers, "quota_units_per_minute": args.quota},
            })
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            migrate.upgrade(url)
            sessions = make_sessionmaker(make_engine(url))

            # minimum files.list pages for My Drive content: ceil(owned/1000) per active user (>= 1)
            owned: Counter[str] = Counter(f.owner for f in ws.files.values()
                                          if not f.drive_id and not f.trashed and f.owner)
            active = [u.email for u in ws.users.values() if not u.suspended]
            min_pages = sum(max(1, math.ceil(owned.get(u, 0) / 1000)) for u in active)
            total_files = sum(1 for f in ws.files.values() if not f.trashed)

            parent.send("reset")
            parent.recv()
            full, full_s = _run(settings, sessions, True)
            parent.send("counters")
            full_counters = parent.recv()
            parent.send("reset")
            parent.recv()
            incr, incr_s = _run(settings, sessions, False)
            parent.send("counters")
            incr_counters = parent.recv()
        finally:
            parent.send("stop")
            server.join(timeout=10)

    user_list_calls = full_counters.get("drive.files.list", 0)
    # shared-drive listings and the suspended users' partial listings are not My Drive pages
    drive_files: Counter[str] = Counter(f.drive_id for f in ws.files.values() if f.drive_id and not f.trashed)
    shared_pages = sum(max(1, math.ceil(n / 1000)) for n in drive_files.values())
    suspended = sum(1 for u in ws.users.values() if u.suspended)
    my_drive_pages = user_list_calls - shared_pages - suspended
    ratio = my_drive_pages / min_pages if min_pages else 1.0

    def row(name: str, summary: Any, seconds: float, counters: dict[str, int]) -> dict[str, Any]:
        calls = sum(v for k, v in counters.items() if k not in ("oauth.token", "batch"))
        return {
            "run": name, "files_seen": summary.files_seen, "files_exposed": summary.files_exposed,
            "seconds": round(seconds, 2), "files_per_second": round(total_files / seconds, 1),
            "api_calls": calls, "http_requests": sum(counters.values()),
            "api_calls_per_1000_files": round(calls * 1000 / max(total_files, 1), 2),
            "complete": summary.complete, "calls_by_endpoint": dict(sorted(counters.items())),
        }

    rows = [row("full", full, full_s, full_counters), row("incremental (unchanged)", incr, incr_s, incr_counters)]
    result = {
        "domain": {"seed": spec, "users": args.users, "files": total_files, "workers": args.workers,
                   "quota_units_per_minute": args.quota, "emulator_build_seconds": round(build_seconds, 1)},
        "runs": rows,
        "my_drive_pages": {"measured": my_drive_pages, "minimum": min_pages, "ratio": round(ratio, 3),
                           "within_1_1x": ratio <= 1.1},
    }
    table = Table(title=f"crawl benchmark — {total_files:,} files, {args.users} users, {args.workers} workers")
    for col in ("run", "files/s", "seconds", "API calls", "calls/1000 files", "HTTP requests", "exposed", "complete"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["run"], f"{r['files_per_second']:,}", str(r["seconds"]), f"{r['api_calls']:,}",
                      str(r["api_calls_per_1000_files"]), f"{r['http_requests']:,}", f"{r['files_exposed']:,}",
                      str(r["complete"]))
    console.print(table)
    console.print(f"My Drive files.list pages: {my_drive_pages} (minimum {min_pages}, ratio {ratio:.3f}) — "
                  + ("[green]within 1.1x[/green]" if ratio <= 1.1 else "[red]over 1.1x[/red]"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 0 if ratio <= 1.1 and full.complete and incr.complete else 1


if __name__ == "__main__":
    sys.exit(main())
