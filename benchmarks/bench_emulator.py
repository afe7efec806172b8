"""files.list throughput of the emulator through the real googleapiclient + google-auth.

    .venv/bin/python benchmarks/bench_emulator.py [--seed synthetic:200:50000] [--fields ...]

Prints files.list results per second (target: >= 2,000/s on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import time
from importlib import resources

import google_auth_httplib2
import httplib2
from google.oauth2 import service_account
from googleapiclient.discovery import build_from_document

from scanner.emulator import Emulator, build_seed


def drive_client(endpoint: str, info: dict, subject: str):
    ref = resources.files("googleapiclient").joinpath("discovery_cache/documents/drive.v3.json")
    doc = json.loads(ref.read_text(encoding="utf-8"))
    doc["rootUrl"] = endpoint + "/"
    creds = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/drive.readonly"]).with_subject(subject)
    http = google_auth_httplib2.AuthorizedHttp(creds, http=httplib2.Http(proxy_info=None, timeout=60))
    return build_from_document(doc, http=http)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", default="synthetic:10:50000")
    parser.add_argument("--fields", default="nextPageToken,files(id,name,mimeType,owners(emailAddress),"
                                            "modifiedTime,permissions(id,type,role,emailAddress,domain))")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    t = time.perf_counter()
    ws = build_seed(args.seed)
    print(f"seed {args.seed}: {len(ws.files)} files in {time.perf_counter() - t:.2f}s")
    with Emulator(ws) as emu:
        owner = max(ws.users, key=lambda e: len(ws.corpus_index().get("user:" + e, [])))
        drive = drive_client(emu.endpoint, emu.service_account_info(), owner)
        best = 0.0
        for rnd in range(args.rounds):
            total, pages, token = 0, 0, None
            t = time.perf_counter()
            while True:
                resp = drive.files().list(pageSize=1000, pageToken=token, fields=args.fields).execute()
                total += len(resp.get("files", []))
                pages += 1
                token = resp.get("nextPageToken")
                if not token:
                    break
            elapsed = time.perf_counter() - t
            rate = total / elapsed
            best = max(best, rate)
            print(f"round {rnd + 1}: {total} files in {pages} pages, {elapsed:.2f}s -> {rate:,.0f} results/s")
        print(f"best: {best:,.0f} files.list results/s ({owner})")


if __name__ == "__main__":
    main()
