"""What an export contains: typed, JSON-able records built from the database (never values).

Findings carry entity types, counts, scores and masked previews only — the evidence table holds
nothing more — and every writer works from these records, not from ORM objects. What an export
reads them from is :class:`scanner.export.collect.ExportData`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

#: Exposure classes that reach outside the organisation.
EXTERNAL_EXPOSURES = frozenset(
    {"public", "published", "anyone_with_link", "external_domain", "external_user", "external_group"}
)
#: Data categories that are personal data (GDPR): contractor PII, government ids, bank/pay data.
PERSONAL_DATA_CATEGORIES = frozenset({"contractor_pii", "government_id", "financial"})
SEVERITIES = ("critical", "high", "medium", "low", "info")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


class Record:
    def as_dict(self) -> dict[str, Any]:
        out = _plain(self)
        assert isinstance(out, dict)
        return out


@dataclass(frozen=True)
class EntityCount(Record):
    detector: str
    entity_type: str
    count: int
    distinct_values: int
    best_score: float
    location: str
    masked_preview: str
    categories: list[str]


@dataclass(frozen=True)
class ActionRecord(Record):
    id: int
    run_id: int | None
    finding_id: int | None
    file_id: str
    action: str
    permission_id: str | None
    target_file_id: str | None
    mode: str
    status: str
    actor: str
    created_at: dt.datetime
    completed_at: dt.datetime | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: str | None
    restores_action_id: int | None
    #: The Google identity the change was made as (impersonated owner, drive member or admin); ``actor``
    #: is on whose behalf (the scan or the operator).
    acted_as: str | None = None
    file_name: str = ""
    file_link: str | None = None
    #: The sharing before and after, in words ("anyone with the link (reader)" → "removed").
    sharing_before: str = ""
    sharing_after: str = ""


@dataclass(frozen=True)
class ExposureRecord(Record):
    """The file's exposure dated from the Drive audit log (scanner.exposure_dating): actors as a domain and a
    keyed hash, the address only when the installation keeps it."""

    source: str  # audit_log | before_retention | first_seen
    exposed_since: dt.datetime | None
    #: yes | no | unknown (no audit log for the window)
    reached_outside: str
    exposed_by: str | None = None
    exposed_by_domain: str | None = None
    exposed_by_hash: str | None = None
    anonymous_access: dict[str, int] = field(default_factory=dict)
    outside_access: dict[str, int] = field(default_factory=dict)
    insider_access: dict[str, int] = field(default_factory=dict)
    outside_total: int = 0
    outside_domains: list[str] = field(default_factory=list)
    outside_actors: int = 0
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    truncated: bool = False
    skipped_reason: str | None = None


@dataclass(frozen=True)
class FindingRecord(Record):
    id: int
    fingerprint: str
    rule_id: str
    title: str
    severity: str
    status: str
    detection_state: str
    file_id: str
    file_name: str
    file_link: str | None
    mime_type: str
    owner_email: str | None
    principal: str | None
    exposure_before: str
    exposure_after: str | None
    exposure_classes: list[str]
    matched_permissions: list[Any]
    data_categories: list[str]
    entities: list[EntityCount]
    first_seen: dt.datetime
    last_seen: dt.datetime
    exposed_since: dt.datetime | None
    remediated_at: dt.datetime | None
    resolved_at: dt.datetime | None
    status_changed_at: dt.datetime
    accepted_until: dt.datetime | None
    recurrence_count: int
    first_run_id: int | None
    last_run_id: int | None
    actions: list[ActionRecord] = field(default_factory=list)
    #: Controls the finding's rule evidences, as ``framework:control`` (e.g. ``iso27001:A.8.12``).
    compliance: list[str] = field(default_factory=list)
    #: The file's exposure dated from the Drive audit log, when it was dated.
    exposure_dating: ExposureRecord | None = None

    @property
    def time_to_detect(self) -> dt.timedelta | None:
        return self.first_seen - self.exposed_since if self.exposed_since else None

    @property
    def time_to_remediate(self) -> dt.timedelta | None:
        return self.remediated_at - self.first_seen if self.remediated_at else None

    @property
    def best_score(self) -> float:
        return max((e.best_score for e in self.entities), default=0.0)

    def entity_totals(self) -> dict[str, int]:
        """Occurrences per entity type in the file. Several detectors report the same values (an email is
        evidence for both ``contractor_pii`` and ``contractor_roster``), so the count per type is the
        largest any detector saw, not their sum — a roster of 8 contractors holds 8 emails, not 16."""
        totals: dict[str, int] = {}
        for e in self.entities:
            totals[e.entity_type] = max(totals.get(e.entity_type, 0), e.count)
        return dict(sorted(totals.items()))


@dataclass(frozen=True)
class CoverageRecord(Record):
    target_kind: str
    target_key: str
    target_name: str
    status: str
    files_seen: int
    files_exposed: int
    files_analysed: int
    files_skipped: int
    files_failed: int
    api_calls: int
    reasons: dict[str, Any]
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class RunRecord(Record):
    id: int
    kind: str
    status: str
    remediation_mode: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    hostname: str
    stats: dict[str, Any]
    error: str | None
    coverage: list[CoverageRecord]
    new_findings: int = 0
    actions: int = 0


@dataclass(frozen=True)
class ExemptionRecord(Record):
    id: int
    scope: str  # finding | rule | file | folder
    finding_id: int | None
    rule_id: str | None
    file_id: str | None
    folder_id: str | None
    reason: str
    actor: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    state: str  # active | expired | revoked


@dataclass(frozen=True)
class ContentGap(Record):
    """An exposed file whose content was not analysed, and why."""

    file_id: str
    file_name: str
    owner_email: str | None
    exposure: str
    content_status: str
    reason: str


@dataclass(frozen=True)
class BreachCandidate(Record):
    finding_id: int
    file_id: str
    file_name: str
    file_link: str | None
    owner_email: str | None
    exposure: str
    data_categories: list[str]
    entity_counts: dict[str, int]
    exposure_start: dt.datetime
    exposure_end: dt.datetime | None  # None: still exposed
    exposure_hours: float
    detected_at: dt.datetime
    notification_deadline: dt.datetime
    deadline_state: str  # overdue | due | closed (exposure ended before the export)
    hours_to_deadline: float
    status: str
    #: From the Drive audit log (scanner.exposure_dating): where exposure_start comes from (audit_log,
    #: before_retention = "since at least", first_seen), whether anyone outside reached the file
    #: (yes | no | unknown: no audit log), who exposed it, and the accesses inside the window.
    exposure_start_source: str = "first_seen"
    reached_outside: str = "unknown"
    exposed_by: str | None = None
    anonymous_access: dict[str, int] = field(default_factory=dict)
    outside_access: dict[str, int] = field(default_factory=dict)
    insider_access: dict[str, int] = field(default_factory=dict)
    outside_total: int = 0
    outside_domains: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ControlSummary(Record):
    """One control of a framework: the findings that evidence it, by workflow status."""

    framework: str
    framework_title: str
    control: str
    title: str
    rules: list[str]
    findings: int
    open: int
    open_critical_high: int
    accepted: int
    remediated: int
    resolved: int
    #: fail: open findings; warning: only accepted ones; pass: findings, all closed; none: no finding.
    state: str


@dataclass(frozen=True)
class DurationStats(Record):
    count: int
    mean_hours: float | None
    median_hours: float | None
    max_hours: float | None


@dataclass(frozen=True)
class SeverityMetrics(Record):
    severity: str
    findings: int
    open: int
    time_to_detect: DurationStats
    time_to_remediate: DurationStats


@dataclass(frozen=True)
class Metrics(Record):
    by_severity: list[SeverityMetrics]
    by_status: dict[str, int]
    by_exposure: dict[str, int]
    by_owner: dict[str, int]
    open_by_age: dict[str, int]
    reshared_findings: int
    reshares_total: int
