"""``sharescan watch``: from a sharing change to the finding and to the revoke, with the real command.

    .venv/bin/python benchmarks/bench_watch.py [--interval-seconds 15] [--trials 6]

The demo workspace is served by the emulator in its own process. After a dry-run full scan (last
night's), the real ``sharescan watch --apply --format json`` runs as a subprocess polling every
``--interval-seconds``. Each trial makes a confidential file "anyone with the link" through the Drive API
(the real googleapiclient, as its owner) and measures the seconds until the file's finding is recorded
and until the link is revoked (the verified remediation action), from the database. Trials alternate
A (nothing else running) and B (a nightly ``sharescan scan --full`` running meanwhile, in a loop).
The target is under two poll intervals. Trials are at least one interval apart. It also counts the
Reports API calls of each poll (the watcher's own, from its JSON lines) and works out the calls per
hour. Prints a table with the machine load and writes benchmarks/results/watch.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from scanner.emulator import Emulator

RESULTS = Path(__file__).parent / "results" / "watch.json"
SHARESCAN = Path(sys.executable).parent / "sharescan"
#: A confidential client brief in its owner's My Drive, shared with an internal group only: each trial opens
#: it to anyone with the link again (after the previous trial's revoke), a recurrence of the same finding.
TARGETS = ("client_brief_internal",)


def _serve(key_path: str, conn: Any) -> None:
    with Emulator(seed="demo") as emu:
        emu.write_key_file(key_path)
        conn.send(emu.endpoint)
        conn.recv()


def _config(tmp: Path, endpoint: str, key: Path) -> Path:
    path = tmp / "sharescan.toml"
    path.write_text(f"""
[organisation]
domains = ["tessera-labs.com"]
[google]
endpoint = "{endpoint}"
service_account_file = "{key}"
remediation_service_account_file = "{key}"
admin_subject = "admin@tessera-labs.com"
[database]
url = "sqlite:///{tmp / 'watch.db'}"
[detect]
nlp = "pattern-only"
key_file = "{tmp / 'evidence.key'}"
[audit]
key_file = "{tmp / 'audit.key'}"
anchor_path = "{tmp / 'anchors'}"
[export]
signing_key_file = "{tmp / 'signing.key'}"
[remediation]
mode = "dry-run"
max_actions_share = 1.0
""")
    return path


def _share(config: Path, file_id: str, owner: str) -> tuple[str, float]:
    from scanner.config import load_settings
    from scanner.connectors.google.client import GoogleClients

    drive = GoogleClients(load_settings(config)).drive(owner, write=True)
    request = drive.permissions().create(fileId=file_id, body={"type": "anyone", "role": "reader"}, fields="id")
    at = time.time()
    perm = request.execute()
    return str(perm["id"]), at


def _wait(db: Path, file_id: str, perm_id: str, since: float, give_up: float) -> tuple[float | None, float | None]:
    """Seconds to the finding (last_seen after the change) and to the verified revoke."""
    found = revoked = None
    deadline = time.time() + give_up
    while time.time() < deadline and revoked is None:
        with sqlite3.connect(db) as conn:
            seen = conn.execute("select max(last_seen) from findings where file_id = ?", (file_id,)).fetchone()[0]
            done = [_epoch(row[0]) for row in conn.execute(
                "select completed_at from remediation_actions where permission_id = ? and status = 'verified' "
                "and mode = 'enforce' and completed_at is not null", (perm_id,))]
        if found is None and seen and _epoch(seen) >= since:
            found = _epoch(seen) - since
        after = [t for t in done if t >= since]  # the same link id comes back each trial: this trial's revoke
        if after:
            revoked = min(after) - since
        time.sleep(0.1)
    return found, revoked


def _epoch(text: str) -> float:
    import datetime as dt

    value = dt.datetime.fromisoformat(text)
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval-seconds", type=float, default=15.0)
    parser.add_argument("--trials", type=int, default=6)
    args = parser.parse_args()
    from scanner.emulator.seeds.demo import EXPECTED, LIAM, fid

    owners = {"client_brief_internal": LIAM}
    console = Console()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        key = tmp / "key.json"
        parent, child = mp.Pipe()
        server = mp.Process(target=_serve, args=(str(key), child), daemon=True)
        server.start()
        endpoint = parent.recv()
        config = _config(tmp, endpoint, key)
        env = {**os.environ, "SHARESCAN_CONFIG": str(config)}
        subprocess.run([str(SHARESCAN), "init"], env=env, check=True, capture_output=True)
        subprocess.run([str(SHARESCAN), "scan", "--full"], env=env, capture_output=True)
        watch = subprocess.Popen([str(SHARESCAN), "watch", "--apply", "--format", "json",
                                  "--interval", str(args.interval_seconds / 60)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        polls: list[dict[str, Any]] = []
        reader = threading.Thread(target=lambda: [polls.append(json.loads(line)) for line in watch.stdout or ()],
                                  daemon=True)
        reader.start()
        while not polls:
            time.sleep(0.2)
        busy = threading.Event()
        scans: list[float] = []

        def nightly() -> None:
            while busy.is_set():
                started = time.time()
                subprocess.run([str(SHARESCAN), "scan", "--full"], env=env, capture_output=True)
                scans.append(time.time() - started)

        rows = []
        load = [os.getloadavg()[0]]
        for n in range(args.trials):
            mode = "A" if n % 2 == 0 else "B"
            name = TARGETS[n % len(TARGETS)]
            file_id = fid(name)
            assert EXPECTED[name].exposure == "internal"
            runner = None
            if mode == "B":
                busy.set()
                runner = threading.Thread(target=nightly, daemon=True)
                runner.start()
                time.sleep(2.0)  # the scan is under way
            perm_id, at = _share(config, file_id, owners[name])
            found, revoked = _wait(tmp / "watch.db", file_id, perm_id, at, give_up=10 * args.interval_seconds)
            busy.clear()
            if runner is not None:
                runner.join()
            load.append(os.getloadavg()[0])
            time.sleep(args.interval_seconds)
            rows.append({"trial": n + 1, "mode": mode, "file": name, "to_finding_s": found, "to_revoke_s": revoked})
        watch.terminate()
        watch.wait(timeout=120)
        parent.send("stop")
        server.join(timeout=30)

    audit_calls = [p.get("audit_calls", 0) for p in polls if not p.get("exposed")]
    per_poll = statistics.median(audit_calls) if audit_calls else 0
    table = Table(title=f"sharescan watch, poll every {args.interval_seconds:g} s "
                        f"(target: revoke under {2 * args.interval_seconds:g} s)")
    for col in ("trial", "mode", "file", "to finding (s)", "to revoke (s)"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["trial"]), r["mode"], r["file"], _fmt(r["to_finding_s"]), _fmt(r["to_revoke_s"]))
    console.print(table)
    summary = {
        "interval_seconds": args.interval_seconds, "trials": rows, "polls": len(polls),
        "audit_calls_per_idle_poll": per_poll,
        "audit_calls_per_hour_at_5_min": per_poll * 12,
        "nightly_scan_seconds": [round(s, 1) for s in scans],
        "load_average": [round(v, 2) for v in load],
    }
    for mode in ("A", "B"):
        values = [r["to_revoke_s"] for r in rows if r["mode"] == mode and r["to_revoke_s"] is not None]
        summary[f"revoke_{mode}_max_s"] = round(max(values), 1) if values else None
    console.print(f"Reports API calls per idle poll: {per_poll} → {per_poll * 12} per hour at a 5-minute "
                  f"interval; nightly scans during B: {summary['nightly_scan_seconds']} s; "
                  f"load average {summary['load_average']}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    main()
