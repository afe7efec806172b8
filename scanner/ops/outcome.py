"""What a finished scan means for automation: its exit code under the contract in ``scanner.core.errors``.

A scan that ran to its end can still need attention: it did not cover everything (9), remediation
stopped early (11) or was refused by a safety limit (5), or open findings at or above ``--fail-on``
remain (10). When several apply, the one that most needs a person wins: 11, then 5, then 9, then 10.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scanner.core.errors import ExitCode
from scanner.policy.schema import SEVERITY_RANK
from scanner.run import ScanResult
from scanner.store.models import Finding

#: Severities, most severe first (``--fail-on`` choices).
SEVERITIES: tuple[str, ...] = tuple(sorted(SEVERITY_RANK, key=SEVERITY_RANK.__getitem__))


def severities_at_or_above(severity: str) -> tuple[str, ...]:
    if severity not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {severity!r} (expected one of {', '.join(SEVERITIES)})")
    return tuple(s for s in SEVERITIES if SEVERITY_RANK[s] <= SEVERITY_RANK[severity])


def open_findings_at_or_above(session: Session, severity: str) -> int:
    """Findings still open (not remediated, resolved or accepted) and active at ``severity`` or worse."""
    return int(session.scalar(select(func.count(Finding.id)).where(
        Finding.status == "open", Finding.detection_state == "active",
        Finding.severity.in_(severities_at_or_above(severity)))) or 0)


def scan_exit_code(result: ScanResult, *, findings_at_or_above: int = 0) -> ExitCode:
    if result.remediation_stopped:
        return ExitCode.REMEDIATION_STOPPED
    if result.remediation_refused:
        return ExitCode.REMEDIATION_REFUSED
    if result.status == "partial":
        return ExitCode.PARTIAL
    if findings_at_or_above:
        return ExitCode.FINDINGS
    return ExitCode.OK
