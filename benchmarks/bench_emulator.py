"""files.list throughput of the emulator for the crawler's real request, through the real googleapiclient.

    .venv/bin/python benchmarks/bench_emulator.py [--seed synthetic:100:100000:1] [--rounds 3]

The emulator runs in its own process (as Google would: the client's JSON parsing does not share its
GIL). Every round lists every active user's My Drive files and every shared drive with exactly the
request the crawler sends (``scanner.connectors.google.drive_api``: ``'<owner>' in owners and trashed = false``,
pageSize 1000, ``FILES_LIST_FIELDS`` with ``size`` and ``md5Checksum``) and, alternating with it, the
same request without ``size`` and ``md5Checksum``: if content digests were still computed from
generated content the two would differ by orders of magnitude. The first round of each variant is
cold (the emulator's per-process content bodies are built then). Prints a table and the machine
load, writes benchmarks/results/emulator.json. Target: >= 20,000 results/s for the crawler's request.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build_from_document

from scanner.connectors.google.client import load_discovery
from scanner.connectors.google.drive_api import FILES_LIST_FIELDS, FILES_PAGE_SIZE, SHARED_DRIVE_QUERY, owned_by_query
from scanner.emulator import Emulator

RESULTS = Path(__file__).parent / "results" / "emulator.json"
SCOPES = ["https://www.googleapis.com/auth/drive.readonly"]
NO_DIGESTS = FILES_LIST_FIELDS.replace("md5Checksum,", "").replace("size,", "")


def _serve(spec: str, key_path: str, conn: Any) -> None:
    """The emulator in its own process; sends its endpoint, the owners and one member per shared drive."""
    with Emulator(seed=spec) as emu:
        emu.write_key_file(key_path)
        ws = emu.workspace
        owners = sorted({f.owner for f in ws.files.values() if f.owner and not ws.users[f.owner].suspended})
        drives = [(d.id, next(m.email for m in d.members if m.role == "organizer" and m.email))
                  for d in ws.drives.values()]
        conn.send((emu.endpoint, owners, drives, len(ws.files)))
        while conn.recv() == "cpu":  # CPU seconds this process has used, to price each round
            conn.send(time.process_time())


def _client(endpoint: str, info: dict[str, Any], subject: str) -> Any:
    creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES).with_subject(subject)
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(proxy_info=None, timeout=120))
    return build_from_document(load_discovery("drive.v3", endpoint), http=http)


def _list_all(request_for: Any) -> tuple[int, int]:
    files = pages = 0
    token = None
    while True:
        resp = request_for(token).execute()
        files += len(resp.get("files", []))
        pages += 1
        token = resp.get("nextPageToken")
        if not token:
            return files, pages


def _emulator_cpu(conn: Any) -> float:
    conn.send("cpu")
    return float(conn.recv())


def _round(conn: Any, clients: dict[str, Any], owners: list[str], drives: list[tuple[str, str]],
           fields: str) -> dict[str, Any]:
    files = pages = 0
    cpu = time.process_time()
    emulator_cpu = _emulator_cpu(conn)
    started = time.perf_counter()
    for owner in owners:
        drive = clients[owner]
        n, p = _list_all(lambda t, d=drive, o=owner: d.files().list(
            corpora="user", spaces="drive", q=owned_by_query(o), pageSize=FILES_PAGE_SIZE, fields=fields, pageToken=t))
        files, pages = files + n, pages + p
    for drive_id, member in drives:
        drive = clients[member]
        n, p = _list_all(lambda t, d=drive, i=drive_id: d.files().list(
            corpora="drive", driveId=i, includeItemsFromAllDrives=True, supportsAllDrives=True,
            q=SHARED_DRIVE_QUERY, pageSize=FILES_PAGE_SIZE, fields=fields, pageToken=t))
        files, pages = files + n, pages + p
    elapsed = time.perf_counter() - started
    emulator_cpu = _emulator_cpu(conn) - emulator_cpu
    return {"files": files, "pages": pages, "seconds": round(elapsed, 3), "results_per_s": round(files / elapsed),
            "client_cpu_s": round(time.process_time() - cpu, 3), "emulator_cpu_s": round(emulator_cpu, 3),
            "results_per_emulator_cpu_s": round(files / max(emulator_cpu, 1e-9))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", default="synthetic:100:100000:1")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant (alternated)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        key_path = Path(tmp) / "key.json"
        parent, child = mp.Pipe()
        proc = mp.get_context("spawn").Process(target=_serve, args=(args.seed, str(key_path), child), daemon=True)
        t = time.perf_counter()
        proc.start()
        endpoint, owners, drives, total = parent.recv()
        print(f"seed {args.seed}: {total:,} files, {len(owners)} owners, {len(drives)} shared drives "
              f"(emulator up in {time.perf_counter() - t:.1f} s)")
        info = json.loads(key_path.read_text())
        subjects = sorted({*owners, *(m for _, m in drives)})
        clients = {s: _client(endpoint, info, s) for s in subjects}
        for s in subjects:  # tokens first, so rounds time files.list only
            clients[s].about().get(fields="user(emailAddress)").execute()
        rows: list[dict[str, Any]] = []
        variants = [("crawler request", FILES_LIST_FIELDS), ("without size,md5Checksum", NO_DIGESTS)]
        for rnd in range(1, args.rounds + 1):
            for name, fields in (variants if rnd % 2 else variants[::-1]):
                row = {"round": rnd, "variant": name, **_round(parent, clients, owners, drives, fields)}
                rows.append(row)
                print(f"round {rnd}  {name:<26} {row['files']:>7,} files {row['pages']:>4} pages "
                      f"{row['seconds']:>7.2f} s {row['results_per_s']:>8,} results/s "
                      f"(emulator CPU {row['emulator_cpu_s']:.2f} s = {row['results_per_emulator_cpu_s']:,}/CPU-s, "
                      f"client CPU {row['client_cpu_s']:.2f} s)")
        parent.send("stop")
        proc.join(10)
    load_after = os.getloadavg()
    summary = {}
    for name, _ in variants:
        rates = [r["results_per_s"] for r in rows if r["variant"] == name]
        per_cpu = [r["results_per_emulator_cpu_s"] for r in rows if r["variant"] == name]
        summary[name] = {"cold": rates[0], "median": statistics.median(rates), "best": max(rates),
                         "median_per_emulator_cpu_s": statistics.median(per_cpu)}
    print(f"machine: {os.cpu_count()} cores, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    for name, s in summary.items():
        print(f"{name:<26} cold {s['cold']:>8,}  median {s['median']:>10,.0f}  best {s['best']:>8,} results/s; "
              f"median {s['median_per_emulator_cpu_s']:,.0f} results per emulator CPU-second")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "seed": args.seed, "files": total, "owners": len(owners), "shared_drives": len(drives),
        "cores": os.cpu_count(), "load_before": load_before, "load_after": load_after,
        "rounds": rows, "summary": summary, "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
