"""Peak memory of sharescan on hostile documents (zip bombs, huge parts, XML and PDF tricks).

Corpus: ``tests/data/make_hostile.py`` (generated into a temporary directory, never committed).
For each file, two fresh processes, each under ``/usr/bin/time`` (peak resident set, ``%M``):

- ``extract``: ``scanner.content.extract.extract()`` alone — what an analysis worker adds;
- ``classify``: ``sharescan classify FILE --format json`` end to end (pattern-only: the spaCy model's
  own ~150 MB is a constant, not something a file can change).

The budgets are the issue's: an analysis worker at most 400 MB, the main process at most 300 MB.
``--baseline DIR`` runs a second source tree (e.g. ``git archive <commit> | tar -x -C DIR``) the same
way, alternating baseline and current per file, so both see the same machine load; ``--timeout``
stops a process that would take too long (reported as ``timeout``).

Run: .venv/bin/python benchmarks/bench_hostile.py [--only NAME ...] [--baseline DIR] [--skip-classify]
Writes benchmarks/results/hostile.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.data.make_hostile import GENERATORS, build  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "hostile.json"
WORKER_BUDGET_MB = 400
MAIN_BUDGET_MB = 300

EXTRACT = """
import json, sys
from scanner.content.extract import extract
data = open(sys.argv[1], "rb").read()
r = extract(data, sys.argv[2], sys.argv[1])
print(json.dumps({"ok": r.ok, "kind": str(getattr(r, "skip", None) or ""), "reason": r.reason,
                  "truncated": r.truncated, "chars": r.chars}))
"""
CLASSIFY = "from scanner.cli.main import main; main()"


LIMIT_MB: int | None = None  # --limit-mb: address-space cap for every measured process (a safety net)


def _limit() -> None:
    if LIMIT_MB:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (LIMIT_MB * 1024 * 1024, LIMIT_MB * 1024 * 1024))


def _measure(cmd: list[str], src: Path, timeout: float) -> dict[str, object]:
    """Peak RSS (MB) and seconds of ``cmd`` in a fresh process, with ``src`` first on the path."""
    timer = shutil.which("time") and "/usr/bin/time"
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as home:  # also the cwd: `python -c` puts it first
        return _measure_in(cmd, src, timeout, home, timer)


def _measure_in(cmd: list[str], src: Path, timeout: float, home: str, timer: str | None) -> dict[str, object]:
    env = os.environ | {"PYTHONPATH": str(src), "SHARESCAN_DATA_DIR": home}
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = [timer, "-o", tf.name, "-f", "%M %e", *cmd] if timer else cmd
        start = time.perf_counter()
        # a session of its own: on timeout the measured process is killed with /usr/bin/time, not orphaned
        popen = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=home,
                                 start_new_session=True, preexec_fn=_limit if LIMIT_MB else None)  # noqa: PLW1509
        try:
            stdout, stderr = popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.communicate()
            return {"status": "timeout", "peak_mb": None, "seconds": round(time.perf_counter() - start, 1)}
        proc = subprocess.CompletedProcess(full, popen.returncode, stdout, stderr)
        lines = [ln for ln in Path(tf.name).read_text().splitlines() if ln.strip()]
    peak_kb, seconds = (lines[-1].split() if lines else ("0", "0"))
    out: dict[str, object] = {"peak_mb": round(int(peak_kb) / 1024, 1), "seconds": float(seconds),
                              "returncode": proc.returncode}
    if proc.returncode < 0 or proc.returncode == 137:
        out["status"] = f"killed (signal {-proc.returncode if proc.returncode < 0 else 9})"
    elif "MemoryError" in proc.stderr:
        out["status"] = f"MemoryError at --limit-mb {LIMIT_MB}"
    else:
        out["status"] = "done"
    out["stdout"] = proc.stdout.strip()[-2000:]
    out["stderr"] = proc.stderr.strip()[-500:]
    return out


def _extract(path: Path, mime: str, src: Path, timeout: float) -> dict[str, object]:
    m = _measure([sys.executable, "-c", EXTRACT, str(path), mime], src, timeout)
    if m["status"] == "done" and m["returncode"] == 0:
        m["result"] = json.loads(str(m["stdout"]).splitlines()[-1])
    return m


def _classify(path: Path, src: Path, timeout: float) -> dict[str, object]:
    m = _measure([sys.executable, "-c", CLASSIFY, "classify", str(path), "--format", "json", "--nlp",
                  "pattern-only"], src, timeout)
    if m["status"] == "done" and m["returncode"] == 0:
        docs = json.loads(str(m["stdout"]))
        doc = docs[0] if isinstance(docs, list) and docs else {}
        m["result"] = {k: doc.get(k) for k in ("analysed", "reason", "truncated")}
    return m


def _outcome(m: dict[str, object]) -> str:
    if m.get("status") != "done":
        return str(m.get("status"))
    r = m.get("result")
    if not isinstance(r, dict):
        return f"exit {m.get('returncode')}"
    if "ok" in r:
        return (("truncated" if r["truncated"] else "ok") if r["ok"]
                else str(r.get("kind") or r.get("reason") or "not analysed"))
    if r.get("analysed"):
        return "truncated" if r.get("truncated") else "ok"
    return str(r.get("reason") or "not analysed").removeprefix("not analysed: ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=[], help=f"files to run, of: {', '.join(GENERATORS)}")
    parser.add_argument("--baseline", type=Path, help="another source tree to measure the same way (A/B)")
    parser.add_argument("--skip-classify", action="store_true", help="measure extraction only")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--limit-mb", type=int, default=None,
                        help="address-space cap per measured process (protects a shared machine)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    global LIMIT_MB
    LIMIT_MB = args.limit_mb
    names = args.only or list(GENERATORS)
    sides = [("before", args.baseline.resolve())] if args.baseline else []
    sides.append(("after", ROOT))
    load_start = os.getloadavg()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        for name in names:
            h = build(name)
            path = Path(tmp) / h.name
            path.write_bytes(h.data)
            row: dict[str, object] = {"file": h.name, "bytes": len(h.data), "what": h.what, "expect": h.expect}
            for side, src in sides:  # alternating per file: both sides see the same load
                row[f"extract_{side}"] = _extract(path, h.mime, src, args.timeout)
                if not args.skip_classify:
                    row[f"classify_{side}"] = _classify(path, src, args.timeout)
            rows.append(row)
            _print_row(row, [s for s, _ in sides], not args.skip_classify)
            path.unlink()
    load_end = os.getloadavg()
    print(f"\nload average (1/5/15 min): start {load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f}, "
          f"end {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f}; {os.cpu_count()} cores")
    worst = max((float(r["extract_after"]["peak_mb"] or 0) for r in rows), default=0.0)  # type: ignore[index]
    print(f"worst extraction peak (current): {worst:.0f} MB (worker budget {WORKER_BUDGET_MB} MB)")
    if not args.skip_classify:
        worst_c = max((float(r["classify_after"]["peak_mb"] or 0) for r in rows), default=0.0)  # type: ignore[index]
        print(f"worst classify peak (current): {worst_c:.0f} MB (main budget {MAIN_BUDGET_MB} MB)")
    for r in rows:
        for value in r.values():
            if isinstance(value, dict):
                value.pop("stdout", None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "cores": os.cpu_count(),
                                    "load_start": load_start, "load_end": load_end, "files": rows}, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


def _print_row(row: dict[str, object], sides: list[str], classify: bool) -> None:
    if not getattr(_print_row, "header", False):
        cols = [f"extract {s}" for s in sides] + ([f"classify {s}" for s in sides] if classify else [])
        print(f"{'file':30} {'KB':>7}  " + "  ".join(f"{c:>28}" for c in cols))
        _print_row.header = True  # type: ignore[attr-defined]
    cells = []
    for kind in ("extract", "classify") if classify else ("extract",):
        for side in sides:
            m = row[f"{kind}_{side}"]
            assert isinstance(m, dict)
            peak = "-" if m.get("peak_mb") is None else f"{m['peak_mb']:.0f} MB"
            cells.append(f"{peak:>8} {m.get('seconds', 0):>5.1f}s {_outcome(m)[:13]:>13}")
    print(f"{str(row['file'])[:30]:30} {int(row['bytes']) // 1024:>7,}  " + "  ".join(cells), flush=True)  # type: ignore[call-overload]


if __name__ == "__main__":
    sys.exit(main())
