"""A Prometheus text-format metrics file for node_exporter's textfile collector (``--metrics-file``).

After each scan (successful or not) the file is rewritten atomically (a temporary file in the same
directory, then a rename), so the collector never reads half a file. Everything comes from the
database and the run's stored stats, so the numbers are the ones ``sharescan scans show`` gives:

- ``sharescan_last_success_timestamp_seconds``: end of the last completed run (alert when it gets old);
- ``sharescan_last_run_*``: this run's status (one series per status, 0/1), exit code, start, end and
  duration, targets by status, files seen/exposed/analysed, actions by result, notifications;
- ``sharescan_files{exposure}``: files in the inventory by exposure class;
- ``sharescan_findings{severity,status}``: findings by severity and workflow status;
- ``sharescan_last_run_api_calls{method}``: API calls of the scanning key by method; quota units by
  method go in ``sharescan_last_run_api_quota_units{method}`` once runs record them
  (``api_units_by_method`` in the run's stats).

No label carries a file name, an e-mail address or any other personal data.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import socket
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanner.store.models import DriveFileRow, Finding, ScanRun

RUN_STATUSES = ("completed", "partial", "failed", "interrupted", "running")
PREFIX = "sharescan_"


@dataclass
class Family:
    """One metric: name (without the prefix), help, type and its samples (labels → value)."""

    name: str
    help: str
    type: str = "gauge"
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float, **labels: str) -> Family:
        self.samples.append((labels, float(value)))
        return self


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def render(families: Iterable[Family]) -> str:
    """The Prometheus text exposition format (version 0.0.4)."""
    lines: list[str] = []
    for family in families:
        name = PREFIX + family.name
        lines.append(f"# HELP {name} {family.help}")
        lines.append(f"# TYPE {name} {family.type}")
        for labels, value in family.samples:
            label_text = ",".join(f'{k}="{_escape_label(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{name}{{{label_text}}} {_number(value)}" if label_text else f"{name} {_number(value)}")
    return "\n".join(lines) + "\n"


def write_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # node_exporter runs as another user; the file holds no secret
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _timestamp(value: dt.datetime | None) -> float:
    if value is None:
        return 0.0
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


def _counts(stats: Mapping[str, Any], key: str) -> dict[str, int]:
    value = stats.get(key) or {}
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def run_families(run: ScanRun | None, exit_code: int | None) -> list[Family]:
    """This run's metrics (``run`` None: the run never started, e.g. the lock was taken)."""
    out: list[Family] = []
    if exit_code is not None:
        out.append(Family("last_run_exit_code", "Exit code of the last scan (see `sharescan --help`).")
                   .add(exit_code))
    if run is None:
        return out
    stats: Mapping[str, Any] = run.stats or {}
    status = Family("last_run_status", "1 for the status of the last scan run, 0 for the others.")
    for name in RUN_STATUSES:
        status.add(1 if run.status == name else 0, status=name, kind=run.kind)
    out.append(status)
    out.append(Family("last_run_start_timestamp_seconds", "When the last scan run started (Unix time).")
               .add(_timestamp(run.started_at)))
    out.append(Family("last_run_end_timestamp_seconds", "When the last scan run ended (Unix time).")
               .add(_timestamp(run.finished_at)))
    duration = stats.get("elapsed_seconds")
    if duration is None and run.finished_at is not None:
        duration = _timestamp(run.finished_at) - _timestamp(run.started_at)
    out.append(Family("last_run_duration_seconds", "Duration of the last scan run.").add(float(duration or 0.0)))
    targets = Family("last_run_targets", "Users and shared drives of the last run by outcome.")
    for outcome in ("done", "skipped", "failed"):
        targets.add(int(stats.get(f"targets_{outcome}", 0) or 0), status=outcome)
    out.append(targets)
    files = Family("last_run_files", "Files of the last run: seen by the crawl, exposed, analysed, not analysed.")
    for state in ("seen", "exposed", "analysed", "not_analysed"):
        files.add(int(stats.get(f"files_{state}", 0) or 0), state=state)
    out.append(files)
    findings = Family("last_run_findings", "Findings of the last run: new, active after it, resolved by it.")
    for state in ("new", "active", "resolved"):
        findings.add(int(stats.get(f"findings_{state}", 0) or 0), state=state)
    out.append(findings)
    actions = Family("last_run_actions", "Remediation actions of the last run by result.")
    for result, count in sorted(_counts(stats, "actions").items()):
        actions.add(count, result=result)
    out.append(actions)
    notifications = Family("last_run_notifications", "Owner notifications of the last run by state.")
    for state, count in sorted(_counts(stats, "notifications").items()):
        notifications.add(count, state=state)
    out.append(notifications)
    calls = Family("last_run_api_calls", "Google API calls of the last run by method (scanning key).")
    for method, count in sorted(_counts(stats, "api_calls_by_method").items()):
        calls.add(count, method=method)
    out.append(calls)
    units = _counts(stats, "api_units_by_method")
    if units:
        quota = Family("last_run_api_quota_units", "Google API quota units of the last run by method.")
        for method, count in sorted(units.items()):
            quota.add(count, method=method)
        out.append(quota)
    return out


def inventory_families(session: Session) -> list[Family]:
    """State of the database: last success, files by exposure, findings by severity and status."""
    last_ok = session.scalar(select(func.max(ScanRun.finished_at)).where(ScanRun.status == "completed"))
    out = [Family("last_success_timestamp_seconds", "When the last completed scan run ended (Unix time; 0: never).")
           .add(_timestamp(last_ok))]
    files = Family("files", "Files in the inventory (not removed) by exposure.")
    for exposure, count in session.execute(select(DriveFileRow.exposure, func.count()).where(
            DriveFileRow.removed_at.is_(None)).group_by(DriveFileRow.exposure).order_by(DriveFileRow.exposure)):
        files.add(count, exposure=str(exposure))
    out.append(files)
    findings = Family("findings", "Findings by severity and workflow status.")
    for severity, status, count in session.execute(select(Finding.severity, Finding.status, func.count()).group_by(
            Finding.severity, Finding.status).order_by(Finding.severity, Finding.status)):
        findings.add(count, severity=str(severity), status=str(status))
    out.append(findings)
    return out


def latest_run_of_this_process(session: Session) -> ScanRun | None:
    """The newest run this process started (the CLI may not know its id when the scan raised)."""
    return session.scalars(select(ScanRun).where(ScanRun.pid == os.getpid(),
                                                 ScanRun.hostname == socket.gethostname())
                           .order_by(ScanRun.id.desc()).limit(1)).first()


def scan_metrics(session: Session, *, run_id: int | None, exit_code: int | None) -> str:
    """The metrics file's text after a scan (``run_id`` None: this process's newest run, if any)."""
    run = session.get(ScanRun, run_id) if run_id is not None else latest_run_of_this_process(session)
    return render([*run_families(run, exit_code), *inventory_families(session)])
