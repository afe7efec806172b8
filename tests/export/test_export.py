"""Exports from realistic rows: content, filters, escaping, OCSF validity, manifest and audit event."""

from __future__ import annotations

import csv
import json
import os
import stat
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.core.errors import ConfigError
from scanner.export.service import export
from scanner.export.signing import verify_export
from scanner.store import audit
from scanner.store.models import AuditEvent
from tests.export.factory import FORMULA_NAME, NOW, SCRIPT_NAME, Story

#: The official OCSF 1.4.0 schema (schema.ocsf.io's export, bundled by ocsf-json-schema) as JSON Schema.
OCSF = OcsfJsonSchemaEmbedded(get_ocsf_schema("1.4.0"))
SCHEMA = OCSF.get_class_schema("data_security_finding")
COMPLIANCE_SCHEMA = OCSF.get_class_schema("compliance_finding")


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def full_export(sessions: sessionmaker[Session], story: Story, settings: Settings, tmp_path: Path) -> Path:
    export(sessions, settings, ["csv", "jsonl", "ocsf", "html"], tmp_path / "out", now=NOW, actor="auditor@t")
    return tmp_path / "out"


def test_files_written(full_export: Path) -> None:
    names = sorted(p.relative_to(full_export).as_posix() for p in full_export.rglob("*") if p.is_file())
    assert names == [
        "SHA256SUMS", "SHA256SUMS.sig", "allowed_signers",
        "compliance/cis_gws.csv", "compliance/cis_gws.json", "compliance/gdpr.csv", "compliance/gdpr.json",
        "compliance/iso27001.csv", "compliance/iso27001.json", "compliance/soc2.csv", "compliance/soc2.json",
        "csv/actions.csv", "csv/breach_candidates.csv", "csv/content_gaps.csv", "csv/coverage.csv",
        "csv/exemptions.csv", "csv/findings.csv", "csv/metrics_by_severity.csv", "csv/scan_runs.csv",
        "jsonl/actions.jsonl", "jsonl/breach_candidates.jsonl", "jsonl/content_gaps.jsonl", "jsonl/coverage.jsonl",
        "jsonl/exemptions.jsonl", "jsonl/findings.jsonl", "jsonl/metrics.json", "jsonl/scan_runs.jsonl",
        "manifest.json", "ocsf/compliance.ocsf.jsonl", "ocsf/findings.ocsf.jsonl", "report.html",
    ]


def test_findings_csv(full_export: Path, story: Story) -> None:
    rows = {int(r["finding_id"]): r for r in _csv(full_export / "csv/findings.csv")}
    roster = rows[story.findings["roster"]]
    assert roster["file_name"] == SCRIPT_NAME
    assert roster["exposure_before"] == "anyone_with_link" and roster["exposure_after"] == "internal"
    assert roster["data_categories"] == "contractor_pii; government_id"
    assert roster["entity_counts"] == "EMAIL_ADDRESS=38; PERSON=38; US_SSN=12"
    assert (roster["severity"], roster["status"], roster["rule"]) == ("critical", "remediated",
                                                                     "public-contractor-pii")
    assert (roster["first_seen"], roster["exposed_since"], roster["remediated_at"]) == (
        "2026-03-07T14:00:00Z", "2026-03-06T12:00:00Z", "2026-03-07T14:30:00Z")
    assert (roster["time_to_detect_hours"], roster["time_to_remediate_hours"]) == ("26.0", "0.5")
    assert roster["actions"].startswith("revoke:verified by sharescan@scanner-1 at 2026-03-07T14:30:00Z")
    payroll = rows[story.findings["payroll"]]
    assert payroll["file_name"] == "'" + FORMULA_NAME  # CSV injection neutralised
    assert payroll["recurrence_count"] == "2"


def test_no_cell_starts_a_formula(full_export: Path) -> None:
    for path in (full_export / "csv").glob("*.csv"):
        for row in csv.reader(path.open(newline="", encoding="utf-8")):
            for cell in row:
                if cell and cell[0] in "=+@\t\r":
                    pytest.fail(f"{path.name}: formula-like cell {cell!r}")
                if cell.startswith("-"):
                    float(cell)  # only negative numbers may start with '-'


def test_no_values_only_masked_previews(full_export: Path) -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in full_export.rglob("*") if p.is_file())
    assert "abababab" not in text  # evidence value hashes are not exported
    findings = _jsonl(full_export / "jsonl/findings.jsonl")
    previews = {e["masked_preview"] for f in findings for e in f["entities"]}
    assert "***-**-1234" in previews and all("*" in p for p in previews)


def test_breach_candidates(full_export: Path, story: Story) -> None:
    rows = _jsonl(full_export / "jsonl/breach_candidates.jsonl")
    by_id = {r["finding_id"]: r for r in rows}
    assert set(by_id) == {story.findings["payroll"], story.findings["roster"]}  # deck: not personal; memo: internal
    payroll = by_id[story.findings["payroll"]]
    assert payroll["deadline_state"] == "overdue"
    assert payroll["detected_at"] == "2026-03-06T12:00:00Z"
    assert payroll["notification_deadline"] == "2026-03-09T12:00:00Z"  # detection + 72 h
    assert payroll["exposure_start"] == "2026-03-05T12:00:00Z" and payroll["exposure_end"] is None
    assert payroll["exposure_hours"] == 120.0
    assert payroll["entity_counts"] == {"IBAN_CODE": 25, "PERSON": 25}
    roster = by_id[story.findings["roster"]]
    assert (roster["deadline_state"], roster["exposure_end"], roster["exposure_hours"]) == (
        "closed", "2026-03-07T14:30:00Z", 26.5)
    assert rows[0]["finding_id"] == story.findings["payroll"]  # overdue first


def test_breach_deadline_hours_setting(sessions: sessionmaker[Session], story: Story, settings: Settings,
                                       tmp_path: Path) -> None:
    settings = settings.with_overrides(export={"breach_deadline_hours": 24 * 7})
    export(sessions, settings, ["jsonl"], tmp_path / "o", now=NOW)
    payroll = next(r for r in _jsonl(tmp_path / "o/jsonl/breach_candidates.jsonl")
                   if r["finding_id"] == story.findings["payroll"])
    assert (payroll["notification_deadline"], payroll["deadline_state"]) == ("2026-03-13T12:00:00Z", "due")


def test_metrics(full_export: Path) -> None:
    metrics = json.loads((full_export / "jsonl/metrics.json").read_text())
    sev = {m["severity"]: m for m in metrics["by_severity"]}
    assert sev["critical"]["time_to_detect"] == {"count": 1, "mean_hours": 26.0, "median_hours": 26.0,
                                                 "max_hours": 26.0}
    assert sev["critical"]["time_to_remediate"]["median_hours"] == 0.5
    assert sev["high"]["open"] == 1 and sev["high"]["time_to_remediate"]["count"] == 0
    assert metrics["by_status"] == {"accepted": 1, "open": 1, "remediated": 1, "resolved": 1}
    assert metrics["open_by_age"] == {"<1d": 0, "1-7d": 1, "7-30d": 0, "30-90d": 0, ">90d": 0}
    assert (metrics["reshared_findings"], metrics["reshares_total"]) == (2, 3)


def test_runs_coverage_actions_exemptions(full_export: Path, story: Story) -> None:
    runs = _jsonl(full_export / "jsonl/scan_runs.jsonl")
    assert [r["id"] for r in runs] == story.runs
    coverage = _jsonl(full_export / "jsonl/coverage.jsonl")
    assert [sum(c["run_id"] == r["id"] for c in coverage) for r in runs] == [4, 4, 4]
    failed = [c for c in coverage if c["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["reasons"]["target"] == "403 insufficientFilePermissions"
    assert [r["new_findings"] for r in runs] == [2, 1, 0]
    actions = _jsonl(full_export / "jsonl/actions.jsonl")
    revoke = actions[0]
    assert (revoke["action"], revoke["status"], revoke["actor"]) == ("revoke", "verified", "sharescan@scanner-1")
    assert revoke["before"]["permission"]["type"] == "anyone" and revoke["after"] == {"permission": None}
    assert (revoke["sharing_before"], revoke["sharing_after"]) == ("anyone with the link (reader)", "removed")
    assert (revoke["file_name"], revoke["acted_as"]) == (SCRIPT_NAME, "maria@tessera-labs.com")
    ex = {e["scope"]: e for e in _jsonl(full_export / "jsonl/exemptions.jsonl")}
    assert (ex["finding"]["state"], ex["folder"]["state"]) == ("active", "expired")
    gaps = _csv(full_export / "csv/content_gaps.csv")
    assert [(g["file_id"], g["reason"]) for g in gaps] == [("1VideoEEE", "too_large: 2.1 GB > 25 MB")]


def test_csv_and_jsonl_carry_the_same_fields(full_export: Path) -> None:
    """Every table has one set of fields: the CSV header is the key set of each JSONL line."""
    for table in ("findings", "actions", "scan_runs", "coverage", "exemptions", "content_gaps", "breach_candidates"):
        header = next(csv.reader((full_export / f"csv/{table}.csv").open(newline="", encoding="utf-8")))
        lines = _jsonl(full_export / f"jsonl/{table}.jsonl")
        assert lines, table
        assert all(sorted(line) == sorted(header) and len(header) == len(set(header)) for line in lines), table


def test_compliance_mapping_travels(full_export: Path, story: Story) -> None:
    findings = {f["finding_id"]: f for f in _jsonl(full_export / "jsonl/findings.jsonl")}
    roster = findings[story.findings["roster"]]
    assert roster["compliance"][:3] == ["gdpr:Art.32", "gdpr:Art.33", "gdpr:Art.34"]
    assert "soc2:CC6.7" in roster["compliance"] and "cis_gws:3.1.2.1.1.2" in roster["compliance"]
    assert findings[story.findings["memo"]]["compliance"] == []  # its rule is not installed: no mapping
    rows = {r["finding_id"]: r for r in _csv(full_export / "csv/findings.csv")}
    assert rows[str(story.findings["deck"])]["compliance"] == (
        "iso27001:A.5.14; iso27001:A.8.12; soc2:CC6.1; soc2:CC6.7; cis_gws:3.1.2.1.1.1; cis_gws:3.1.2.1.1.3")
    ocsf = {r["finding_info"]["uid"]: r for r in _jsonl(full_export / "ocsf/findings.ocsf.jsonl")}
    assert ocsf["a" * 64]["unmapped"]["sharescan"]["compliance"] == roster["compliance"]
    gdpr = {r["control"]: r for r in json.loads((full_export / "compliance/gdpr.json").read_text())}
    # roster (remediated) and payroll (open) evidence Art. 32/33: open -> the control fails
    assert {k: gdpr["Art.33"][k] for k in ("findings", "open", "remediated", "state", "rules")} == {
        "findings": 2, "open": 1, "remediated": 1, "state": "fail",
        "rules": ["external-contractor-pii", "external-government-id-or-bank", "public-contractor-pii",
                  "public-government-id-or-bank"]}
    soc2 = {r["control"]: r for r in _csv(full_export / "compliance/soc2.csv")}
    assert (soc2["CC6.7"]["findings"], soc2["CC6.7"]["accepted"]) == ("3", "1")


def test_ocsf_compliance_findings_validate(full_export: Path, story: Story) -> None:
    """One Compliance Finding (2003) per control a finding evidences, valid against the official schema."""
    records = _jsonl(full_export / "ocsf/compliance.ocsf.jsonl")
    validator = jsonschema.Draft202012Validator(COMPLIANCE_SCHEMA)
    for record in records:
        errors = sorted(validator.iter_errors(record), key=str)
        assert not errors, [e.message for e in errors]
    by_finding: dict[int, list[dict[str, Any]]] = {}
    for r in records:
        by_finding.setdefault(r["unmapped"]["sharescan"]["finding_id"], []).append(r)
    roster = by_finding[story.findings["roster"]]
    assert len(roster) == 10 and {r["compliance"]["status"] for r in roster} == {"Pass"}
    art33 = next(r for r in by_finding[story.findings["payroll"]] if r["compliance"]["control"] == "Art.33")
    assert art33["compliance"]["standards"] == ["GDPR (Regulation (EU) 2016/679)"]
    assert (art33["compliance"]["status_id"], art33["class_uid"], art33["type_uid"]) == (3, 2003, 200302)
    assert {r["compliance"]["status"] for r in by_finding[story.findings["deck"]]} == {"Warning"}
    assert story.findings["memo"] not in by_finding


def test_ocsf_records_validate(full_export: Path, story: Story) -> None:
    records = _jsonl(full_export / "ocsf/findings.ocsf.jsonl")
    assert len(records) == 4
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    for record in records:
        errors = sorted(validator.iter_errors(record), key=str)
        assert not errors, [e.message for e in errors]
        assert record["type_uid"] == record["class_uid"] * 100 + record["activity_id"]
    by_uid = {r["finding_info"]["uid"]: r for r in records}
    roster = by_uid["a" * 64]
    assert (roster["activity_id"], roster["status_id"], roster["severity_id"]) == (3, 4, 5)
    assert roster["data_security"]["category_id"] == 1 and roster["file"]["name"] == SCRIPT_NAME
    assert roster["finding_info"]["first_seen_time"] == 1772892000000
    payroll = by_uid["b" * 64]
    assert (payroll["activity_id"], payroll["status_id"], payroll["severity_id"], payroll["is_alert"]) == (2, 1, 4, True)
    deck = by_uid["c" * 64]
    assert (deck["status_id"], deck["data_security"]["category_id"]) == (3, 4)


@pytest.mark.parametrize(
    "mutate",
    [
        {"class_uid": 2001},
        {"type_uid": 200605},
        {"file": {"name": "x", "type_id": 42}},
        {"severity_id": 7},
        {"finding_info": {"title": "no uid"}},
        {"metadata": {"version": "1.4.0"}},
        {"data_security": {"data_lifecycle_state_id": 42}},
        {"actor": {"user": {"email_addr": "x@y"}}},  # a user needs account, name or uid
        {"not_an_ocsf_attribute": 1},
        {"time": "2026-03-01T00:00:00Z"},
    ],
)
def test_schema_rejects_bad_records(full_export: Path, mutate: dict[str, Any]) -> None:
    record = _jsonl(full_export / "ocsf/findings.ocsf.jsonl")[0] | mutate
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(record))


def test_manifest_and_audit_event(sessions: sessionmaker[Session], story: Story, settings: Settings,
                                  tmp_path: Path) -> None:
    with sessions() as s:
        head_before = audit.head_hash(s)
    result = export(sessions, settings, ["csv", "ocsf"], tmp_path / "out", now=NOW, actor="auditor@t")
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    # 3 events the story records, and the state events of its 4 findings, 3 actions and 2 exemptions
    assert manifest["audit"] == {"head_seq": 12, "head_hash": head_before, "events": 12, "chain_ok": True}
    assert manifest["counts"]["findings"] == 4 and manifest["counts"]["breach_candidates"] == 2
    assert manifest["tool"]["name"] == "sharescan" and manifest["filters"]["formats"] == ["csv", "ocsf"]
    assert manifest["signature"]["algorithm"] == "ed25519"
    assert sorted(f["path"] for f in manifest["files"]) == result.files
    with sessions() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()
        assert audit.verify_chain(s).ok
    assert (event.event_type, event.actor, event.seq) == ("export.created", "auditor@t", result.audit_event_seq)
    assert event.data["manifest_sha256"] == result.manifest_sha256
    key = settings.signing_key_path
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert Path(str(key) + ".pub").read_text().strip() == result.public_key


@pytest.mark.parametrize(
    ("since", "statuses", "expected"),
    [
        (None, ["open"], ["payroll"]),
        (None, ["remediated", "accepted"], ["roster", "deck"]),
        (NOW.replace(day=8), [], ["payroll", "deck", "memo"]),
        (NOW.replace(day=8), ["open", "resolved"], ["payroll", "memo"]),
        (NOW.replace(day=9, hour=15), [], []),
    ],
)
def test_filters(sessions: sessionmaker[Session], story: Story, settings: Settings, tmp_path: Path,
                 since: Any, statuses: list[str], expected: list[str]) -> None:
    export(sessions, settings, ["jsonl"], tmp_path / "o", since=since, status=statuses, now=NOW)
    ids = [f["finding_id"] for f in _jsonl(tmp_path / "o/jsonl/findings.jsonl")]
    assert ids == sorted(story.findings[name] for name in expected)


def test_refuses_non_empty_directory_and_bad_format(sessions: sessionmaker[Session], settings: Settings,
                                                    tmp_path: Path) -> None:
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "x").write_text("x")
    with pytest.raises(ConfigError, match="not an empty directory"):
        export(sessions, settings, ["csv"], tmp_path / "o")
    with pytest.raises(ConfigError, match="unknown export format"):
        export(sessions, settings, ["pdf"], tmp_path / "p")
    with pytest.raises(ConfigError, match="unknown status"):
        export(sessions, settings, ["csv"], tmp_path / "p", status=["closed"])


def test_empty_database_exports(sessions: sessionmaker[Session], settings: Settings, tmp_path: Path) -> None:
    result = export(sessions, settings, ["csv", "jsonl", "ocsf", "html"], tmp_path / "o", now=NOW)
    assert result.counts["findings"] == 0 and result.audit_event_seq == 1
    assert verify_export(tmp_path / "o", None).signature_ok
