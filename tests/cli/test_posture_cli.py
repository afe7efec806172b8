"""`sharescan posture …` as an operator runs it after a scan of the demo workspace (subprocess, emulator)."""

from __future__ import annotations

import csv
import io
import json

from tests.installation import Run


def test_posture_listings_after_a_scan(sharescan: Run) -> None:
    scan = sharescan("scan", "--full", "--no-progress")
    assert scan.returncode == 0, scan.stderr
    assert "posture: " in scan.stdout and "failing settings" in scan.stdout

    rows = json.loads(sharescan("posture", "list", "--format", "json").stdout)
    link = next(r for r in rows if r["check_id"] == "drive-anyone-with-link-allowed" and r["org_unit"] == "/Contractors")
    assert link["cis_gws"] == ["3.1.2.1.1.2"] and link["scuba_gws"] == ["GWS.DRIVEDOCS.1.5"]
    assert link["observed"] == {"externalSharingMode": "ALLOWED", "allowPublishingFiles": True}
    as_csv = list(csv.DictReader(io.StringIO(sharescan("posture", "list", "--format", "csv").stdout)))
    assert list(as_csv[0]) == list(rows[0])

    narrow = sharescan("posture", "list", env={"COLUMNS": "80"})
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80, narrow.stdout

    links = json.loads(sharescan("posture", "links", "--format", "json").stdout)
    assert any("in OU /Contractors, where anyone-with-link sharing is allowed" in x["sentence"] for x in links)
    # a file finding names its cause
    finding = next(f for f in json.loads(sharescan("findings", "list", "--format", "json").stdout)
                   if f["owner"].startswith("maya") and f["exposure"] == "anyone_with_link")
    shown = json.loads(sharescan("findings", "show", str(finding["id"]), "--format", "json").stdout)
    assert shown["org_unit"] == "/Contractors"
    assert "drive-anyone-with-link-allowed" in {c["check_id"] for c in shown["posture"]}
    top = json.loads(sharescan("posture", "top", "--format", "json").stdout)
    assert top[0]["rank"] == 1 and top[0]["prevented"] == max(t["prevented"] for t in top) > 0

    accepted = sharescan("posture", "accept", str(link["id"]), "--reason", "contractor programme needs it",
                         "--expires", "30d")
    assert accepted.returncode == 0, accepted.stderr
    again = json.loads(sharescan("posture", "show", str(link["id"]), "--format", "json").stdout)
    assert again["status"] == "accepted" and again["accepted_until"]
    assert sharescan("posture", "show", "999999").returncode == 6

    checks = sharescan("posture", "checks", "--format", "json")
    assert checks.returncode == 0, checks.stderr
    assert {c["id"] for c in json.loads(checks.stdout)} >= {"drive-anyone-with-link-allowed"}
