"""Executor benchmark: the real `sharescan scan --full` on a synthetic domain, in-process with 1 and 2
analysis processes and with Celery and 2 `sharescan worker` processes; then, with latency injected on
every export/download, the content phase's latency overhead.

    .venv/bin/python benchmarks/bench_executor.py [--users 50] [--files 20000] [--latency 0.15]

Each variant gets a fresh database (SQLite in-process; PostgreSQL for Celery, which needs a shared one),
the same emulator process (its own core budget), and runs in turn (A, B, C, then again with latency).
Prints the machine load before each run. Writes benchmarks/results/executor.json.

Figures: wall seconds; files/s (files seen / wall); analysis files/s (files analysed / content-phase
wall); peak RSS (MiB) of the scan process, of each analysis process, of each worker; latency overhead
= (content-phase wall - analysis CPU / processes) / content-phase wall; seconds per fetched file; the
share of the content phase the latency added (against the same variant without latency, same run); the
scan process's seconds planning (read sessions) and recording (write transactions).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from scanner.emulator import Emulator, build_seed
from scanner.emulator.faults import FaultRule

RESULTS = Path(__file__).parent / "results" / "executor.json"
PG = os.environ.get("SHARESCAN_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("SHARESCAN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def _serve(spec: str, key_path: str, conn: Any) -> None:
    """The emulator in its own process (it does not share the scanner's GIL)."""
    with Emulator(seed=spec) as emu:
        emu.write_key_file(key_path)
        conn.send(emu.endpoint)
        while True:
            cmd, arg = conn.recv()
            if cmd == "faults":
                emu.set_faults([FaultRule(**rule) for rule in arg])
                conn.send(True)
            elif cmd == "counters":
                conn.send(emu.counters)
            else:
                return


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} on {os.cpu_count()} cores"


def config(tmp: Path, name: str, endpoint: str, key: Path, domain: str, *, db: str, executor: dict[str, Any]) -> Path:
    lines = [
        "[organisation]", f'domains = ["{domain}"]',
        "[google]", f'service_account_file = "{key}"', f'admin_subject = "admin@{domain}"', f'endpoint = "{endpoint}"',
        "[database]", f'url = "{db}"',
        "[detect]", f'key_file = "{tmp / "evidence.key"}"', 'nlp = "pattern-only"',
        "[audit]", f'key_file = "{tmp / "audit.key"}"', f'anchor_path = "{tmp / name / "anchors"}"',
        "[limits]", "workers = 4", "quota_units_per_minute = 1000000",
        "[remediation]", 'mode = "dry-run"', "max_actions_share = 1.0",
        "[executor]", *[f"{k} = {json.dumps(v)}" for k, v in executor.items()],
    ]
    path = tmp / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sharescan(cfg: Path, *args: str, env: dict[str, str], **kw: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "scanner.cli.main", "--config", str(cfg), *args],
                            env=env, **kw)


def vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pg_schema(create: bool, schema: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}" if create else f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()
    return f"{PG}?options=-csearch_path%3D{schema}"


def run_variant(name: str, tmp: Path, emu: Any, env: dict[str, str], *, endpoint: str, key: Path, domain: str,
                kind: str, processes: int, workers: int) -> dict[str, Any]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    db = pg_schema(True, schema) if kind == "celery" else f"sqlite:///{tmp / name}.db"
    executor: dict[str, Any] = {"kind": kind, "analysis_processes": processes, "pool_min_files": 0}
    if kind == "celery":
        executor |= {"broker_url": REDIS, "queue": f"bench-{uuid.uuid4().hex[:8]}", "files_per_task": 50}
    cfg = config(tmp, name, endpoint, key, domain, db=db, executor=executor)
    (tmp / name).mkdir(exist_ok=True)
    before = load()
    subprocess.run([sys.executable, "-m", "scanner.cli.main", "--config", str(cfg), "init"], env=env, check=True,
                   capture_output=True)
    procs = [sharescan(cfg, "worker", "--hostname", f"w{i}@%h", "--loglevel", "WARNING", env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(workers)]
    time.sleep(3 if workers else 0)
    started = time.perf_counter()
    scan = sharescan(cfg, "scan", "--full", "--format", "json", "--no-progress", env=env,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert scan.stdout is not None
    out = scan.stdout.read()
    _, _, usage = os.wait4(scan.pid, 0)  # the scan process's own peak RSS (not its children's)
    scan.returncode = 0
    wall = time.perf_counter() - started
    result = json.loads(out)
    worker_rss = [vm_hwm_mib(p.pid) for p in procs]
    worker_cpu = [round(cpu_seconds(p.pid), 1) for p in procs]
    for p in procs:
        p.terminate()
        p.wait(timeout=60)
    if kind == "celery":
        pg_schema(False, schema)
    scan_rss = round(usage.ru_maxrss / 1024, 1)
    analysis = result.get("analysis") or {}
    phase = analysis.get("phase_seconds") or 0.0
    cpu = analysis.get("cpu_seconds") or 0.0
    procs_n = max(1, analysis.get("processes") or processes or 1)
    row = {
        "variant": name, "load_before": before, "status": result["status"], "wall_seconds": round(wall, 1),
        "files_seen": result["files_seen"], "files_per_second": round(result["files_seen"] / wall, 1),
        "files_analysed": result["files_analysed"], "content_cache_hits": result["content_cache_hits"],
        "findings_active": result["findings_active"],
        "content_phase_seconds": round(phase, 1),
        "analysis_files_per_second": round(result["files_analysed"] / phase, 1) if phase else None,
        "analysis_cpu_seconds": round(cpu, 1),
        "latency_overhead": round((phase - cpu / procs_n) / phase, 3) if phase else None,
        "seconds_per_fetched_file": round(phase / analysis["files_fetched"], 4) if analysis.get("files_fetched")
        else None,
        "peak_rss_mib": {"scan_process": scan_rss, "analysis_processes": analysis.get("peak_rss_mib"),
                         "workers": worker_rss},
        "worker_cpu_seconds": worker_cpu,
        "record_seconds": analysis.get("record_seconds"), "plan_seconds": analysis.get("plan_seconds"),
        "files_fetched": analysis.get("files_fetched"),
    }
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--only", default="", help="comma-separated variants to run (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    spec = f"synthetic:{args.users}:{args.files}:1"
    ws = build_seed(spec)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        key = tmp / "sa.json"
        parent, child = mp.Pipe()
        server = mp.get_context("spawn").Process(target=_serve, args=(spec, str(key), child), daemon=True)
        server.start()
        env = {**os.environ, "SHARESCAN_DATA_DIR": str(tmp)}
        try:
            endpoint = parent.recv()
            common = {"endpoint": endpoint, "key": key, "domain": ws.domain}
            variants = [("in-process-1", "in-process", 1, 0), ("in-process-2", "in-process", 2, 0),
                        ("celery-2-workers", "celery", 0, 2)]
            wanted = set(filter(None, args.only.split(",")))
            for latency in dict.fromkeys((0.0, args.latency)):  # --latency 0: no latency pass
                rules = [] if not latency else [
                    {"endpoint": "drive.files.export", "kind": "latency", "latency": latency},
                    {"endpoint": "drive.files.download", "kind": "latency", "latency": latency}]
                parent.send(("faults", rules))
                parent.recv()
                for name, kind, processes, workers in variants:
                    label = f"{name}{f'+{int(latency * 1000)}ms' if latency else ''}"
                    if wanted and name not in wanted and label not in wanted:
                        continue
                    rows.append(run_variant(label, tmp, parent, env, kind=kind, processes=processes,
                                            workers=workers, **common))
        finally:
            parent.send(("stop", None))
            server.join(timeout=10)
    # What the injected latency itself added: the content phase with latency against the same variant
    # without (both in this run), as a share of the phase with latency.
    phases = {row["variant"]: row["content_phase_seconds"] for row in rows}
    for row in rows:
        base = phases.get(row["variant"].split("+", 1)[0]) if "+" in row["variant"] else None
        if base is not None and row["content_phase_seconds"]:
            row["latency_added_share"] = round((row["content_phase_seconds"] - base) / row["content_phase_seconds"], 3)
    result = {"domain": {"seed": spec, "files": sum(1 for f in ws.files.values() if not f.trashed),
                         "users": args.users, "latency_seconds": args.latency}, "machine": load(), "runs": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
