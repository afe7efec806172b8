"""Posture at each scan: read the Drive sharing settings of every org unit, judge them with the posture
checks, and keep posture findings with the lifecycle of file findings (open → resolved when a later
complete read no longer sees the condition, reopened with ``recurrence_count + 1`` when it returns;
``accepted`` with a reason and expiry by people). File findings get their owner's org unit, which links
each to the posture that allowed it (:func:`posture_links`). Read-only towards Google: sharescan
recommends, never changes an admin setting.

A posture finding is recorded on the org unit whose policy makes the failing value effective (the root
when it is Google's default), and lists every org unit that inherits it (``applies_to``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.core.errors import NotFoundError, SharescanError
from scanner.posture.checks import PostureCheck, Verdict
from scanner.posture.reader import ROOT, PostureSnapshot, effective
from scanner.store import audit
from scanner.store.models import Finding, PostureFinding, utcnow

log = logging.getLogger(__name__)

OPEN, RESOLVED, ACCEPTED = "open", "resolved", "accepted"
ACTIVE, INACTIVE = "active", "inactive"


class PostureStatus(StrEnum):
    DONE = "done"
    SKIPPED = "skipped"  # could not be read (scope, not a super admin, API error): nothing changed
    DISABLED = "disabled"  # [posture] enabled = false


@dataclass
class PostureOutcome:
    """What the posture step of one run did (``ScanResult.posture``, the run's coverage)."""

    status: PostureStatus
    reason: str = ""
    org_units: int = 0
    checks: int = 0
    active: int = 0
    new: int = 0
    resolved: int = 0
    unknown: int = 0  # (check, org unit) pairs not judged: a needed field is neither set nor defaulted
    group_policies: int = 0
    api_calls: int = 0
    findings_linked: int = 0  # file findings whose owner's org unit is now known

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = str(self.status)
        return out


def fingerprint(check_id: str, org_unit_id: str) -> str:
    return hashlib.sha256(f"posture\0{check_id}\0{org_unit_id}".encode()).hexdigest()


@dataclass(frozen=True)
class PostureResult:
    """One failing (check, source org unit): the org units it applies to and what was observed."""

    check: PostureCheck
    org_unit: str
    org_unit_id: str
    applies_to: tuple[str, ...]
    observed: dict[str, Any]
    is_default: bool


@dataclass
class Judgement:
    failing: list[PostureResult] = field(default_factory=list)
    unknown: int = 0


def judge(snapshot: PostureSnapshot, checks: Sequence[PostureCheck]) -> Judgement:
    """Pure: every check on every org unit, failures grouped by the org unit whose setting decides them."""
    out = Judgement()
    for check in checks:
        groups: dict[str, list[str]] = {}
        observed: dict[str, dict[str, Any]] = {}
        defaults: dict[str, bool] = {}
        for path in sorted(snapshot.units):
            eff = effective(snapshot, path, check.setting_type)
            verdict = check.judge(eff.values)
            if verdict == Verdict.UNKNOWN:
                out.unknown += 1
                continue
            if verdict != Verdict.FAIL:
                continue
            source = eff.source_of(check.fields) or ROOT
            groups.setdefault(source, []).append(path)
            if source not in observed or path == source:
                observed[source] = check.observed(eff.values)
                defaults[source] = not any(f in eff.sources for f in check.fields)
        for source, paths in groups.items():
            out.failing.append(PostureResult(check, source, snapshot.units[source].id, tuple(sorted(paths)),
                                             observed[source], defaults[source]))
    return out


class PostureStore:
    """Upserts and closes posture findings in one session (state events come from the flush hooks)."""

    def __init__(self, session: Session, actor: str, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock

    def _audit(self, event_type: str, row: PostureFinding, **data: Any) -> None:
        audit.record(self.session, event_type, actor=self.actor, subject_type="posture_finding",
                     subject_id=str(row.id), data={"fingerprint": row.fingerprint, "check_id": row.check_id,
                                                   "org_unit": row.org_unit, "status": row.status, **data})

    def apply(self, judgement: Judgement, run_id: int | None) -> tuple[int, int, int]:
        """Record this read's failures and close what no longer fails. Returns (active, new, resolved)."""
        now = self.clock()
        seen: set[str] = set()
        new = 0
        for result in judgement.failing:
            fp = fingerprint(result.check.id, result.org_unit_id)
            if fp in seen:
                continue
            seen.add(fp)
            row = self.session.scalars(select(PostureFinding).where(PostureFinding.fingerprint == fp)).first()
            values: dict[str, Any] = {
                "check_id": result.check.id, "title": result.check.title, "severity": result.check.severity,
                "org_unit_id": result.org_unit_id, "org_unit": result.org_unit,
                "applies_to": list(result.applies_to), "setting_type": result.check.setting,
                "observed": result.observed, "is_default": result.is_default, "allows": list(result.check.allows),
                "setting_label": result.check.setting_label,
                "compliance": {k: list(v) for k, v in result.check.compliance.items()},
                "recommendation": result.check.recommendation, "last_seen": now, "last_run_id": run_id,
            }
            if row is None:
                row = PostureFinding(fingerprint=fp, status=OPEN, detection_state=ACTIVE, first_seen=now,
                                     status_changed_at=now, recurrence_count=0, first_run_id=run_id, **values)
                self.session.add(row)
                self.session.flush()
                new += 1
                self._audit("posture_finding.opened", row, severity=row.severity, run_id=run_id)
                continue
            was_inactive = row.detection_state == INACTIVE
            for key, value in values.items():
                setattr(row, key, value)
            row.detection_state = ACTIVE
            if row.status == RESOLVED:
                row.status, row.status_changed_at, row.resolved_at = OPEN, now, None
                row.recurrence_count += 1
                self.session.flush()
                self._audit("posture_finding.reopened", row, recurrence_count=row.recurrence_count, run_id=run_id)
            elif row.status == ACCEPTED and row.accepted_until is not None and row.accepted_until <= now:
                row.status, row.status_changed_at, row.accepted_until = OPEN, now, None
                self.session.flush()
                self._audit("posture_finding.acceptance_expired", row, run_id=run_id)
            elif was_inactive:
                self._audit("posture_finding.reactivated", row, run_id=run_id)
        resolved = 0
        stale = self.session.scalars(select(PostureFinding).where(
            PostureFinding.detection_state == ACTIVE, PostureFinding.fingerprint.not_in(seen or {""}))).all()
        for row in stale:
            row.detection_state = INACTIVE
            if row.status == OPEN:
                row.status, row.status_changed_at, row.resolved_at = RESOLVED, now, now
                resolved += 1
            self.session.flush()
            self._audit("posture_finding.resolved", row, run_id=run_id)
        return len(seen), new, resolved


    def get(self, posture_id: int) -> PostureFinding:
        row = self.session.get(PostureFinding, posture_id)
        if row is None:
            raise NotFoundError(f"posture finding {posture_id} not found (see `sharescan posture list`)")
        return row

    def accept(self, row: PostureFinding, *, reason: str, expires: dt.datetime | None) -> None:
        """Accept a posture finding's risk (reason and expiry in the audit log); it reopens when the
        acceptance runs out and the setting still fails."""
        if not reason.strip():
            raise SharescanError("an acceptance needs a reason")
        if row.status != OPEN:
            raise SharescanError(f"posture finding {row.id} is {row.status}: only open ones can be accepted")
        now = self.clock()
        row.status, row.status_changed_at, row.accepted_until = ACCEPTED, now, expires
        self.session.flush()
        self._audit("posture_finding.accepted", row, reason=reason,
                    accepted_until=expires.isoformat() if expires else None)


def posture_row(p: PostureFinding) -> dict[str, Any]:
    """One posture finding as a listing row (the same fields for table, JSON and CSV)."""
    return {"id": p.id, "severity": p.severity, "status": p.status, "state": p.detection_state,
            "check_id": p.check_id, "org_unit": p.org_unit, "title": p.title,
            "cis_gws": list(p.compliance.get("cis_gws", [])), "scuba_gws": list(p.compliance.get("scuba_gws", [])),
            "setting": p.setting_type, "observed": dict(p.observed), "google_default": p.is_default,
            "applies_to": list(p.applies_to), "allows": list(p.allows), "recommendation": p.recommendation,
            "first_seen": p.first_seen, "last_seen": p.last_seen, "resolved_at": p.resolved_at,
            "accepted_until": p.accepted_until, "recurrences": p.recurrence_count, "fingerprint": p.fingerprint}


def link_file_findings(session: Session, org_units: dict[str, str]) -> int:
    """Set each active (or not yet placed) file finding's ``org_unit`` from its owner's (``org_units``: email → path).
    Returns how many changed. The three columns it compares are streamed; only the findings that change
    are loaded and written through the ORM (``org_unit`` is not a covered field; docs/ARCHITECTURE.md,
    "Nightly cost")."""
    rows = session.execute(select(Finding.id, Finding.owner_email, Finding.org_unit).where(
        Finding.owner_email.is_not(None), or_(Finding.detection_state == ACTIVE, Finding.org_unit.is_(None)))
        .execution_options(yield_per=1000))
    todo: list[tuple[int, str]] = []
    for finding_id, owner, current in rows:
        unit = org_units.get((owner or "").lower())
        if unit is not None and current != unit:
            todo.append((finding_id, unit))
    for finding_id, unit in todo:
        row = session.get(Finding, finding_id)
        if row is not None:
            row.org_unit = unit
    return len(todo)


class PostureService:
    def __init__(self, sessions: sessionmaker[Session], actor: str, checks: Sequence[PostureCheck], *,
                 clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.sessions = sessions
        self.actor = actor
        self.checks = tuple(checks)
        self.clock = clock

    def record(self, snapshot: PostureSnapshot, run_id: int | None, owners: dict[str, str]) -> PostureOutcome:
        judgement = judge(snapshot, self.checks)
        with self.sessions.begin() as s:
            active, new, resolved = PostureStore(s, self.actor, self.clock).apply(judgement, run_id)
            linked = link_file_findings(s, owners)
        return PostureOutcome(PostureStatus.DONE, org_units=len(snapshot.units), checks=len(self.checks),
                              active=active, new=new, resolved=resolved, unknown=judgement.unknown,
                              group_policies=snapshot.group_policies, api_calls=snapshot.api_calls,
                              findings_linked=linked)


# ---------------------------------------------------------------------- links: file findings → their cause
@dataclass(frozen=True)
class PostureLink:
    """File findings in one org unit whose exposure a failing setting allowed."""

    posture_finding_id: int
    check_id: str
    setting_label: str
    set_at: str  # the org unit whose setting it is
    org_unit: str  # the file owners' org unit
    exposure: str
    findings: int
    compliance: dict[str, list[str]]
    recommendation: str

    @property
    def sentence(self) -> str:
        where = f"OU {self.org_unit}"
        inherited = "" if self.set_at == self.org_unit else f" (inherited from {self.set_at})"
        noun = "finding" if self.findings == 1 else "findings"
        exposure = self.exposure.replace("_", "-")
        return f"{self.findings} {exposure} {noun} in {where}, where {self.setting_label}{inherited}"


def posture_links(session: Session) -> list[PostureLink]:
    """Every (active posture finding, org unit, exposure) with its count of file findings (any status: each
    was an exposure the setting allowed), most findings first."""
    postures = session.scalars(select(PostureFinding).where(PostureFinding.detection_state == ACTIVE)
                               .order_by(PostureFinding.id)).all()
    # every file finding counts, whatever became of it since: each was an exposure the setting allowed
    counts: Counter[tuple[str, str]] = Counter(
        (str(unit), str(exposure)) for unit, exposure in session.execute(
            select(Finding.org_unit, Finding.exposure).where(Finding.org_unit.is_not(None))))
    out = []
    for p in postures:
        for unit in p.applies_to:
            for exposure in p.allows:
                n = counts.get((unit, exposure), 0)
                if n:
                    out.append(PostureLink(p.id, p.check_id, p.setting_label or p.title, p.org_unit, unit,
                                           exposure, n, dict(p.compliance), p.recommendation))
    out.sort(key=lambda link: (-link.findings, link.check_id, link.org_unit, link.exposure))
    return out


def causes_of(session: Session, finding: Finding) -> list[dict[str, Any]]:
    """The failing settings (active posture findings) that allowed one file finding's exposure: where its
    owner's org unit inherits them from, and the CIS/SCuBA ids."""
    if not finding.org_unit:
        return []
    out = []
    for p in session.scalars(select(PostureFinding).where(PostureFinding.detection_state == ACTIVE)
                             .order_by(PostureFinding.id)):
        if finding.org_unit in p.applies_to and finding.exposure in p.allows:
            out.append({"posture_id": p.id, "check_id": p.check_id, "set_at": p.org_unit,
                        "setting": p.setting_label or p.title, "compliance": dict(p.compliance)})
    return out


@dataclass(frozen=True)
class SettingToChange:
    """One posture finding and the file findings it would have prevented (all its links summed)."""

    posture_finding_id: int
    check_id: str
    title: str
    org_unit: str
    prevented: int
    compliance: dict[str, list[str]]
    recommendation: str


def settings_to_change(session: Session, limit: int = 10) -> list[SettingToChange]:
    """The settings to change first: active open posture findings ranked by the file findings they allowed
    (would have prevented)."""
    prevented: Counter[int] = Counter()
    for link in posture_links(session):
        prevented[link.posture_finding_id] += link.findings
    rows = session.scalars(select(PostureFinding).where(PostureFinding.detection_state == ACTIVE,
                                                        PostureFinding.status == OPEN)).all()
    ranked = sorted(rows, key=lambda r: (-prevented[r.id], _SEVERITY.get(r.severity, 9), r.check_id, r.org_unit))
    return [SettingToChange(r.id, r.check_id, r.title, r.org_unit, prevented[r.id], dict(r.compliance),
                            r.recommendation) for r in ranked[:limit]]


_SEVERITY = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}

