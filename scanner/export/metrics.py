"""Computations over finding records: metrics (one streaming pass) and GDPR breach candidates."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence

from scanner.export.model import (
    EXTERNAL_EXPOSURES,
    PERSONAL_DATA_CATEGORIES,
    SEVERITIES,
    BreachCandidate,
    ControlSummary,
    DurationStats,
    FindingRecord,
    Metrics,
    SeverityMetrics,
)
from scanner.policy.compliance import Framework

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


class DurationTally:
    """Durations in hours (rounded to 0.01 h, as reported) counted by value: memory grows with the number
    of distinct values, not of findings. Mean and median equal ``statistics.fmean``/``median`` of the list."""

    def __init__(self) -> None:
        self.counts: Counter[float] = Counter()
        self.n = 0

    def add(self, delta: dt.timedelta) -> None:
        if delta >= dt.timedelta(0):
            self.counts[_hours(delta)] += 1
            self.n += 1

    def stats(self) -> DurationStats:
        if not self.n:
            return DurationStats(0, None, None, None)
        values = sorted(self.counts)
        # fmean = fsum(data) / n; fsum of the repeated values is exact, as it is over the whole list.
        mean = math.fsum(itertools.chain.from_iterable(itertools.repeat(v, self.counts[v]) for v in values)) / self.n
        return DurationStats(self.n, round(mean, 2), round(self._median(values), 2), values[-1])

    def _median(self, values: list[float]) -> float:
        def nth(k: int) -> float:  # the k-th smallest (0-based)
            seen = 0
            for v in values:
                seen += self.counts[v]
                if k < seen:
                    return v
            raise IndexError(k)  # pragma: no cover

        half = self.n // 2
        return nth(half) if self.n % 2 else (nth(half - 1) + nth(half)) / 2


def duration_stats(deltas: Iterable[dt.timedelta]) -> DurationStats:
    tally = DurationTally()
    for d in deltas:
        tally.add(d)
    return tally.stats()


def age_bucket(age: dt.timedelta) -> str:
    for label, upper in AGE_BUCKETS:
        if upper is None or age < upper:
            return label
    return AGE_BUCKETS[-1][0]  # pragma: no cover


class _SeverityTally:
    def __init__(self) -> None:
        self.findings = 0
        self.open = 0
        self.ttd = DurationTally()
        self.ttr = DurationTally()


class MetricsAccumulator:
    """:func:`compute_metrics` one finding at a time (memory: per severity, status, exposure and owner)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.severity: dict[str, _SeverityTally] = {s: _SeverityTally() for s in SEVERITIES}
        self.status: Counter[str] = Counter()
        self.exposure: Counter[str] = Counter()
        self.owners: Counter[str] = Counter()
        self.open_by_age = {label: 0 for label, _ in AGE_BUCKETS}
        self.reshared = 0
        self.reshares = 0

    def add(self, f: FindingRecord) -> None:
        tally = self.severity.get(f.severity)
        if tally is None:
            tally = self.severity[f.severity] = _SeverityTally()
        tally.findings += 1
        is_open = f.status in OPEN_STATUSES
        tally.open += is_open
        if (ttd := f.time_to_detect) is not None:
            tally.ttd.add(ttd)
        if (ttr := f.time_to_remediate) is not None:
            tally.ttr.add(ttr)
        if is_open:
            self.open_by_age[age_bucket(self.now - f.first_seen)] += 1
        self.status[f.status] += 1
        self.exposure[f.exposure_before] += 1
        self.owners[f.owner_email or "(unknown)"] += 1
        self.reshared += f.recurrence_count > 0
        self.reshares += f.recurrence_count

    def result(self) -> Metrics:
        known = list(SEVERITIES) + sorted(set(self.severity) - set(SEVERITIES))
        return Metrics(
            by_severity=[SeverityMetrics(severity=s, findings=self.severity[s].findings, open=self.severity[s].open,
                                         time_to_detect=self.severity[s].ttd.stats(),
                                         time_to_remediate=self.severity[s].ttr.stats()) for s in known],
            by_status=dict(sorted(self.status.items())),
            by_exposure=dict(self.exposure.most_common()),
            by_owner=dict(self.owners.most_common()),
            open_by_age=dict(self.open_by_age),
            reshared_findings=self.reshared,
            reshares_total=self.reshares,
        )


class ComplianceTally:
    """Findings per control (one streaming pass); rows for every control of the chosen frameworks."""

    def __init__(self, frameworks: Sequence[Framework], rules_by_control: dict[str, list[str]]) -> None:
        self.frameworks = list(frameworks)
        self.rules_by_control = rules_by_control
        self.counts: dict[str, Counter[str]] = {}

    def add(self, f: FindingRecord) -> None:
        for ref in f.compliance:
            tally = self.counts.setdefault(ref, Counter())
            tally["findings"] += 1
            tally[f.status] += 1
            tally["open_critical_high"] += f.status in OPEN_STATUSES and f.severity in ("critical", "high")

    def rows(self) -> list[ControlSummary]:
        out = []
        for fw in self.frameworks:
            for c in fw.controls:
                n = self.counts.get(c.ref, Counter())
                state = ("fail" if n["open"] else "warning" if n["accepted"] else "pass" if n["findings"]
                         else "none")
                out.append(ControlSummary(
                    framework=fw.id, framework_title=fw.title, control=c.id, title=c.title,
                    rules=sorted(self.rules_by_control.get(c.ref, [])), findings=n["findings"], open=n["open"],
                    open_critical_high=n["open_critical_high"], accepted=n["accepted"], remediated=n["remediated"],
                    resolved=n["resolved"], state=state))
        return out


def compute_metrics(findings: Iterable[FindingRecord], now: dt.datetime) -> Metrics:
    acc = MetricsAccumulator(now)
    for f in findings:
        acc.add(f)
    return acc.result()


def personal_data_exposed_outside(exposure: str, exposure_classes: Iterable[str],
                                  data_categories: Iterable[str]) -> bool:
    """The breach-candidate test on raw fields (what the database holds)."""
    return bool(PERSONAL_DATA_CATEGORIES.intersection(data_categories)) and bool(
        EXTERNAL_EXPOSURES.intersection({exposure, *exposure_classes}))


def is_breach_candidate(finding: FindingRecord) -> bool:
    """Personal data exposed outside the organisation (whatever the status now), and reached from outside
    while exposed — or not known to be unreached (no audit log for the window)."""
    dating = finding.exposure_dating
    return personal_data_exposed_outside(finding.exposure_before, finding.exposure_classes,
                                         finding.data_categories) and (dating is None or dating.reached_outside != "no")


def breach_candidate(f: FindingRecord, now: dt.datetime, deadline_hours: int) -> BreachCandidate:
    d = f.exposure_dating
    dated = d is not None and d.source != "first_seen" and d.exposed_since is not None
    start = (d.exposed_since if dated and d is not None else None) or f.exposed_since or f.first_seen
    end = f.remediated_at or f.resolved_at
    deadline = f.first_seen + dt.timedelta(hours=deadline_hours)
    if end is not None and end <= now:
        state = "closed"
    elif now > deadline:
        state = "overdue"
    else:
        state = "due"
    return BreachCandidate(
        finding_id=f.id, file_id=f.file_id, file_name=f.file_name, file_link=f.file_link,
        owner_email=f.owner_email, exposure=f.exposure_before,
        data_categories=sorted(set(f.data_categories)), entity_counts=f.entity_totals(),
        exposure_start=start, exposure_end=end, exposure_hours=_hours((end or now) - start),
        detected_at=f.first_seen, notification_deadline=deadline, deadline_state=state,
        hours_to_deadline=_hours(deadline - now), status=f.status,
        exposure_start_source=d.source if dated and d is not None else "first_seen",
        reached_outside=d.reached_outside if d is not None else "unknown",
        exposed_by=d.exposed_by if d is not None else None,
        anonymous_access=dict(d.anonymous_access) if d is not None else {},
        outside_access=dict(d.outside_access) if d is not None else {},
        insider_access=dict(d.insider_access) if d is not None else {},
        outside_total=d.outside_total if d is not None else 0,
        outside_domains=list(d.outside_domains) if d is not None else [],
    )


def breach_candidates(findings: Sequence[FindingRecord], now: dt.datetime,
                      deadline_hours: int) -> list[BreachCandidate]:
    """In memory, for a list of records; the export streams them in this order from the database."""
    out = [breach_candidate(f, now, deadline_hours) for f in findings if is_breach_candidate(f)]
    out.sort(key=lambda b: (-b.outside_total, b.deadline_state != "overdue", b.notification_deadline))
    return out
