"""Quiet nights: what an unchanged night adds to the action log and the audit trail, with the real command.

    .venv/bin/python benchmarks/bench_quiet.py [--users 50] [--files 20000] [--nights 4]

A synthetic domain is served by the emulator in its own process; ``sharescan scan --full`` runs once
(dry-run: every finding's actions are planned, the noise an unchanged night used to repeat), then
unchanged nights alternate between an incremental scan (A) and a full re-crawl (B). For each night the
benchmark counts the remediation-action rows and audit events it added (target: 0; scan runs and
coverage rows aside), the plans it left out because they were recorded before (what the night would
have re-recorded), and its wall-clock time. Prints a table with the machine load and writes
benchmarks/results/quiet.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from scanner.emulator import Emulator

RESULTS = Path(__file__).parent / "results" / "quiet.json"
SHARESCAN = Path(sys.executable).parent / "sharescan"


def _serve(spec: str, key_path: str, conn: Any) -> None:
    """The emulator in its own process (so it does not share the scanner's GIL)."""
    with Emulator(seed=spec) as emu:
        emu.write_key_file(key_path)
        conn.send((emu.endpoint, emu.workspace.domain))
        conn.recv()


def _config(tmp: Path, endpoint: str, key: Path, domain: str) -> Path:
    path = tmp / "sharescan.toml"
    path.write_text(f"""
[organisation]
domains = ["{domain}"]
[google]
endpoint = "{endpoint}"
service_account_file = "{key}"
remediation_service_account_file = "{key}"
admin_subject = "admin@{domain}"
[database]
url = "sqlite:///{tmp / 'quiet.db'}"
[detect]
nlp = "pattern-only"
key_file = "{tmp / 'evidence.key'}"
[limits]
quota_units_per_minute = 10000000
[remediation]
mode = "dry-run"
""")
    return path


def _counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        def one(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        return {"actions": one("select count(*) from remediation_actions"),
                "audit_events": one("select count(*) from audit_events"),
                "findings": one("select count(*) from findings where detection_state = 'active'"),
                "folder_findings": one("select count(*) from findings where detection_state = 'active' and "
                                       "blast_radius is not null and blast_radius != 'null'")}


def _scan(config: Path, *args: str) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    done = subprocess.run([str(SHARESCAN), "--config", str(config), "scan", "--no-progress", "--format", "json",
                           *args], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"sharescan scan {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--nights", type=int, default=4, help="unchanged nights after the first full scan")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    console = Console()
    spec = f"synthetic:{args.users}:{args.files}:1"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        key = tmp / "sa.json"
        parent, child = mp.Pipe()
        server = mp.get_context("spawn").Process(target=_serve, args=(spec, str(key), child), daemon=True)
        server.start()
        try:
            endpoint, domain = parent.recv()
            config = _config(tmp, endpoint, key, domain)
            subprocess.run([str(SHARESCAN), "--config", str(config), "init"], check=True, capture_output=True)
            db = tmp / "quiet.db"
            rows: list[dict[str, Any]] = []
            before = _counts(db)
            result, seconds = _scan(config, "--full")
            after = _counts(db)
            rows.append(_row("first: full", result, seconds, before, after))
            for night in range(args.nights):
                kind = "A incr" if night % 2 == 0 else "B full"
                before = after
                result, seconds = _scan(config, *(() if night % 2 == 0 else ("--full",)))
                after = _counts(db)
                rows.append(_row(f"{night + 1}: {kind}", result, seconds, before, after))
        finally:
            parent.send("stop")
            server.join(timeout=10)
    load = os.getloadavg()
    out = {"domain": {"seed": spec, "users": args.users, "files": args.files}, "load_average": load, "runs": rows,
           "unchanged_nights_quiet": all(r["actions_added"] == 0 and r["audit_events_added"] == 0
                                         for r in rows[1:])}
    table = Table(title=f"quiet nights — {args.files:,} files, {args.users} users (load {load[0]:.2f} "
                        f"{load[1]:.2f} {load[2]:.2f})")
    for col in ("night", "seconds", "findings", "folders", "actions+", "audit+", "kept"):
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(r["run"], f"{r['seconds']:.0f}", str(r["active_findings"]), str(r["folder_findings"]),
                      str(r["actions_added"]), str(r["audit_events_added"]), str(r["plans_unchanged"]))
    console.print(table)
    console.print("actions+/audit+: remediation-action rows and audit events the night added; kept: plans left out "
                  "because they were recorded before (each used to be recorded again, with an audit event); "
                  "folders: folder findings")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 0 if out["unchanged_nights_quiet"] else 1


def _row(name: str, result: dict[str, Any], seconds: float, before: dict[str, int],
         after: dict[str, int]) -> dict[str, Any]:
    return {"run": name, "status": result["status"], "seconds": round(seconds, 2),
            "files_seen": result["files_seen"], "active_findings": after["findings"],
            "folder_findings": after["folder_findings"],
            "actions_added": after["actions"] - before["actions"],
            "audit_events_added": after["audit_events"] - before["audit_events"],
            "plans_unchanged": result.get("actions_unchanged", 0), "actions": result["actions"]}


if __name__ == "__main__":
    sys.exit(main())
