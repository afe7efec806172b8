"""Where the scan process spends its CPU: ``sharescan scan`` under cProfile on every thread, with a
per-thread CPU clock (``time.thread_time``: waits on locks, sockets and SQLite's busy handler cost nothing).

    .venv/bin/python benchmarks/profile_scan.py [--users 100] [--files 10000] [--steps full full incremental]

Starts the emulator in its own process as ``bench_scan.py`` does, upgrades a fresh SQLite database, then
runs each step (``full`` = ``scan --full --dry-run``, ``incremental`` = ``scan --dry-run``) in its own process
with every thread profiled; writes ``<out>.<n>.<step>.prof`` (pstats) and prints the top entries by
cumulative CPU. The analysis pool's processes are not profiled (their CPU is extraction and detection).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_scan  # noqa: E402 - the emulator process and the configuration are bench_scan's

#: Run in the profiled process: every thread gets its own profiler, merged at exit. The guard keeps the
#: analysis pool's processes (which import __main__) from running the CLI again.
PROFILED = """
import cProfile, os, pstats, sys, threading, time
if __name__ == "__main__":
    profiles, lock, run = [], threading.Lock(), threading.Thread.run
    def profiled(self):
        p = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(p)
        p.enable()
        try:
            run(self)
        finally:
            p.disable()
    threading.Thread.run = profiled
    from scanner.cli.main import main
    main_profile = cProfile.Profile(time.thread_time)
    code = 0
    main_profile.enable()
    try:
        main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        main_profile.disable()
        stats = pstats.Stats(main_profile)
        for p in profiles:
            stats.add(p)
        stats.dump_stats(os.environ["SHARESCAN_PROFILE_OUT"])
    sys.exit(code)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--steps", nargs="+", choices=("full", "incremental"), default=["full", "full"])
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "sharescan-profile")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args(argv)
    spec = f"synthetic:{args.users}:{args.files}:1"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        key = tmp / "sa.json"
        parent, child = mp.Pipe()
        server = mp.get_context("spawn").Process(target=bench_scan._serve, args=(spec, str(key), child), daemon=True)
        server.start()
        try:
            endpoint, domain, _files = parent.recv()
            config = bench_scan._config(tmp, endpoint, domain, key, 4)
            env = {**os.environ, "SHARESCAN_CONFIG": str(config)}
            subprocess.run([bench_scan.SHARESCAN, "db", "upgrade"], env=env, check=True, capture_output=True)
            script = tmp / "profiled.py"
            script.write_text(PROFILED, encoding="utf-8")
            for number, step in enumerate(args.steps):
                out = Path(f"{args.out}.{number}.{step}.prof")
                extra = ["--full"] if step == "full" else []
                load = os.getloadavg()[0]
                started = time.perf_counter()
                proc = subprocess.run([sys.executable, str(script), "scan", *extra, "--dry-run", "--no-progress",
                                       "--format", "json"], env={**env, "SHARESCAN_PROFILE_OUT": str(out)},
                                      capture_output=True, text=True, cwd=tmp)
                print(f"{step}: exit {proc.returncode}, {time.perf_counter() - started:.1f} s (load {load:.1f})")
                if proc.returncode not in (0, 9):
                    print(proc.stderr[-3000:])
                    return 1
                stats = pstats.Stats(str(out))
                print(f"profiled CPU {stats.total_tt:.1f} s (profiler overhead included) -> {out}")  # type: ignore[attr-defined]
                stats.sort_stats("cumulative").print_stats(args.top)
        finally:
            parent.send(("stop", None))
            parent.recv()
            server.join(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
