"""The writer interface and the CSV and JSONL writers.

A writer turns :class:`ExportData` into files in the export directory and returns their
relative paths; the service hashes and signs whatever they wrote. Writers stream: ``start`` opens
the findings file(s) and returns a callback that the service's single pass over the findings calls
with each record (in id order); ``finish`` runs after that pass, when the aggregates (metrics,
counts) are known, and streams the other tables from the database.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Protocol

from scanner.core.registry import GROUP_WRITERS, Registry
from scanner.export.collect import ExportData
from scanner.export.model import FindingRecord, RunRecord
from scanner.export.values import csv_safe, to_jsonable

FindingSink = Callable[[FindingRecord], None]


def _writer_name(cls: type[Writer]) -> str:
    return cls.name


#: Writer classes by ``--format`` name (a fresh instance per export); other distributions add theirs
#: through ``sharescan.writers`` entry points naming a class.
WRITERS: Registry[type[Writer]] = Registry(
    GROUP_WRITERS, builtins=("scanner.export.ocsf", "scanner.export.html_report"), name_of=_writer_name,
    instantiate=False)


class Writer(Protocol):
    #: The ``--format`` name.
    name: str

    def start(self, data: ExportData, out_dir: Path, files: ExitStack) -> FindingSink | None:
        """Open what the findings pass writes to (register open files with ``files``, which the service
        closes before hashing); return the callback for each finding, or None."""
        ...

    def finish(self, data: ExportData, out_dir: Path) -> list[str]:
        """After the findings pass: write the rest; return every path written, relative to ``out_dir``."""
        ...


def _open(path: Path) -> Any:
    return path.open("w", encoding="utf-8", newline="")


def _cell(value: Any) -> str:
    """One CSV cell: lists joined with '; ', dicts as k=v, everything formula-escaped."""
    value = to_jsonable(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # numbers (negative ones too) are data, not formulas
    if isinstance(value, list):
        value = "; ".join(_flat(v) for v in value)
    elif isinstance(value, dict):
        value = "; ".join(f"{k}={_flat(v)}" for k, v in value.items())
    return csv_safe(value)


def _flat(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if isinstance(value, dict | list) else str(value)


class _CsvTable:
    def __init__(self, fh: Any, columns: Sequence[str]) -> None:
        self.columns = columns
        self.writer = csv.writer(fh, lineterminator="\r\n")
        self.writer.writerow(columns)

    def row(self, row: dict[str, Any]) -> None:
        self.writer.writerow([_cell(row.get(c)) for c in self.columns])


def write_csv_rows(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    """A CSV file of ``rows`` (cells formula-escaped, lists joined with '; ')."""
    _write_csv(path, columns, rows)


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> None:
    with _open(path) as fh:
        table = _CsvTable(fh, columns)
        for row in rows:
            table.row(row)


def _hours(value: Any) -> float | None:
    return round(value.total_seconds() / 3600, 2) if value is not None else None


def finding_row(f: FindingRecord) -> dict[str, Any]:
    """A finding as one row: the same fields in CSV (flattened) and JSONL (nested)."""
    return {
        "finding_id": f.id, "fingerprint": f.fingerprint, "rule": f.rule_id, "title": f.title, "severity": f.severity,
        "status": f.status, "detection_state": f.detection_state, "file_id": f.file_id, "file_name": f.file_name,
        "file_link": f.file_link, "mime_type": f.mime_type, "owner": f.owner_email, "principal": f.principal,
        "exposure_before": f.exposure_before, "exposure_after": f.exposure_after,
        "exposure_classes": f.exposure_classes, "matched_permissions": f.matched_permissions,
        "data_categories": f.data_categories, "entity_counts": f.entity_totals(),
        "entities": [e.as_dict() for e in f.entities], "compliance": f.compliance, "first_seen": f.first_seen,
        "last_seen": f.last_seen, "exposed_since": f.exposed_since, "remediated_at": f.remediated_at,
        "resolved_at": f.resolved_at, "status_changed_at": f.status_changed_at, "accepted_until": f.accepted_until,
        "time_to_detect_hours": _hours(f.time_to_detect), "time_to_remediate_hours": _hours(f.time_to_remediate),
        "recurrence_count": f.recurrence_count, "first_run_id": f.first_run_id, "last_run_id": f.last_run_id,
        "actions": [a.as_dict() for a in f.actions],
    }


def _finding_csv_row(f: FindingRecord) -> dict[str, Any]:
    """The finding row with its nested lists as readable cells."""
    row = finding_row(f)
    row["entities"] = [f"{e.detector}/{e.entity_type} x{e.count} {e.masked_preview} at {e.location}".strip()
                       for e in f.entities]
    row["matched_permissions"] = [f"{p.get('id')}: {p.get('exposure')}" for p in f.matched_permissions
                                  if isinstance(p, dict)]
    row["actions"] = [f"{a.action}:{a.status} by {a.actor} at {to_jsonable(a.completed_at or a.created_at)}"
                      for a in f.actions]
    return row


FINDING_COLUMNS = [
    "finding_id", "fingerprint", "rule", "title", "severity", "status", "detection_state", "file_id", "file_name",
    "file_link", "mime_type", "owner", "principal", "exposure_before", "exposure_after", "exposure_classes",
    "matched_permissions", "data_categories", "entity_counts", "entities", "compliance", "first_seen", "last_seen",
    "exposed_since", "remediated_at", "resolved_at", "status_changed_at", "accepted_until", "time_to_detect_hours",
    "time_to_remediate_hours", "recurrence_count", "first_run_id", "last_run_id", "actions",
]
ACTION_COLUMNS = [
    "id", "run_id", "finding_id", "file_id", "file_name", "file_link", "action", "permission_id", "target_file_id",
    "mode", "status", "actor", "acted_as", "created_at", "completed_at", "sharing_before", "sharing_after", "before",
    "after", "detail", "restores_action_id",
]
RUN_COLUMNS = ["id", "kind", "status", "remediation_mode", "started_at", "finished_at", "hostname", "new_findings",
               "actions", "stats", "error"]
COVERAGE_COLUMNS = ["run_id", "target_kind", "target_key", "target_name", "status", "files_seen", "files_exposed",
                    "files_analysed", "files_skipped", "files_failed", "api_calls", "reasons", "started_at",
                    "finished_at"]
EXEMPTION_COLUMNS = ["id", "scope", "state", "finding_id", "rule_id", "file_id", "folder_id", "reason", "actor",
                     "created_at", "expires_at", "revoked_at"]
GAP_COLUMNS = ["file_id", "file_name", "owner_email", "exposure", "content_status", "reason"]
BREACH_COLUMNS = ["finding_id", "file_id", "file_name", "file_link", "owner_email", "exposure", "data_categories",
                  "entity_counts", "exposure_start", "exposure_end", "exposure_hours", "detected_at",
                  "notification_deadline", "deadline_state", "hours_to_deadline", "status"]

METRIC_COLUMNS = ["severity", "findings", "open", "ttd_count", "ttd_mean_hours", "ttd_median_hours", "ttd_max_hours",
                  "ttr_count", "ttr_mean_hours", "ttr_median_hours", "ttr_max_hours"]


def run_row(r: RunRecord) -> dict[str, Any]:
    return {c: getattr(r, c) for c in RUN_COLUMNS}


def coverage_rows(r: RunRecord) -> Iterator[dict[str, Any]]:
    for c in r.coverage:
        yield {"run_id": r.id, **c.as_dict()}


def metric_rows(data: ExportData) -> list[dict[str, Any]]:
    rows = []
    for m in data.metrics.by_severity:
        row: dict[str, Any] = {"severity": m.severity, "findings": m.findings, "open": m.open}
        for prefix, stats in (("ttd", m.time_to_detect), ("ttr", m.time_to_remediate)):
            row |= {f"{prefix}_count": stats.count, f"{prefix}_mean_hours": stats.mean_hours,
                    f"{prefix}_median_hours": stats.median_hours, f"{prefix}_max_hours": stats.max_hours}
        rows.append(row)
    return rows


CSV_FILES = ["findings.csv", "actions.csv", "scan_runs.csv", "coverage.csv", "exemptions.csv", "content_gaps.csv",
             "breach_candidates.csv", "metrics_by_severity.csv"]


@WRITERS.register
class CsvWriter:
    name = "csv"

    def start(self, data: ExportData, out_dir: Path, files: ExitStack) -> FindingSink:
        target = out_dir / "csv"
        target.mkdir(exist_ok=True)
        table = _CsvTable(files.enter_context(_open(target / "findings.csv")), FINDING_COLUMNS)
        return lambda f: table.row(_finding_csv_row(f))

    def finish(self, data: ExportData, out_dir: Path) -> list[str]:
        target = out_dir / "csv"
        _write_csv(target / "actions.csv", ACTION_COLUMNS, (a.as_dict() for a in data.actions()))
        with _open(target / "scan_runs.csv") as runs_fh, _open(target / "coverage.csv") as coverage_fh:
            runs, coverage = _CsvTable(runs_fh, RUN_COLUMNS), _CsvTable(coverage_fh, COVERAGE_COLUMNS)
            for r in data.runs():
                runs.row(run_row(r))
                for c in coverage_rows(r):
                    coverage.row(c)
        _write_csv(target / "exemptions.csv", EXEMPTION_COLUMNS, (e.as_dict() for e in data.exemptions()))
        _write_csv(target / "content_gaps.csv", GAP_COLUMNS, (g.as_dict() for g in data.content_gaps()))
        _write_csv(target / "breach_candidates.csv", BREACH_COLUMNS, (b.as_dict() for b in data.breach_candidates()))
        _write_csv(target / "metrics_by_severity.csv", METRIC_COLUMNS, metric_rows(data))
        return [f"csv/{name}" for name in CSV_FILES]


def _dump_line(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _write_jsonl(path: Path, items: Iterable[Any], columns: Sequence[str]) -> None:
    """One JSON object per line with exactly ``columns`` (the CSV file's header), in that order."""
    with _open(path) as fh:
        for item in items:
            fh.write(_dump_line({c: item.get(c) for c in columns}) + "\n")


JSONL_FILES = ["findings.jsonl", "actions.jsonl", "scan_runs.jsonl", "coverage.jsonl", "exemptions.jsonl",
               "content_gaps.jsonl", "breach_candidates.jsonl", "metrics.json"]


@WRITERS.register
class JsonlWriter:
    name = "jsonl"

    def start(self, data: ExportData, out_dir: Path, files: ExitStack) -> FindingSink:
        target = out_dir / "jsonl"
        target.mkdir(exist_ok=True)
        fh = files.enter_context(_open(target / "findings.jsonl"))

        def write(f: FindingRecord) -> None:
            fh.write(_dump_line(finding_row(f)) + "\n")
        return write

    def finish(self, data: ExportData, out_dir: Path) -> list[str]:
        target = out_dir / "jsonl"
        _write_jsonl(target / "actions.jsonl", (a.as_dict() for a in data.actions()), ACTION_COLUMNS)
        with _open(target / "scan_runs.jsonl") as runs_fh, _open(target / "coverage.jsonl") as coverage_fh:
            for r in data.runs():
                runs_fh.write(_dump_line(run_row(r)) + "\n")
                for c in coverage_rows(r):
                    coverage_fh.write(_dump_line({k: c.get(k) for k in COVERAGE_COLUMNS}) + "\n")
        _write_jsonl(target / "exemptions.jsonl", (e.as_dict() for e in data.exemptions()), EXEMPTION_COLUMNS)
        _write_jsonl(target / "content_gaps.jsonl", (g.as_dict() for g in data.content_gaps()), GAP_COLUMNS)
        _write_jsonl(target / "breach_candidates.jsonl", (b.as_dict() for b in data.breach_candidates()),
                     BREACH_COLUMNS)
        with _open(target / "metrics.json") as fh:
            fh.write(json.dumps(to_jsonable(data.metrics.as_dict()), ensure_ascii=False, indent=2) + "\n")
        return [f"jsonl/{name}" for name in JSONL_FILES]
