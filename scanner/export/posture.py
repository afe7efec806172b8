"""Posture findings in exports: ``posture_findings.csv`` / ``.jsonl``, one OCSF Compliance Finding (class 2003)
per control a posture finding evidences (``ocsf/posture.ocsf.jsonl``), and the report's "Settings to change"
(ranked by the open file findings each setting allowed). Written only when there are posture findings.

Posture findings hold setting names and values, org unit paths and control ids: no personal data.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.export.values import csv_safe, to_jsonable
from scanner.policy.compliance import frameworks
from scanner.posture.service import PostureLink, SettingToChange, posture_links, posture_row, settings_to_change
from scanner.store.models import PostureFinding

POSTURE_COLUMNS = ["id", "fingerprint", "check_id", "title", "severity", "status", "state", "org_unit", "setting",
                   "observed", "google_default", "applies_to", "allows", "cis_gws", "scuba_gws", "findings_allowed",
                   "recommendation", "first_seen", "last_seen", "resolved_at", "accepted_until", "recurrences"]
OCSF_VERSION = "1.4.0"
COMPLIANCE_CLASS_UID = 2003
CATEGORY_UID = 2
ACTIVITY = {1: "Create", 2: "Update", 3: "Close"}
SEVERITY_ID = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_CAPTION = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
STATUS_ID = {"open": 1, "accepted": 3, "resolved": 4}
STATUS_CAPTION = {1: "New", 3: "Suppressed", 4: "Resolved", 99: "Other"}
#: compliance.status_id: 1 Pass, 2 Warning, 3 Fail.
COMPLIANCE_STATUS = {"open": (3, "Fail"), "accepted": (2, "Warning"), "resolved": (1, "Pass")}


@dataclass
class PostureExport:
    rows: list[dict[str, Any]] = field(default_factory=list)
    links: list[PostureLink] = field(default_factory=list)
    top: list[SettingToChange] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.rows)


def collect_posture(session: Session, *, top: int = 10) -> PostureExport:
    links = posture_links(session)
    allowed: dict[int, int] = {}
    for link in links:
        allowed[link.posture_finding_id] = allowed.get(link.posture_finding_id, 0) + link.findings
    rows = []
    for p in session.scalars(select(PostureFinding).order_by(PostureFinding.id)):
        rows.append({**posture_row(p), "findings_allowed": allowed.get(p.id, 0)})
    return PostureExport(rows, links, settings_to_change(session, top))


def _ms(value: Any) -> int | None:
    return int(value.timestamp() * 1000) if isinstance(value, dt.datetime) else None


def posture_to_ocsf(row: dict[str, Any], *, tool_version: str, generated_at: dt.datetime) -> list[dict[str, Any]]:
    """One Compliance Finding per control (CIS, SCuBA) the posture finding evidences."""
    status = str(row["status"])
    compliance_status_id, compliance_status = COMPLIANCE_STATUS.get(status, (99, "Other"))
    severity = SEVERITY_ID.get(str(row["severity"]), 0)
    activity = 3 if status == "resolved" else (1 if row["recurrences"] == 0 and row["first_seen"] == row["last_seen"]
                                               else 2)
    time = _ms(max(x for x in (row["last_seen"], row["resolved_at"]) if x is not None))
    status_id = STATUS_ID.get(status, 99)
    product = {"name": "sharescan", "vendor_name": "sharescan", "version": tool_version,
               "feature": {"name": "Google Workspace Drive sharing posture"}}
    out = []
    known = frameworks()
    for framework_id, controls in (("cis_gws", row["cis_gws"]), ("scuba_gws", row["scuba_gws"])):
        fw = known.get(framework_id)
        for control_id in controls:
            control = fw.control(control_id) if fw else None
            ref = f"{framework_id}:{control_id}"
            out.append({
                "activity_id": activity, "activity_name": ACTIVITY[activity],
                "category_uid": CATEGORY_UID, "category_name": "Findings",
                "class_uid": COMPLIANCE_CLASS_UID, "class_name": "Compliance Finding",
                "type_uid": COMPLIANCE_CLASS_UID * 100 + activity,
                "type_name": f"Compliance Finding: {ACTIVITY[activity]}",
                "severity_id": severity, "severity": SEVERITY_CAPTION[severity],
                "status_id": status_id, "status": STATUS_CAPTION[status_id],
                "message": f"{control_id} {control.title if control else ''}: {row['title']} (org unit "
                           f"{row['org_unit']})",
                "time": time, "timezone_offset": 0,
                "metadata": {"version": OCSF_VERSION, "product": product,
                             "uid": f"{row['fingerprint']}:{ref}:{time}", "log_name": "sharescan-posture",
                             "logged_time": _ms(generated_at)},
                "finding_info": {"uid": f"{row['fingerprint']}:{ref}", "title": row["title"],
                                 "desc": row["recommendation"], "types": ["Compliance", "Posture", framework_id],
                                 "first_seen_time": _ms(row["first_seen"]), "last_seen_time": _ms(row["last_seen"]),
                                 "analytic": {"uid": row["check_id"], "name": row["check_id"], "type_id": 1,
                                              "type": "Rule"}},
                "compliance": {"standards": [fw.title if fw else framework_id], "control": control_id,
                               "requirements": [ref], "status_id": compliance_status_id,
                               "status": compliance_status,
                               "status_detail": f"sharescan posture finding {row['id']} is {status}"},
                "resources": [{"uid": row["org_unit"], "name": row["org_unit"], "type": "Google Workspace Org Unit",
                               "data": {"setting": row["setting"], "observed": row["observed"],
                                        "google_default": row["google_default"], "applies_to": row["applies_to"]}}],
                "unmapped": {"sharescan": {"posture_finding_id": row["id"], "check_id": row["check_id"],
                                           "framework": framework_id, "findings_allowed": row["findings_allowed"]}},
            })
    return out


def _cell(value: Any) -> Any:
    value = to_jsonable(value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={json.dumps(v) if isinstance(v, dict | list) else v}" for k, v in value.items())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return csv_safe(value)


def write_posture(px: PostureExport, out_dir: Path, formats: Sequence[str], *, tool_version: str,
                  generated_at: dt.datetime) -> list[str]:
    """The posture files for ``formats`` (csv, jsonl, ocsf); nothing when there are no posture findings."""
    if not px:
        return []
    files = []
    if "csv" in formats:
        with (out_dir / "posture_findings.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(POSTURE_COLUMNS)
            for r in px.rows:
                writer.writerow([_cell(r[k]) for k in POSTURE_COLUMNS])
        files.append("posture_findings.csv")
    if "jsonl" in formats:
        with (out_dir / "posture_findings.jsonl").open("w", encoding="utf-8", newline="") as fh:
            for r in px.rows:
                fh.write(json.dumps(to_jsonable({k: r[k] for k in POSTURE_COLUMNS}), sort_keys=True) + "\n")
        files.append("posture_findings.jsonl")
    if "ocsf" in formats:
        (out_dir / "ocsf").mkdir(exist_ok=True)
        with (out_dir / "ocsf" / "posture.ocsf.jsonl").open("w", encoding="utf-8", newline="") as fh:
            for r in px.rows:
                for record in posture_to_ocsf(r, tool_version=tool_version, generated_at=generated_at):
                    fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n")
        files.append("ocsf/posture.ocsf.jsonl")
    return files
