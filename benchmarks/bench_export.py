"""Export benchmark: seconds, peak memory and output size of each export format on a generated database.

    .venv/bin/python benchmarks/bench_export.py [--findings 20000] [--formats csv,jsonl,ocsf,html,all]

Builds a SQLite database at the head migration, fills it with bulk inserts (findings with evidence,
remediation actions, scan runs with per-target coverage, exemptions, files not analysed and a
hash-chained audit log), then runs ``export()`` once per format, each in a fresh subprocess so that
its peak resident memory (VmHWM) belongs to that export alone. Prints a table and writes
benchmarks/results/export.json. ``all`` is the default CLI case: every format in one export.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
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
from sqlalchemy import insert

from scanner.store import migrate
from scanner.store.audit import GENESIS, event_hash
from scanner.store.db import make_engine, make_sessionmaker
from scanner.store.models import (
    AuditEvent,
    CrawlTarget,
    DriveFileRow,
    Evidence,
    Exemption,
    Finding,
    RemediationAction,
    ScanCoverage,
    ScanRun,
)

RESULTS = Path(__file__).parent / "results" / "export.json"
FORMATS = ("csv", "jsonl", "ocsf", "html", "all")
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
DOMAIN = "tessera-labs.com"
BATCH = 5_000

# (detector, entity type, categories, masked preview)
DETECTORS = [
    ("contractor_roster", "PERSON", ["contractor_pii"], "M**** G*****"),
    ("contractor_roster", "EMAIL_ADDRESS", ["contractor_pii"], "m****@g****.com"),
    ("government_id", "US_SSN", ["contractor_pii", "government_id"], "***-**-1234"),
    ("bank_data", "IBAN_CODE", ["financial"], "DE89 **** **** **** 3000"),
    ("pay_data", "PERSON", ["contractor_pii", "financial"], "J**** K****"),
    ("client_codename", "CLIENT_CODENAME", ["client_confidential"], "KES****"),
    ("credentials", "API_KEY", ["credentials"], "AKIA************"),
]
# (rule id, title, severity, exposure, exposure classes)
RULES = [
    ("public-link-contractor-pii", "Anyone-with-link file holds contractor PII", "critical", "anyone_with_link",
     ["anyone_with_link"]),
    ("published-bank-data", "Published file holds bank data", "high", "published", ["published", "anyone_with_link"]),
    ("external-client-confidential", "Client material shared externally", "medium", "external_domain",
     ["external_domain"]),
    ("external-user-pii", "Personal data shared with an outside person", "high", "external_user", ["external_user"]),
    ("domain-client-confidential", "Client memo shared with the whole domain", "low", "domain", ["domain"]),
    ("public-credentials", "Credentials in a public file", "critical", "public", ["public", "anyone_with_link"]),
]
STATUSES = [("open", 50), ("remediated", 25), ("resolved", 15), ("accepted", 10)]
MIME = ["application/vnd.google-apps.spreadsheet", "application/vnd.google-apps.document",
        "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
WORDS = ["roster", "payroll", "Q3", "contractors", "KESTREL", "deck", "budget", "invoices", "onboarding", "IBAN",
         "export", "final", "v2", "(copy)", "Übersicht", "plan", "=SUM(A1)", "<b>draft</b>"]


def _status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MB. VmHWM belongs to this
    program's memory map only; ``ru_maxrss`` would also count the parent's pages at fork time."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def _insert(conn: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    """executemany in batches; every row gets every column (missing ones as None)."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    for i in range(0, len(rows), BATCH):
        conn.execute(insert(model), [{k: row.get(k) for k in keys} for row in rows[i:i + BATCH]])


def populate(url: str, findings: int, seed: int = 1) -> dict[str, int]:
    """Fill a migrated database with ``findings`` findings and everything around them."""
    rnd = random.Random(seed)
    engine = make_engine(url)
    counts: dict[str, int] = {}
    users = [f"user{i:04d}@{DOMAIN}" for i in range(max(50, findings // 200))]
    drives = [f"0ADrive{i:03d}" for i in range(max(5, findings // 4000))]
    n_runs = 30
    n_files = max(1, round(findings / 1.25))  # a fifth of the files have two findings
    with engine.begin() as conn:
        _insert(conn, CrawlTarget, [{"id": i + 1, "kind": "user", "key": u, "name": u.split("@")[0].title()}
                                    for i, u in enumerate(users)]
                + [{"id": len(users) + i + 1, "kind": "drive", "key": d, "name": f"Shared drive {i}"}
                   for i, d in enumerate(drives)])
        targets = len(users) + len(drives)
        runs, coverage = [], []
        for r in range(n_runs):
            start = NOW - dt.timedelta(days=n_runs - r, hours=-2)
            runs.append({"id": r + 1, "kind": "full" if r == 0 else "incremental",
                         "status": "partial" if r % 11 == 5 else "completed", "remediation_mode": "enforce",
                         "started_at": start, "finished_at": start + dt.timedelta(hours=1),
                         "heartbeat_at": start + dt.timedelta(hours=1), "hostname": "scanner-1", "pid": 4242,
                         "stats": {"files": findings * 4, "api_calls": findings // 3}})
            for t in range(targets):
                failed = r % 11 == 5 and t % 17 == 0
                coverage.append({
                    "run_id": r + 1, "target_id": t + 1, "status": "failed" if failed else "done",
                    "files_seen": rnd.randint(10, 400), "files_exposed": rnd.randint(0, 40),
                    "files_analysed": rnd.randint(0, 40), "files_skipped": 1 if failed else 0,
                    "files_failed": 1 if failed else 0, "api_calls": rnd.randint(5, 200),
                    "reasons": {"target": "403 insufficientFilePermissions"} if failed else {},
                    "started_at": start, "finished_at": start + dt.timedelta(minutes=50)})
        _insert(conn, ScanRun, runs)
        _insert(conn, ScanCoverage, coverage)
        counts |= {"scan_runs": len(runs), "coverage_rows": len(coverage)}
        del coverage

        files, evidence = [], []
        for i in range(n_files):
            rule = RULES[i % len(RULES)]
            owner = users[rnd.randrange(len(users))]
            fid = f"1F{i:09d}{rnd.getrandbits(40):010x}"
            not_analysed = rnd.random() < 0.05
            files.append({
                "id": fid, "name": " ".join(rnd.sample(WORDS, 3)) + f" {i}.xlsx", "mime_type": rnd.choice(MIME),
                "owner_email": owner, "drive_id": rnd.choice(drives) if i % 9 == 0 else None,
                "parents": [f"0Folder{i % 500}"], "web_view_link": f"https://docs.google.com/spreadsheets/d/{fid}/edit",
                "exposure": rule[3], "exposure_classes": rule[4], "published": rule[3] == "published",
                "exposed_since": NOW - dt.timedelta(days=rnd.uniform(1, 400)),
                "first_seen": NOW - dt.timedelta(days=rnd.uniform(1, 365)), "last_seen": NOW - dt.timedelta(hours=6),
                "content_status": "not_analysed" if not_analysed else "analysed", "content_revision": "r2",
                "content_skip_reason": "too_large: 2.1 GB > 25 MB" if not_analysed else None,
            })
            for d in rnd.sample(DETECTORS, rnd.randint(1, 4)):
                n = rnd.randint(1, 400)
                evidence.append({"file_id": fid, "revision": "r2", "detector": d[0], "entity_type": d[1], "count": n,
                                 "distinct_values": max(1, n - rnd.randint(0, n // 2)),
                                 "best_score": round(rnd.uniform(0.4, 1.0), 4), "location": f"Sheet1!A1:F{n}",
                                 "masked_preview": d[3], "value_hash": f"{rnd.getrandbits(256):064x}",
                                 "categories": d[2], "created_at": NOW - dt.timedelta(days=2)})
            if rnd.random() < 0.1:  # an older revision's rows, not yet cleaned
                d = rnd.choice(DETECTORS)
                evidence.append({"file_id": fid, "revision": "r1", "detector": d[0], "entity_type": d[1], "count": 3,
                                 "distinct_values": 3, "best_score": 0.5, "location": "Sheet1!A1:A3",
                                 "masked_preview": d[3], "value_hash": "0" * 64, "categories": d[2],
                                 "created_at": NOW - dt.timedelta(days=40)})
        _insert(conn, DriveFileRow, files)
        _insert(conn, Evidence, evidence)
        counts |= {"files": len(files), "evidence_rows": len(evidence)}
        del evidence

        status_pool = [s for s, w in STATUSES for _ in range(w)]
        rows, actions = [], []
        for i in range(findings):
            file = files[i % n_files]
            rule = RULES[(i % n_files) % len(RULES)] if i < n_files else RULES[(i + 1) % len(RULES)]
            status = rnd.choice(status_pool)
            first = NOW - dt.timedelta(days=rnd.uniform(0.2, 365))
            exposed = first - dt.timedelta(hours=rnd.uniform(0, 96))
            remediated = first + dt.timedelta(hours=rnd.uniform(0.1, 48)) if status == "remediated" else None
            resolved = first + dt.timedelta(days=rnd.uniform(1, 30)) if status == "resolved" else None
            changed = remediated or resolved or (first + dt.timedelta(days=1) if status == "accepted" else first)
            cats = sorted({c for d in rnd.sample(DETECTORS, 2) for c in d[2]})
            first_run = rnd.randint(1, n_runs) if rnd.random() < 0.9 else None
            rows.append({
                "id": i + 1, "fingerprint": f"{rnd.getrandbits(256):064x}", "rule_id": rule[0], "title": rule[1],
                "severity": rule[2], "file_id": file["id"], "owner_email": file["owner_email"],
                "principal": "anyone" if "anyone" in rule[3] or rule[3] in ("public", "published")
                else f"domain:partner{i % 40}.example",
                "detection_state": "inactive" if status in ("remediated", "resolved") else "active",
                "status": status, "exposure": rule[3], "exposure_after": "internal" if remediated else None,
                "matched_permissions": [{"id": "anyoneWithLink", "type": "anyone", "exposure": rule[3]}],
                "detectors": {"x": {"count": 1}}, "data_categories": cats, "first_seen": first,
                "last_seen": max(first, NOW - dt.timedelta(days=rnd.uniform(0, 3))), "exposed_since": exposed,
                "remediated_at": remediated, "resolved_at": resolved, "status_changed_at": changed,
                "accepted_until": NOW + dt.timedelta(days=30) if status == "accepted" else None,
                "recurrence_count": rnd.choice((0, 0, 0, 0, 1, 2)), "first_run_id": first_run,
                "last_run_id": n_runs,
            })
            if remediated:
                actions.append({"run_id": first_run, "finding_id": i + 1, "file_id": file["id"], "action": "revoke",
                                "permission_id": "anyoneWithLink", "target_file_id": file["id"], "mode": "enforce",
                                "status": "verified",
                                "before": {"id": "anyoneWithLink", "type": "anyone", "role": "reader",
                                           "allowFileDiscovery": False},
                                "after": None, "detail": "permission deleted and re-read: gone",
                                "actor": "sharescan@scanner-1", "created_at": remediated,
                                "completed_at": remediated})
                actions.append({"run_id": first_run, "finding_id": i + 1, "file_id": file["id"], "action": "notify",
                                "mode": "enforce", "status": "applied", "actor": "sharescan@scanner-1",
                                "created_at": remediated, "completed_at": remediated})
            elif status == "open" and rnd.random() < 0.3:
                actions.append({"run_id": n_runs, "finding_id": i + 1, "file_id": file["id"], "action": "unpublish",
                                "mode": "dry-run", "status": "planned", "before": {"published": True},
                                "actor": "sharescan@scanner-1", "created_at": NOW - dt.timedelta(hours=20)})
        _insert(conn, Finding, rows)
        _insert(conn, RemediationAction, actions)
        counts |= {"findings": len(rows), "actions": len(actions)}
        del rows, actions, files

        exemptions = [{"finding_id": rnd.randint(1, findings) if i % 2 else None,
                       "folder_id": None if i % 2 else f"0Folder{i}", "reason": f"Approved exception #{i}",
                       "actor": f"ciso@{DOMAIN}", "created_at": NOW - dt.timedelta(days=rnd.uniform(1, 200)),
                       "expires_at": NOW + dt.timedelta(days=rnd.uniform(-60, 90))} for i in range(100)]
        _insert(conn, Exemption, exemptions)

        events, prev = [], GENESIS
        for seq in range(1, findings // 10 + 2):
            ts = NOW - dt.timedelta(days=30) + dt.timedelta(seconds=seq)
            data = {"finding_id": seq, "rule": RULES[seq % len(RULES)][0]}
            kw = {"seq": seq, "ts": ts, "actor": "sharescan@scanner-1", "event_type": "finding.opened",
                  "subject_type": "finding", "subject_id": str(seq), "data": data}
            digest = event_hash(prev, **kw)  # type: ignore[arg-type]
            events.append(kw | {"prev_hash": prev, "hash": digest})
            prev = digest
        _insert(conn, AuditEvent, events)
        counts |= {"exemptions": len(exemptions), "audit_events": len(events)}
    engine.dispose()
    return counts


def measure(url: str, fmt: str, out_dir: Path, key_file: Path) -> dict[str, Any]:
    """One export in this process (run in a subprocess by the parent): seconds, peak RSS, bytes."""
    from scanner.config import Settings
    from scanner.export.service import FORMATS as EXPORT_FORMATS
    from scanner.export.service import export

    settings = Settings().with_overrides(export={"signing_key_file": str(key_file)})
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    baseline = _status_mb("VmRSS")
    started = time.perf_counter()
    result = export(sessions, settings, list(EXPORT_FORMATS) if fmt == "all" else [fmt], out_dir, now=NOW,
                    actor="bench@t")
    seconds = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    engine.dispose()
    size = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    return {"format": fmt, "seconds": round(seconds, 2), "peak_rss_mb": round(peak, 1),
            "baseline_rss_mb": round(baseline, 1), "peak_over_baseline_mb": round(peak - baseline, 1),
            "output_bytes": size, "files": len(result.files) + 1, "findings": result.counts["findings"]}


def _child(url: str, fmt: str, out_dir: Path, key_file: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--measure", fmt, "--url", url, "--out-dir", str(out_dir),
           "--key-file", str(key_file)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                          env=os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    if proc.returncode != 0:
        raise RuntimeError(f"export {fmt} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, default=20_000)
    parser.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated, of {', '.join(FORMATS)}")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the database and the exports in this (new) directory")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--label", default="", help="recorded with the results (e.g. before/after)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--key-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.url, args.measure, args.out_dir, args.key_file)))
        return 0
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = set(formats) - set(FORMATS)
    if unknown:
        parser.error(f"unknown format(s) {', '.join(sorted(unknown))}")
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bench-export-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    try:
        url = f"sqlite:///{work / 'bench.db'}"
        t0 = time.perf_counter()
        migrate.upgrade(url)
        counts = populate(url, args.findings, args.seed)
        build_seconds = time.perf_counter() - t0
        db_mb = (work / "bench.db").stat().st_size / 1e6
        console.print(f"database: {counts['findings']:,} findings, {counts['evidence_rows']:,} evidence rows, "
                      f"{counts['actions']:,} actions, {counts['coverage_rows']:,} coverage rows — {db_mb:.0f} MB "
                      f"in {build_seconds:.1f}s")
        rows = [_child(url, fmt, work / f"export-{fmt}", work / "keys" / "export-signing.key") for fmt in formats]
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    table = Table(title=f"export benchmark — {args.findings:,} findings" + (f" ({args.label})" if args.label else ""))
    for col in ("format", "seconds", "findings/s", "peak RSS MB", "over baseline MB", "output MB"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(r["format"], f"{r['seconds']:.2f}", f"{r['findings'] / max(r['seconds'], 1e-9):,.0f}",
                      f"{r['peak_rss_mb']:.0f}", f"{r['peak_over_baseline_mb']:.0f}", f"{r['output_bytes'] / 1e6:.1f}")
    console.print(table)
    result = {"label": args.label, "findings": args.findings, "seed": args.seed, "database": counts,
              "database_mb": round(db_mb, 1), "build_seconds": round(build_seconds, 1), "exports": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
