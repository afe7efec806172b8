"""CLI start-up benchmark: wall time of ``sharescan --help`` (what every shell-completion Tab pays).

    .venv/bin/python benchmarks/bench_cli_startup.py [--runs 15]

Times the real command end to end in fresh processes, alternating in one run:

- A ``sharescan --help``: the lazy CLI (commands imported when they run);
- B the same help after importing every command module first, as the CLI did before commands were
  loaded lazily (a faithful stand-in for the old eager start-up);
- C ``sharescan scan --help`` (one command module and what it imports at the top);
- D ``python -c pass`` (the interpreter alone: the floor).

Prints median/min/max per case and the machine load, and writes benchmarks/results/cli_startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "cli_startup.json"
BIN = Path(sys.executable).parent
EAGER = ("import importlib, sys; from scanner.cli.main import REGISTRY, main\n"
         "for entry in REGISTRY.values(): importlib.import_module(entry.module)\n"
         "sys.argv = ['sharescan', '--help']; main()")
CASES: dict[str, list[str]] = {
    "A lazy: sharescan --help": [str(BIN / "sharescan"), "--help"],
    "B eager imports, then --help": [sys.executable, "-c", EAGER],
    "C sharescan scan --help": [str(BIN / "sharescan"), "scan", "--help"],
    "D python -c pass": [sys.executable, "-c", "pass"],
}


def once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    load_before = os.getloadavg()
    for argv in CASES.values():  # warm the page cache and .pyc files
        once(argv)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, argv in CASES.items():  # alternate the cases so load changes hit them alike
            times[name].append(once(argv))
    load_after = os.getloadavg()
    rows = {name: {"median_s": round(statistics.median(t), 3), "min_s": round(min(t), 3),
                   "max_s": round(max(t), 3)} for name, t in times.items()}
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} ({os.cpu_count()} cores); "
          f"{args.runs} runs each")
    print(f"{'case':<34} {'median':>8} {'min':>8} {'max':>8}")
    for name, row in rows.items():
        print(f"{name:<34} {row['median_s']:>7.3f}s {row['min_s']:>7.3f}s {row['max_s']:>7.3f}s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"runs": args.runs, "load_before": load_before, "load_after": load_after,
                                   "cores": os.cpu_count(), "cases": rows}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
