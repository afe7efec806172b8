"""Pure computations over finding records: metrics and GDPR breach candidates."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence

from scanner.export.model import (
    EXTERNAL_EXPOSURES,
    PERSONAL_DATA_CATEGORIES,
    SEVERITIES,
    BreachCandidate,
    DurationStats,
    FindingRecord,
    Metrics,
    SeverityMetrics,
)

AGE_BUCKETS: tuple[tuple[str, dt.timedelta | None], ...] = (
    ("<1d", dt.timedelta(days=1)),
    ("1-7d", dt.timedelta(days=7)),
    ("7-30d", dt.timedelta(days=30)),
    ("30-90d", dt.timedelta(days=90)),
    (">90d", None),
)
OPEN_STATUSES = frozenset({"open"})


def _hours(delta: dt.timedelta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def duration_stats(deltas: Iterable[dt.timedelta]) -> DurationStats:
    hours = [_hours(d) for d in deltas if d >= dt.timedelta(0)]
    if not hours:
        return DurationStats(0, None, None, None)
    return DurationStats(len(hours), round(statistics.fmean(hours), 2), round(statistics.median(hours), 2),
                         max(hours))


def age_bucket(age: dt.timedelta) -> str:
    for label, upper in AGE_BUCKETS:
        if upper is None or age < upper:
            return label
    return AGE_BUCKETS[-1][0]  # pragma: no cover


def compute_metrics(findings: Sequence[FindingRecord], now: dt.datetime) -> Metrics:
    by_severity = []
    known = list(SEVERITIES) + sorted({f.severity for f in findings} - set(SEVERITIES))
    for severity in known:
        group = [f for f in findings if f.severity == severity]
        by_severity.append(SeverityMetrics(
            severity=severity, findings=len(group), open=sum(f.status in OPEN_STATUSES for f in group),
            time_to_detect=duration_stats(d for f in group if (d := f.time_to_detect) is not None),
            time_to_remediate=duration_stats(d for f in group if (d := f.time_to_remediate) is not None),
        ))
    open_by_age = {label: 0 for label, _ in AGE_BUCKETS}
    for f in findings:
        if f.status in OPEN_STATUSES:
            open_by_age[age_bucket(now - f.first_seen)] += 1
    owners = Counter(f.owner_email or "(unknown)" for f in findings)
    return Metrics(
        by_severity=by_severity,
        by_status=dict(sorted(Counter(f.status for f in findings).items())),
        by_exposure=dict(Counter(f.exposure_before for f in findings).most_common()),
        by_owner=dict(owners.most_common()),
        open_by_age=open_by_age,
        reshared_findings=sum(f.recurrence_count > 0 for f in findings),
        reshares_total=sum(f.recurrence_count for f in findings),
    )


def is_breach_candidate(finding: FindingRecord) -> bool:
    """Personal data exposed outside the organisation (whatever the status now)."""
    exposures = {finding.exposure_before, *finding.exposure_classes}
    return bool(PERSONAL_DATA_CATEGORIES & set(finding.data_categories)) and bool(EXTERNAL_EXPOSURES & exposures)


def breach_candidates(findings: Sequence[FindingRecord], now: dt.datetime,
                      deadline_hours: int) -> list[BreachCandidate]:
    out: list[BreachCandidate] = []
    for f in findings:
        if not is_breach_candidate(f):
            continue
        start = f.exposed_since or f.first_seen
        end = f.remediated_at or f.resolved_at
        deadline = f.first_seen + dt.timedelta(hours=deadline_hours)
        if end is not None and end <= now:
            state = "closed"
        elif now > deadline:
            state = "overdue"
        else:
            state = "due"
        out.append(BreachCandidate(
            finding_id=f.id, file_id=f.file_id, file_name=f.file_name, file_link=f.file_link,
            owner_email=f.owner_email, exposure=f.exposure_before,
            data_categories=sorted(set(f.data_categories)), entity_counts=f.entity_totals(),
            exposure_start=start, exposure_end=end, exposure_hours=_hours((end or now) - start),
            detected_at=f.first_seen, notification_deadline=deadline, deadline_state=state,
            hours_to_deadline=_hours(deadline - now), status=f.status,
        ))
    out.sort(key=lambda b: (b.deadline_state != "overdue", b.notification_deadline))
    return out
