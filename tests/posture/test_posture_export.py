"""Posture findings in the compliance export: CSV/JSONL rows, OCSF Compliance Findings (2003) valid against
the official OCSF 1.4.0 schema, and the report's "Settings to change" with the findings each one allowed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from scanner.export.posture import POSTURE_COLUMNS
from scanner.export.service import export
from scanner.run import ScanOptions, ScanService

COMPLIANCE_SCHEMA = OcsfJsonSchemaEmbedded(get_ocsf_schema("1.4.0")).get_class_schema("compliance_finding")


def test_export_carries_posture_findings(make_app, tmp_path: Path) -> None:
    app = make_app()
    ScanService(app).run(ScanOptions(full=True))
    out = tmp_path / "export"
    result = export(app, app.settings, ["csv", "jsonl", "ocsf", "html"], out)
    assert {"posture_findings.csv", "posture_findings.jsonl", "ocsf/posture.ocsf.jsonl"} <= set(result.files)

    rows = list(csv.DictReader((out / "posture_findings.csv").open(encoding="utf-8")))
    assert list(rows[0]) == POSTURE_COLUMNS
    lines = [json.loads(x) for x in (out / "posture_findings.jsonl").read_text().splitlines()]
    assert len(lines) == len(rows)
    link = next(r for r in lines if r["check_id"] == "drive-anyone-with-link-allowed" and r["org_unit"] == "/Contractors")
    assert link["findings_allowed"] > 0 and link["cis_gws"] == ["3.1.2.1.1.2"]
    assert "@" not in (out / "posture_findings.jsonl").read_text()  # setting values and paths, no people

    records = [json.loads(x) for x in (out / "ocsf/posture.ocsf.jsonl").read_text().splitlines()]
    validator = jsonschema.Draft202012Validator(COMPLIANCE_SCHEMA)
    for record in records:
        errors = [e.message for e in validator.iter_errors(record)]
        assert not errors, errors[:3]
    controls = {(r["compliance"]["control"], r["resources"][0]["name"]) for r in records}
    assert ("3.1.2.1.1.2", "/Contractors") in controls and ("GWS.DRIVEDOCS.1.5", "/Contractors") in controls
    assert {r["compliance"]["status"] for r in records} == {"Fail"}

    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'id="posture"' in html and "Settings to change" in html
    assert "in OU /Contractors, where anyone-with-link sharing is allowed" in html
