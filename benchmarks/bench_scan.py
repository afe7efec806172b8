"""End-to-end scan benchmark: the real CLI (crawl → content → findings → remediation dry-run) against a
synthetic domain on the emulator, with and without injected latency on content fetches.

    .venv/bin/python benchmarks/bench_scan.py [--users 100] [--files 10000] [--latency 0 0.15]

For each latency: ``sharescan scan --full --dry-run`` (a fresh database), ``sharescan scan --full --dry-run``
again (an unchanged full night), ``sharescan scan --dry-run`` (an unchanged incremental night), then 1% of
the files edited and ``sharescan scan --dry-run`` again (a 1%-changed night), then another 1% edited and
``sharescan scan --full --dry-run`` (a 1%-changed full night). Each command runs as its own
process; its CPU time and peak RSS come from ``wait4``. Prints files/s, scanner CPU ms per file, calls and
quota units per 1,000 files (from the run's quota ledger), publish checks made and skipped (units saved by
scanner.core.publish), peak RSS and the machine load before and after (the machine may be shared: read
the load with the figures). Writes benchmarks/results/scan.json.

``--baseline DIR`` runs another source tree (``git archive <commit> | tar -x -C DIR``) against the same
emulator on a database of its own, each step alternating the trees (A B, then B A), so both see the same
load and the same workspace. ``--runs`` keeps some of the five steps (by their position, from 1).

A fresh full scan of 100,000 files takes long on a shared machine, so the state after it can be kept and
reused for the incremental nights:

    .venv/bin/python benchmarks/bench_scan.py --files 100000 --save /tmp/db100k     # fresh full scan, kept
    .venv/bin/python benchmarks/bench_scan.py --from /tmp/db100k --nights 3 --prime --baseline DIR

``--from`` starts the emulator from the same seed (the synthetic workspace is deterministic, so the stored
Changes token and file ids still match), copies the kept database and keys afresh for every night and
runs an unchanged incremental night (``sharescan scan --dry-run``), alternating this tree (B) with
``--baseline`` (A) when given. ``--prime`` first runs one night of this tree on the kept database and
measures from there. Writes results/scan_nights_<n>k.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from scanner.emulator import Emulator
from scanner.emulator.faults import FaultRule

RESULTS = Path(__file__).parent / "results" / "scan.json"
SHARESCAN = str(Path(sys.executable).with_name("sharescan"))
CONTENT_ENDPOINTS = ("drive.files.export", "drive.files.download")


def _serve(spec: str, key_path: str, conn: Any) -> None:
    """The emulator in its own process (it must not share the scanner's CPU accounting or GIL)."""
    from scanner.emulator.state import mutate

    with Emulator(seed=spec) as emu:
        emu.write_key_file(key_path)
        ws = emu.workspace
        conn.send((emu.endpoint, ws.domain, sum(1 for f in ws.files.values() if not f.trashed)))
        while True:
            cmd, arg = conn.recv()
            if cmd == "latency":
                emu.set_faults([FaultRule(endpoint=e, kind="latency", rate=1.0, latency=float(arg))
                                for e in CONTENT_ENDPOINTS] if arg else None)
                conn.send(True)
            elif cmd == "edit":  # edit this share of the live files (content and version move)
                with ws.lock:
                    live = sorted(i for i, f in ws.files.items() if not f.trashed and f.mime_type !=
                                  "application/vnd.google-apps.folder")
                    chosen = random.Random(7).sample(live, max(1, int(len(live) * float(arg))))
                    for file_id in chosen:
                        f = ws.files[file_id]
                        mutate.edit_content(ws, file_id, f.owner or "", text="edited for the benchmark")
                conn.send(len(chosen))
            elif cmd == "cpu":
                conn.send(time.process_time())
            else:
                conn.send(True)
                return


def _config(tmp: Path, endpoint: str, domain: str, key: Path, workers: int) -> Path:
    path = tmp / "sharescan.toml"
    path.write_text(f"""
[organisation]
domains = ["{domain}"]
[google]
service_account_file = "{key}"
remediation_service_account_file = "{key}"
admin_subject = "admin@{domain}"
endpoint = "{endpoint}"
[database]
url = "sqlite:///{tmp / 'sharescan.db'}"
[detect]
key_file = "{tmp / 'keys' / 'evidence.key'}"
[remediation]
mode = "dry-run"
[limits]
workers = {workers}
quota_units_per_minute = 100000000
[export]
signing_key_file = "{tmp / 'keys' / 'export.key'}"
[audit]
key_file = "{tmp / 'keys' / 'audit.key'}"
anchor_path = "{tmp / 'anchors'}"
""", encoding="utf-8")
    return path


#: Put first on the path of a baseline tree's processes (and their children): this virtualenv's editable
#: install of the current tree would otherwise win over PYTHONPATH.
_BASELINE_SITE = """import sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
"""


def _baseline_env(src: Path, site_dir: Path) -> dict[str, str]:
    """PYTHONPATH for running ``src`` with this virtualenv; its top-level rules/ and migrations/ are mapped
    into the package as setup.py does."""
    (site_dir / "sitecustomize.py").write_text(_BASELINE_SITE, encoding="utf-8")
    for name in ("rules", "migrations"):
        link = src / "scanner" / name
        if not link.exists():
            link.symlink_to(src / name, target_is_directory=True)
    return {"PYTHONPATH": f"{site_dir}{os.pathsep}{src}"}


def _sharescan(config: Path, *args: str, env_extra: dict[str, str] | None = None, binary: str | None = None,
               ) -> tuple[subprocess.CompletedProcess[str], float, float, int]:
    """Run the CLI; returns the process, wall seconds, its CPU seconds (user+sys) and peak RSS in KiB."""
    env = {**os.environ, "SHARESCAN_CONFIG": str(config), **(env_extra or {})}
    cmd = [sys.executable, "-c", "from scanner.cli.main import main; main()"] if env_extra else [binary or SHARESCAN]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        # cwd: `python -c` puts it first on the path, so not this repository's root
        proc = subprocess.Popen([*cmd, *args], env=env, stdout=out, stderr=err, text=True, cwd=config.parent)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())
    return done, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def _run_stats(config: Path, run_id: int, env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    shown, *_ = _sharescan(config, "scans", "show", str(run_id), "--format", "json", env_extra=env_extra)
    body: dict[str, Any] = json.loads(shown.stdout)
    return body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 0.15],
                        help="seconds injected on every export and download (one pass per value)")
    parser.add_argument("--changed", type=float, default=0.01, help="share of files edited for the changed night")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--baseline", type=Path, help="another source tree to run the same way, alternating (A/B)")
    parser.add_argument("--runs", type=int, nargs="+", help="keep only these steps (1-5, in the order above)")
    parser.add_argument("--save", type=Path, help="run only the fresh full scan (this tree) and keep its database here")
    parser.add_argument("--from", dest="source", type=Path, help="a directory written by --save: incremental nights")
    parser.add_argument("--nights", type=int, default=3, help="with --from: unchanged incremental nights (per tree)")
    parser.add_argument("--prime", action="store_true",
                        help="with --from: first one unchanged incremental night of this tree on the kept database "
                             "(kept beside it as primed/), so the measured nights start from a night of this tree")
    parser.add_argument("--binary", default=SHARESCAN, help="the sharescan of the tree under test (B)")
    args = parser.parse_args(argv)
    console = Console()
    if args.source is not None:
        return _nights(args, console)
    if args.save is not None:
        args.baseline, args.runs = None, [1]
    args.out = args.out or (RESULTS if args.save is None else args.save / "full_scan.json")
    spec = f"synthetic:{args.users}:{args.files}:1"
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    for latency in args.latency:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            key = tmp / "sa.json"
            parent, child = mp.Pipe()
            server = mp.get_context("spawn").Process(target=_serve, args=(spec, str(key), child), daemon=True)
            server.start()
            try:
                endpoint, domain, files = parent.recv()
                trees: list[tuple[str, Path, dict[str, str] | None]] = []
                if args.baseline is not None:
                    (tmp / "A" / "site").mkdir(parents=True)
                    trees.append(("A", tmp / "A", _baseline_env(args.baseline.resolve(), tmp / "A" / "site")))
                (tmp / "B").mkdir()
                trees.append(("B" if args.baseline is not None else "", tmp / "B", None))
                configs = {}
                for tree, home, env_extra in trees:
                    configs[tree] = _config(home, endpoint, domain, key, args.workers)
                    init, *_ = _sharescan(configs[tree], "db", "upgrade", env_extra=env_extra)
                    assert init.returncode == 0, init.stderr
                parent.send(("latency", latency))
                parent.recv()
                changed = f"({args.changed:.0%} changed)"
                steps = [("full", ("--full",)), ("full (unchanged)", ("--full",)), ("incremental (unchanged)", ()),
                         (f"incremental {changed}", ()), (f"full {changed}", ("--full",))]
                for number, (name, extra) in enumerate(steps, start=1):
                    if name.endswith(changed):
                        parent.send(("edit", args.changed))
                        parent.recv()
                    if args.runs and number not in args.runs:
                        continue
                    for tree, _home, env_extra in (trees if number % 2 else trees[::-1]):
                        config = configs[tree]
                        parent.send(("cpu", None))
                        emu_cpu = float(parent.recv())
                        load = os.getloadavg()[0]
                        proc, wall, cpu, rss = _sharescan(config, "scan", *extra, "--dry-run", "--no-progress",
                                                         "--format", "json", env_extra=env_extra)
                        parent.send(("cpu", None))
                        emu_cpu = float(parent.recv()) - emu_cpu
                        if proc.returncode not in (0, 9):
                            console.print(proc.stderr[-3000:])
                            raise SystemExit(f"scan failed ({proc.returncode})")
                        result = json.loads(proc.stdout)
                        shown = _run_stats(config, int(result["run_id"]), env_extra)
                        units = sum(int(v) for v in result.get("api_units_by_method", {}).values())
                        calls = sum(int(v) for v in result.get("api_calls_by_method", {}).values())
                        checks = result.get("publish_checks", {})
                        rows.append({
                            "latency_s": latency, "tree": tree, "run": name, "files": files,
                            "status": result["status"], "load_before": round(load, 2),
                            "seconds": round(wall, 2), "files_per_second": round(files / wall, 1),
                            "cpu_ms_per_file": round(cpu * 1000 / files, 3), "peak_rss_mib": round(rss / 1024, 1),
                            "emulator_cpu_s": round(emu_cpu, 2),
                            "calls_per_1000_files": round(calls * 1000 / files, 1),
                            "units_per_1000_files": round(units * 1000 / files, 1), "units": units,
                            "publish_checks": sum(v for k, v in checks.items() if k != "skipped"),
                            "publish_checks_skipped": checks.get("skipped", 0),
                            "units_saved_by_publish_rule": 100 * int(checks.get("skipped", 0)),
                            "files_analysed": result.get("files_analysed"),
                            "findings_active": result.get("findings_active"),
                            "ledger": {r["method"]: r["units"] for r in shown.get("quota", [])},
                        })
                        console.print(f"{tree or 'this tree'} {name}: {wall:.1f} s, "
                                      f"CPU {cpu * 1000 / files:.3f} ms/file (load {load:.1f})")
                if args.save is not None:
                    _keep(trees[-1][1], args.save, {"seed": spec, "files": files, "users": args.users,
                                                    "workers": args.workers, "full_scan": rows[-1]})
            finally:
                parent.send(("stop", None))
                parent.recv()
                server.join(timeout=30)
    load_after = os.getloadavg()
    table = Table(title=f"scan benchmark — {args.files:,} files, {args.users} users (load {load_before[0]:.1f}"
                        f" → {load_after[0]:.1f} on {os.cpu_count()} cores)")
    for col in ("tree", "latency", "run", "files/s", "CPU ms/file", "RSS MiB", "calls/1k", "units/1k", "checks",
                "skipped"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r.get("tree", ""), f"{r['latency_s']:.2f}", r["run"], f"{r['files_per_second']:,}",
                      str(r["cpu_ms_per_file"]), str(r["peak_rss_mib"]), str(r["calls_per_1000_files"]),
                      f"{r['units_per_1000_files']:,}",
                      str(r["publish_checks"]), str(r["publish_checks_skipped"]))
    console.print(table)
    out = {"seed": spec, "cores": os.cpu_count(), "load_before": load_before, "load_after": load_after,
           "workers": args.workers,
           "baseline": str(args.baseline) if args.baseline else None, "runs": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 0


KEPT = ("sharescan.db", "keys", "anchors")


def _keep(tmp: Path, dest: Path, meta: dict[str, Any]) -> None:
    """The database, keys and anchors after the fresh full scan, with the seed that made them."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in KEPT:
        src = tmp / name
        if src.is_dir():
            shutil.copytree(src, dest / name, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, dest / name)
    (dest / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def _restore(source: Path, tmp: Path) -> None:
    for name in KEPT:
        src = source / name
        if src.is_dir():
            shutil.rmtree(tmp / name, ignore_errors=True)
            shutil.copytree(src, tmp / name)
        elif src.exists():
            shutil.copy2(src, tmp / name)


def _nights(args: argparse.Namespace, console: Console) -> int:
    """Unchanged incremental nights on copies of a kept database, B (this tree) and A (--baseline) alternated."""
    meta = json.loads((args.source / "meta.json").read_text(encoding="utf-8"))
    spec = meta["seed"]
    trees: list[tuple[str, str | None, dict[str, str] | None]] = [("B", args.binary, None)]
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        key = tmp / "sa.json"
        parent, child = mp.Pipe()
        server = mp.get_context("spawn").Process(target=_serve, args=(spec, str(key), child), daemon=True)
        server.start()
        try:
            endpoint, domain, files = parent.recv()
            assert files == meta["files"], (files, meta["files"])
            config = _config(tmp, endpoint, domain, key, int(meta["workers"]))
            if args.baseline is not None:
                (tmp / "A-site").mkdir()
                trees.insert(0, ("A", None, _baseline_env(args.baseline.resolve(), tmp / "A-site")))
            source = args.source
            if args.prime:
                _restore(source, tmp)
                _sharescan(config, "db", "upgrade", binary=args.binary)
                proc, *_ = _sharescan(config, "scan", "--dry-run", "--no-progress", "--format", "json",
                                      binary=args.binary)
                if proc.returncode not in (0, 9):
                    console.print(proc.stderr[-3000:])
                    raise SystemExit(f"priming scan failed ({proc.returncode})")
                source = args.source / "primed"
                _keep(tmp, source, meta)
            for night in range(args.nights):
                for label, binary, env_extra in trees:
                    _restore(source, tmp)
                    # a kept database from an older schema is brought to this tree's head (not timed)
                    _sharescan(config, "db", "upgrade", binary=binary, env_extra=env_extra)
                    load = os.getloadavg()[0]
                    proc, wall, cpu, rss = _sharescan(config, "scan", "--dry-run", "--no-progress", "--format",
                                                     "json", binary=binary, env_extra=env_extra)
                    if proc.returncode not in (0, 9):
                        console.print(proc.stderr[-3000:])
                        raise SystemExit(f"scan failed ({proc.returncode})")
                    result = json.loads(proc.stdout)
                    rows.append({"tree": label, "night": night + 1, "files": files, "status": result["status"],
                                 "seconds": round(wall, 2), "cpu_seconds": round(cpu, 2),
                                 "peak_rss_mib": round(rss / 1024, 1), "load_1min": round(load, 1),
                                 "scan_elapsed_seconds": result.get("elapsed_seconds"),
                                 "findings_active": result.get("findings_active"),
                                 "actions_unchanged": result.get("actions_unchanged"),
                                 "findings_planned": (result.get("plan") or {}).get("findings_planned"),
                                 "actions": result.get("actions")})
                    console.print(rows[-1])
        finally:
            parent.send(("stop", None))
            parent.recv()
            server.join(timeout=30)
    load_after = os.getloadavg()
    table = Table(title=f"unchanged incremental nights — {meta['files']:,} files (load {load_before[0]:.1f}"
                        f" → {load_after[0]:.1f} on {os.cpu_count()} cores)")
    for col in ("tree", "night", "wall s", "CPU s", "RSS MiB", "load", "findings"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["tree"], str(r["night"]), str(r["seconds"]), str(r["cpu_seconds"]), str(r["peak_rss_mib"]),
                      str(r["load_1min"]), str(r["findings_active"]))
    console.print(table)
    out_path = args.out or RESULTS.with_name(f"scan_nights_{meta['files'] // 1000}k.json")
    out = {"seed": spec, "cores": os.cpu_count(), "load_before": load_before, "load_after": load_after,
           "baseline": str(args.baseline) if args.baseline else None, "full_scan": meta.get("full_scan"),
           "runs": rows}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, indent=2) + "\n")
    console.print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
