"""OCSF export: one Data Security Finding (class_uid 2006, category Findings) per finding, and one
Compliance Finding (class_uid 2003) per control a finding evidences.

Mapped against OCSF schema 1.4.0 (``data_security_finding`` and ``compliance_finding`` extending
``finding`` and ``base_event``; objects ``finding_info``, ``data_security``, ``compliance``,
``metadata``, ``product``, ``file``, ``resource_details``). Data Security Finding has no
``compliance`` attribute: the control ids travel in ``unmapped.sharescan.compliance``. Timestamps
are OCSF ``timestamp_t``: milliseconds since the epoch. The tests validate every record against
the JSON Schema generated from the official 1.4.0 schema (``ocsf-json-schema``, which bundles
schema.ocsf.io's export of it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from scanner.connectors.google.mime import GOOGLE_FOLDER
from scanner.export.collect import ExportData
from scanner.export.model import PERSONAL_DATA_CATEGORIES, FindingRecord
from scanner.export.values import to_jsonable
from scanner.export.writers import WRITERS, exposure_fields
from scanner.policy.compliance import frameworks

OCSF_VERSION = "1.4.0"
CLASS_UID = 2006
COMPLIANCE_CLASS_UID = 2003
CATEGORY_UID = 2
#: file.type_id: 1 Regular File, 2 Folder.
FILE_TYPE = {True: (2, "Folder"), False: (1, "Regular File")}
#: compliance.status_id: 1 Pass, 2 Warning, 3 Fail.
COMPLIANCE_STATUS = {"open": (3, "Fail"), "accepted": (2, "Warning"), "remediated": (1, "Pass"),
                     "resolved": (1, "Pass")}

ACTIVITY = {1: "Create", 2: "Update", 3: "Close"}
SEVERITY_ID = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_CAPTION = {0: "Unknown", 1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
#: sharescan workflow status → OCSF finding status_id.
STATUS_ID = {"open": 1, "accepted": 3, "remediated": 4, "resolved": 4}
STATUS_CAPTION = {0: "Unknown", 1: "New", 2: "In Progress", 3: "Suppressed", 4: "Resolved", 99: "Other"}
CONFIDENCE_CAPTION = {0: "Unknown", 1: "Low", 2: "Medium", 3: "High"}
#: data_classification category_id: 1 Personal, 2 Governmental, 3 Financial, 4 Business, 6 Security.
CATEGORY_ID = {"contractor_pii": 1, "government_id": 1, "financial": 3, "client_confidential": 4,
               "credentials": 6}
CATEGORY_CAPTION = {1: "Personal", 2: "Governmental", 3: "Financial", 4: "Business", 6: "Security", 99: "Other"}
DETECTION_SYSTEM_ID = 4  # Data Discovery & Classification
DATA_AT_REST = 1


def ms(value: dt.datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


def _activity(f: FindingRecord) -> int:
    if f.status in ("remediated", "resolved"):
        return 3
    return 1 if f.last_seen == f.first_seen and f.recurrence_count == 0 else 2


def _confidence(score: float) -> int:
    if score <= 0:
        return 0
    return 3 if score >= 0.85 else 2 if score >= 0.5 else 1


def _category(f: FindingRecord) -> int:
    # Personal data decides first: it is what a breach assessment is about.
    if PERSONAL_DATA_CATEGORIES & set(f.data_categories) - {"financial"}:
        return 1
    ids = [CATEGORY_ID[c] for c in f.data_categories if c in CATEGORY_ID]
    return min(ids) if ids else 99


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _user(email: str | None) -> dict[str, Any] | None:
    # the user object needs one of account, name or uid: a Workspace user is identified by the address
    return {"uid": email, "email_addr": email, "type_id": 1, "type": "User"} if email else None


def _product(data: ExportData) -> dict[str, Any]:
    return {"name": "sharescan", "vendor_name": "sharescan", "version": data.tool_version,
            "feature": {"name": "Google Drive sharing scanner"}}


def _file(f: FindingRecord, owner: dict[str, Any] | None) -> dict[str, Any]:
    type_id, type_name = FILE_TYPE[f.mime_type == GOOGLE_FOLDER]
    return {"uid": f.file_id, "name": f.file_name, "type_id": type_id, "type": type_name,
            "mime_type": f.mime_type or None, "owner": owner}


def finding_to_ocsf(f: FindingRecord, data: ExportData) -> dict[str, Any]:
    activity = _activity(f)
    severity = SEVERITY_ID.get(f.severity, 0)
    status = STATUS_ID.get(f.status, 99)
    confidence = _confidence(f.best_score)
    category = _category(f)
    closed_at = f.remediated_at or f.resolved_at
    product = _product(data)
    owner = _user(f.owner_email)
    record: dict[str, Any] = {
        "activity_id": activity,
        "activity_name": ACTIVITY[activity],
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Data Security Finding",
        "type_uid": CLASS_UID * 100 + activity,
        "type_name": f"Data Security Finding: {ACTIVITY[activity]}",
        "severity_id": severity,
        "severity": SEVERITY_CAPTION[severity],
        "status_id": status,
        "status": STATUS_CAPTION[status] if status != 99 else f.status,
        "status_detail": f"sharescan status {f.status}; detection {f.detection_state}",
        "confidence_id": confidence,
        "confidence": CONFIDENCE_CAPTION[confidence],
        "confidence_score": round(f.best_score * 100),
        "is_alert": f.status == "open",
        "message": f.title or f.rule_id,
        "time": ms(max(f.last_seen, f.status_changed_at)),
        "start_time": ms(f.exposed_since or f.first_seen),
        "end_time": ms(closed_at),
        "timezone_offset": 0,
        "metadata": {
            "version": OCSF_VERSION,
            "product": product,
            "uid": f"{f.fingerprint}:{ms(max(f.last_seen, f.status_changed_at))}",
            "log_name": "sharescan-findings",
            "logged_time": ms(data.generated_at),
            "original_time": to_jsonable(f.first_seen),
        },
        "finding_info": {
            "uid": f.fingerprint,
            "title": f.title or f.rule_id,
            "desc": f"Rule {f.rule_id} matched a Google Drive file exposed as {f.exposure_before}.",
            "types": ["Data Security", *f.data_categories],
            "first_seen_time": ms(f.first_seen),
            "last_seen_time": ms(f.last_seen),
            "created_time": ms(f.first_seen),
            "modified_time": ms(f.status_changed_at),
            "src_url": f.file_link,
            "analytic": {"uid": f.rule_id, "name": f.rule_id, "type_id": 1, "type": "Rule"},
            "product": product,
        },
        "data_security": {
            "category_id": category,
            "category": CATEGORY_CAPTION.get(category, "Other"),
            "confidentiality_id": 5 if category == 1 else 2,
            "confidentiality": "Private" if category == 1 else "Confidential",
            "data_lifecycle_state_id": DATA_AT_REST,
            "data_lifecycle_state": "Data at-Rest",
            "detection_system_id": DETECTION_SYSTEM_ID,
            "detection_system": "Data Discovery & Classification",
            "detection_pattern": ", ".join(sorted({e.detector for e in f.entities})) or None,
            "policy": {"uid": f.rule_id, "name": f.title or f.rule_id},
        },
        "file": _file(f, owner),
        "actor": {"user": owner} if owner else None,
        "resources": [{
            "uid": f.file_id,
            "name": f.file_name,
            "type": "Google Drive File",
            "owner": owner,
            "labels": [f"exposure:{e}" for e in sorted({f.exposure_before, *f.exposure_classes})],
            "data": {
                "exposure_before": f.exposure_before,
                "exposure_after": f.exposure_after,
                "principal": f.principal,
                "web_view_link": f.file_link,
                "entity_counts": f.entity_totals(),
                "data_categories": f.data_categories,
            },
        }],
        "unmapped": {
            "sharescan": {
                "finding_id": f.id,
                "exposed_since": to_jsonable(f.exposed_since),
                "exposure": to_jsonable(exposure_fields(f)),
                "remediated_at": to_jsonable(f.remediated_at),
                "resolved_at": to_jsonable(f.resolved_at),
                "recurrence_count": f.recurrence_count,
                "compliance": f.compliance,
                "actions": [{"id": a.id, "action": a.action, "status": a.status, "mode": a.mode, "actor": a.actor,
                             "permission_id": a.permission_id, "completed_at": to_jsonable(a.completed_at)}
                            for a in f.actions],
            }
        },
    }
    out = _drop_none(record)
    assert isinstance(out, dict)
    return out


def compliance_to_ocsf(f: FindingRecord, data: ExportData) -> Iterator[dict[str, Any]]:
    """One Compliance Finding per control the finding evidences: the control fails while the finding is
    open, warns while its risk is accepted, and passes once it is remediated or resolved."""
    status_id, status = COMPLIANCE_STATUS.get(f.status, (99, "Other"))
    severity = SEVERITY_ID.get(f.severity, 0)
    activity = _activity(f)
    time = ms(max(f.last_seen, f.status_changed_at))
    owner = _user(f.owner_email)
    for ref in f.compliance:
        framework_id, _, control_id = ref.partition(":")
        fw = next((fw for fw in data.mapping.frameworks if fw.id == framework_id), None)
        fw = fw or frameworks().get(framework_id)
        control = fw.control(control_id) if fw else None
        record: dict[str, Any] = {
            "activity_id": activity, "activity_name": ACTIVITY[activity],
            "category_uid": CATEGORY_UID, "category_name": "Findings",
            "class_uid": COMPLIANCE_CLASS_UID, "class_name": "Compliance Finding",
            "type_uid": COMPLIANCE_CLASS_UID * 100 + activity,
            "type_name": f"Compliance Finding: {ACTIVITY[activity]}",
            "severity_id": severity, "severity": SEVERITY_CAPTION[severity],
            "status_id": STATUS_ID.get(f.status, 99),
            "status": STATUS_CAPTION.get(STATUS_ID.get(f.status, 99), f.status),
            "message": f"{control_id} {control.title if control else ''}: {f.title or f.rule_id}".strip(),
            "time": time, "timezone_offset": 0,
            "metadata": {"version": OCSF_VERSION, "product": _product(data),
                         "uid": f"{f.fingerprint}:{ref}:{time}", "log_name": "sharescan-compliance",
                         "logged_time": ms(data.generated_at)},
            "finding_info": {"uid": f"{f.fingerprint}:{ref}", "title": f.title or f.rule_id,
                             "types": ["Compliance", framework_id],
                             "first_seen_time": ms(f.first_seen), "last_seen_time": ms(f.last_seen),
                             "src_url": f.file_link, "related_events": [{"uid": f.fingerprint}],
                             "analytic": {"uid": f.rule_id, "name": f.rule_id, "type_id": 1, "type": "Rule"}},
            "compliance": {"standards": [fw.title if fw else framework_id], "control": control_id,
                           "requirements": [ref], "status_id": status_id, "status": status,
                           "status_detail": f"sharescan finding {f.id} is {f.status}"},
            "resources": [{"uid": f.file_id, "name": f.file_name, "type": "Google Drive File", "owner": owner}],
            "unmapped": {"sharescan": {"finding_id": f.id, "rule_id": f.rule_id, "framework": framework_id}},
        }
        out = _drop_none(record)
        assert isinstance(out, dict)
        yield out


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


@WRITERS.register
class OcsfWriter:
    name = "ocsf"

    def start(self, data: ExportData, out_dir: Path, files: ExitStack) -> Callable[[FindingRecord], None]:
        target = out_dir / "ocsf"
        target.mkdir(exist_ok=True)
        fh = files.enter_context((target / "findings.ocsf.jsonl").open("w", encoding="utf-8", newline=""))
        compliance = files.enter_context((target / "compliance.ocsf.jsonl").open("w", encoding="utf-8", newline=""))

        def write(f: FindingRecord) -> None:
            fh.write(_line(finding_to_ocsf(f, data)))
            for record in compliance_to_ocsf(f, data):
                compliance.write(_line(record))
        return write

    def finish(self, data: ExportData, out_dir: Path) -> list[str]:
        return ["ocsf/compliance.ocsf.jsonl", "ocsf/findings.ocsf.jsonl"]
