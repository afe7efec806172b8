"""Findings: upsert by fingerprint, lifecycle transitions, exemptions, evidence (docs/ARCHITECTURE.md, "Findings").

Two states, kept apart:

* ``detection_state`` (active | inactive) is set only by scans: :meth:`FindingRepo.upsert` makes a
  finding active, :meth:`FindingRepo.close_missing` makes findings a *complete* run did not see
  again inactive.
* ``status`` (open | remediated | resolved | accepted) is the workflow: remediation marks it
  remediated, a later complete scan that no longer sees the condition marks it resolved, people
  accept it (with reason and expiry), and a recurrence reopens it (``recurrence_count + 1``).

Every transition writes an audit event in the caller's transaction. The caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CompoundSelect, Select, Table, bindparam, delete, func, or_, select
from sqlalchemy.orm import Session

from scanner.core.errors import NotFoundError, SharescanError
from scanner.core.findings import EvidenceSource, FindingSource, StoredExemption
from scanner.core.models import DriveFile
from scanner.core.statuses import ActionStatus, DetectionState, FindingStatus, StepStatus
from scanner.store import audit
from scanner.store.models import DriveFileRow, Evidence, Exemption, Finding, RemediationAction, RemediationStep, utcnow
from scanner.store.pending import pending_file_ids

# stored as plain text (the columns are strings); the typed names are core's
OPEN, REMEDIATED, RESOLVED, ACCEPTED = (s.value for s in FindingStatus)
ACTIVE, INACTIVE = (s.value for s in DetectionState)
STATUSES = (OPEN, REMEDIATED, RESOLVED, ACCEPTED)


@dataclass(frozen=True)
class FindingFilter:
    statuses: Sequence[str] = ()
    severities: Sequence[str] = ()
    rule_ids: Sequence[str] = ()
    owners: Sequence[str] = ()
    exposures: Sequence[str] = ()
    detection_states: Sequence[str] = ()
    file_ids: Sequence[str] = ()
    since: dt.datetime | None = None  # last_seen at or after
    limit: int | None = None


@dataclass(frozen=True)
class CloseReport:
    resolved: tuple[int, ...]
    deactivated: tuple[int, ...]


class FindingRepo:
    """Finding persistence in one session; the caller owns the transaction."""

    def __init__(self, session: Session, actor: str, *, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock

    # ------------------------------------------------------------------ audit
    def _audit(self, event_type: str, finding: Finding, **data: Any) -> None:
        """Append the event after the pending changes (so their state events come first), as
        ``audit.record`` does, without loading the new event back."""
        self.session.flush()
        audit.append(self.session, event_type, actor=self.actor, subject_type="finding",
                     subject_id=str(finding.id),
                     data={"fingerprint": finding.fingerprint, "rule_id": finding.rule_id,
                           "file_id": finding.file_id, "status": finding.status, **data})

    def _set_status(self, finding: Finding, status: str, now: dt.datetime) -> str:
        previous = finding.status
        finding.status = status
        finding.status_changed_at = now
        return previous

    # ------------------------------------------------------------------ files
    def ensure_file(self, file: DriveFile, *, exposure: str | None = None) -> DriveFileRow:
        """The file's snapshot row (findings reference it). Inserts a minimal row only when the crawl
        has not stored one; never overwrites what the crawler wrote."""
        row = self.session.get(DriveFileRow, file.id)
        if row is not None:
            return row
        now = self.clock()
        row = DriveFileRow(
            id=file.id, provider=file.provider, name=file.name, mime_type=file.mime_type, item_kind=file.kind.value,
            owner_email=file.owner_email, drive_id=file.drive_id, parents=list(file.parents),
            web_view_link=file.web_view_link, created_time=file.created_time, modified_time=file.modified_time,
            md5_checksum=file.md5_checksum,
            head_revision_id=file.head_revision_id, size=file.size, trashed=file.trashed, published=file.published,
            exposure=exposure or "internal", first_seen=now, last_seen=now,
            exposed_since=now if exposure and exposure not in ("internal", "domain") else None,
        )
        self.session.add(row)
        self.session.flush()
        return row

    # ------------------------------------------------------------------ upsert
    def get_by_fingerprint(self, fingerprint: str) -> Finding | None:
        return self.session.scalars(select(Finding).where(Finding.fingerprint == fingerprint)).first()

    def upsert(self, match: FindingSource, run_id: int | None) -> Finding:
        """Create or refresh the finding of a match; reopen it if it recurred; expire stale acceptance."""
        now = self.clock()
        file_row = self.ensure_file(match.file, exposure=match.exposure.value)
        fp = match.fingerprint
        finding = self.get_by_fingerprint(fp)
        values: dict[str, Any] = {
            "provider": match.file.provider, "rule_id": match.rule_id, "title": match.title, "severity": match.severity,
            "file_id": match.file.id, "owner_email": match.file.owner_email, "principal": match.principal,
            "exposure": match.exposure.value, "matched_permissions": match.matched_permissions_json(),
            "detectors": match.detectors_json(), "data_categories": list(match.categories),
            "last_seen": now, "last_run_id": run_id,
            "blast_radius": match.blast_radius.to_json() if match.blast_radius is not None else None,
        }
        if finding is None:
            finding = Finding(fingerprint=fp, status=OPEN, detection_state=ACTIVE, first_seen=now,
                              exposed_since=file_row.exposed_since or now, status_changed_at=now,
                              recurrence_count=0, first_run_id=run_id, **values)
            self.session.add(finding)
            self.session.flush()
            self._audit("finding.opened", finding, severity=finding.severity, exposure=finding.exposure,
                        categories=finding.data_categories, run_id=run_id)
            return finding
        was_inactive = finding.detection_state == INACTIVE
        for key, value in values.items():
            setattr(finding, key, value)
        finding.detection_state = ACTIVE
        if finding.exposed_since is None or was_inactive:
            finding.exposed_since = file_row.exposed_since or now
        if finding.status in (RESOLVED, REMEDIATED):
            # The condition is back: after a resolution, or after our own remediation.
            previous = self._set_status(finding, OPEN, now)
            finding.recurrence_count += 1
            finding.resolved_at = None
            finding.exposure_after = None  # exposed again
            self.session.flush()
            self._audit("finding.reopened", finding, previous=previous, recurrence_count=finding.recurrence_count,
                        run_id=run_id)
        elif finding.status == ACCEPTED and finding.accepted_until is not None and finding.accepted_until <= now:
            self._expire_acceptance(finding, now, run_id=run_id)
        elif was_inactive:
            self._audit("finding.reactivated", finding, run_id=run_id)
        self.session.flush()
        return finding

    # ------------------------------------------------------------------ close
    def close_missing(self, run_id: int, *, complete: bool, covered_owners: Collection[str] = (),
                      covered_drives: Collection[str] = (),
                      evaluated_file_ids: Collection[str] | None = None,
                      fixed_by: Callable[[Finding], Sequence[int]] | None = None) -> CloseReport:
        """Findings the run should have seen again but did not: inactive, and open ones resolved.

        Only a *complete* run may do this (a partial, failed or killed run changes nothing). Scope:
        findings on files owned by ``covered_owners`` or in ``covered_drives`` (a full crawl of
        those targets), plus findings on ``evaluated_file_ids`` (an incremental run re-evaluated
        those files and the rule no longer matched). Never closed, whatever the scope: findings on
        files with a pending read (content, publish state or permissions could not be read: unreadable
        is not clean), and findings with a remediation not yet reconciled (our own change may be why
        the condition is gone: it must end ``remediated``, not ``resolved``).

        ``fixed_by(finding)`` names our own remediation actions that took the finding's exposure away
        (e.g. a more severe finding's revoke, whose run was killed before this finding's turn): an
        open finding they fixed ends ``remediated``, not ``resolved``.
        """
        if not complete:
            return CloseReport((), ())
        owners = {o.lower() for o in covered_owners}
        drives = set(covered_drives)
        files = set(evaluated_file_ids or ())
        if not (owners or drives or files):
            return CloseReport((), ())
        conditions = []
        if owners:
            conditions.append(func.lower(Finding.owner_email).in_(owners))
        if drives:
            conditions.append(Finding.file_id.in_(select(DriveFileRow.id).where(DriveFileRow.drive_id.in_(drives))))
        if files:
            conditions.append(Finding.file_id.in_(files))
        stale = self.session.scalars(
            select(Finding).where(
                Finding.detection_state == ACTIVE,
                # a later run (``sharescan watch`` beside this one) saw it more recently than this run
                or_(Finding.last_run_id.is_(None), Finding.last_run_id < run_id),
                or_(*conditions),
                Finding.file_id.not_in(pending_file_ids()),
                Finding.id.not_in(unfinished_remediation()),
            ).order_by(Finding.id)
        ).all()
        now = self.clock()
        resolved, deactivated = [], []
        for finding in stale:
            finding.detection_state = INACTIVE
            ours = list(fixed_by(finding)) if fixed_by is not None and finding.status == OPEN else []
            if ours:
                self.mark_remediated(finding, action_ids=ours)
                deactivated.append(finding.id)
                self._audit("finding.inactive", finding, run_id=run_id,
                            reason="condition no longer detected: removed by our remediation", action_ids=ours)
            elif finding.status == OPEN:
                self._set_status(finding, RESOLVED, now)
                finding.resolved_at = now
                resolved.append(finding.id)
                self._audit("finding.resolved", finding, run_id=run_id, reason="condition no longer detected")
            else:
                deactivated.append(finding.id)
                self._audit("finding.inactive", finding, run_id=run_id, reason="condition no longer detected")
        self.session.flush()
        return CloseReport(tuple(resolved), tuple(deactivated))

    def link_to_folder(self, folder_finding_id: int, covered: Collection[int]) -> list[int]:
        """Point exactly these findings at the folder finding that covers them (a link, not a status
        change: no audit event); inactive findings keep the folder finding they were closed with.
        Returns the findings whose link changed (their remediation plan changes with it)."""
        ids = set(covered)
        rows = self.session.scalars(select(Finding).where(
            or_(Finding.id.in_(ids), (Finding.folder_finding_id == folder_finding_id)
                & (Finding.detection_state == ACTIVE))))
        changed = []
        for finding in rows:
            wanted = folder_finding_id if finding.id in ids else None
            if finding.folder_finding_id != wanted:
                finding.folder_finding_id = wanted
                changed.append(finding.id)
        self.session.flush()
        return changed

    def resolve_unmatched(self, findings: Sequence[Finding], *, run_id: int | None, reason: str) -> list[int]:
        """Findings a complete evaluation no longer matched (the caller chose them): inactive, and the
        open ones resolved. Returns the ids resolved now."""
        now = self.clock()
        resolved: list[int] = []
        for finding in findings:
            if finding.detection_state == INACTIVE:
                continue
            finding.detection_state = INACTIVE
            if finding.status == OPEN:
                self._set_status(finding, RESOLVED, now)
                finding.resolved_at = now
                resolved.append(finding.id)
                self._audit("finding.resolved", finding, run_id=run_id, reason=reason)
            else:
                self._audit("finding.inactive", finding, run_id=run_id, reason=reason)
        self.session.flush()
        return resolved

    def close_fixed(self, findings: Sequence[Finding], *, run_id: int | None, action_ids: Sequence[int]) -> list[int]:
        """Findings whose condition is gone after our own actions (the file was read again after them):
        inactive, and the open ones remediated, with the file's exposure as read again as what the fix left.
        Returns the ids remediated now."""
        now = self.clock()
        remediated: list[int] = []
        for finding in findings:
            if finding.detection_state == INACTIVE:
                continue
            finding.detection_state = INACTIVE
            if finding.status == OPEN:
                previous = self._set_status(finding, REMEDIATED, now)
                finding.remediated_at = now
                if finding.file is not None:
                    finding.exposure_after = finding.file.exposure
                remediated.append(finding.id)
                self._audit("finding.remediated", finding, previous=previous, action_ids=list(action_ids),
                            run_id=run_id, reason="condition gone after remediation")
            else:
                self._audit("finding.inactive", finding, run_id=run_id, reason="condition gone after remediation")
        self.session.flush()
        return remediated

    # ------------------------------------------------------------------ workflow
    def get(self, finding_id: int) -> Finding:
        finding = self.session.get(Finding, finding_id)
        if finding is None:
            raise NotFoundError(f"finding {finding_id} not found")
        return finding

    def resolve_ref(self, ref: str) -> Finding:
        """A finding by id or by (a unique prefix of at least 8 characters of) its fingerprint."""
        if ref.isdigit():
            return self.get(int(ref))
        if len(ref) >= 8:
            rows = self.session.scalars(select(Finding).where(Finding.fingerprint.startswith(ref.lower()))
                                        .limit(2)).all()
            if len(rows) == 1:
                return rows[0]
            if len(rows) > 1:
                raise NotFoundError(f"fingerprint prefix {ref!r} is ambiguous")
        raise NotFoundError(f"finding {ref!r} not found")

    def _check_expiry(self, what: str, expires: dt.datetime | None, permanent: bool, now: dt.datetime) -> None:
        if expires is None and not permanent:
            raise SharescanError(f"{what} needs an expiry (or an explicit no-expiry: permanent exceptions must be "
                                 "asked for by name)")
        if expires is not None and permanent:
            raise SharescanError(f"{what}: give an expiry or no-expiry, not both")
        if expires is not None and expires <= now:
            raise SharescanError(f"the {what} expiry must be in the future")

    def accept(self, finding: Finding, *, reason: str, expires: dt.datetime | None,
               permanent: bool = False) -> Exemption:
        """Accept the risk: status accepted until ``expires`` (then the finding reopens).

        ``expires=None`` is refused unless ``permanent=True`` says so explicitly."""
        now = self.clock()
        if not reason.strip():
            raise SharescanError("accepting a finding needs a reason")
        self._check_expiry("acceptance", expires, permanent, now)
        exemption = Exemption(finding_id=finding.id, rule_id=finding.rule_id, file_id=finding.file_id,
                              reason=reason.strip(), actor=self.actor, created_at=now, expires_at=expires)
        self.session.add(exemption)
        previous = self._set_status(finding, ACCEPTED, now)
        finding.accepted_until = expires
        self.session.flush()
        self._audit("finding.accepted", finding, previous=previous, reason=reason.strip(),
                    expires=expires.isoformat() if expires else None, permanent=permanent,
                    exemption_id=exemption.id)
        return exemption

    def reopen(self, finding: Finding, *, reason: str) -> None:
        """Back to open (e.g. a restore undid the remediation)."""
        if finding.status == OPEN:
            return
        previous = self._set_status(finding, OPEN, self.clock())
        finding.remediated_at = None if previous == REMEDIATED else finding.remediated_at
        finding.exposure_after = None
        self.session.flush()
        self._audit("finding.reopened", finding, previous=previous, reason=reason)

    def mark_remediated(self, finding: Finding, *, action_ids: Sequence[int],
                        exposure_after: str | None = None) -> None:
        """Remediated by our verified actions; ``exposure_after`` is the file's widest exposure once they took
        effect (what the findings' "after" column shows)."""
        if finding.status == REMEDIATED:
            return
        now = self.clock()
        previous = self._set_status(finding, REMEDIATED, now)
        finding.remediated_at = now
        finding.exposure_after = exposure_after or finding.exposure_after
        self.session.flush()
        self._audit("finding.remediated", finding, previous=previous, action_ids=list(action_ids))

    def _expire_acceptance(self, finding: Finding, now: dt.datetime, *, run_id: int | None = None) -> None:
        """Back to open; or to resolved when scans no longer see the condition (nothing left to accept)."""
        if finding.detection_state == INACTIVE:
            previous = self._set_status(finding, RESOLVED, now)
            finding.resolved_at = now
        else:
            previous = self._set_status(finding, OPEN, now)
        until = finding.accepted_until
        finding.accepted_until = None
        self.session.flush()
        self._audit("finding.acceptance_expired", finding, previous=previous,
                    accepted_until=until.isoformat() if until else None, run_id=run_id)

    def expire_acceptances(self) -> list[int]:
        """Accepted findings whose acceptance ran out go back to open."""
        now = self.clock()
        rows = self.session.scalars(select(Finding).where(
            Finding.status == ACCEPTED, Finding.accepted_until.is_not(None), Finding.accepted_until <= now
        ).order_by(Finding.id)).all()
        for finding in rows:
            self._expire_acceptance(finding, now)
        return [f.id for f in rows]

    # ------------------------------------------------------------------ exemptions
    def add_exemption(self, *, reason: str, rule_id: str | None = None, file_id: str | None = None,
                      folder_id: str | None = None, expires: dt.datetime | None = None,
                      permanent: bool = False) -> Exemption:
        """A people-made exemption: a rule everywhere, or (for one rule or all) a file or a folder tree.

        ``expires=None`` is refused unless ``permanent=True`` says so explicitly."""
        now = self.clock()
        if not (rule_id or file_id or folder_id):
            raise SharescanError("an exemption names a rule, a file or a folder")
        if file_id and folder_id:
            raise SharescanError("an exemption names a file or a folder, not both")
        if not reason.strip():
            raise SharescanError("an exemption needs a reason")
        self._check_expiry("exemption", expires, permanent, now)
        exemption = Exemption(rule_id=rule_id, file_id=file_id, folder_id=folder_id, reason=reason.strip(),
                              actor=self.actor, created_at=now, expires_at=expires)
        self.session.add(exemption)
        self.session.flush()
        audit.record(self.session, "exemption.created", actor=self.actor, subject_type="exemption",
                     subject_id=str(exemption.id),
                     data={"rule_id": rule_id, "file_id": file_id, "folder_id": folder_id, "reason": reason.strip(),
                           "expires": expires.isoformat() if expires else None, "permanent": permanent})
        return exemption

    def get_exemption(self, exemption_id: int) -> Exemption:
        row = self.session.get(Exemption, exemption_id)
        if row is None or row.finding_id is not None:
            raise NotFoundError(f"exemption {exemption_id} not found"
                                + (" (it is a finding acceptance)" if row is not None else ""))
        return row

    def revoke_exemption(self, exemption_id: int, *, reason: str = "") -> Exemption:
        """End an exemption now (kept for the record, with ``revoked_at``); the next scan flags again."""
        row = self.get_exemption(exemption_id)
        if row.revoked_at is not None:
            raise SharescanError(f"exemption {exemption_id} was already revoked at {row.revoked_at.isoformat()}")
        now = self.clock()
        was = exemption_state(row, now)
        row.revoked_at = now
        self.session.flush()
        audit.record(self.session, "exemption.revoked", actor=self.actor, subject_type="exemption",
                     subject_id=str(row.id),
                     data={"rule_id": row.rule_id, "file_id": row.file_id, "folder_id": row.folder_id,
                           "reason": reason.strip() or None, "state_before": was})
        return row

    def exemptions(self, *, include_inactive: bool = False, include_acceptances: bool = False) -> list[Exemption]:
        """People-made exemptions (and with ``include_acceptances`` finding acceptances): in force now, or all."""
        stmt = select(Exemption)
        if not include_acceptances:
            stmt = stmt.where(Exemption.finding_id.is_(None))
        if not include_inactive:
            now = self.clock()
            stmt = stmt.where(Exemption.revoked_at.is_(None),
                              or_(Exemption.expires_at.is_(None), Exemption.expires_at > now))
        return list(self.session.scalars(stmt.order_by(Exemption.id)).all())

    def acceptances(self, finding: Finding) -> list[Exemption]:
        """Every acceptance of this finding's risk, oldest first (expired and revoked ones included)."""
        return list(self.session.scalars(select(Exemption).where(Exemption.finding_id == finding.id)
                                         .order_by(Exemption.id)).all())

    def active_exemptions(self) -> list[StoredExemption]:
        """Rule/file/folder exemptions (not finding acceptances) in force now, for the PolicyEngine."""
        return [StoredExemption(r.rule_id, r.file_id, r.folder_id, r.reason) for r in self.exemptions()]

    # ------------------------------------------------------------------ evidence
    def record_evidence(self, file_id: str, revision: str, content: EvidenceSource) -> int:
        """Replace the evidence rows of this file revision with the summaries of ``content`` (no values).

        Core statements built once (one DELETE, one executemany INSERT), no ORM object per row; evidence
        carries no audit state events. Pending changes are flushed first, as an ORM statement would."""
        now = self.clock()
        rows = [{"file_id": file_id, "revision": revision, "detector": hit.detector, "entity_type": ev.entity_type,
                 "count": ev.count, "distinct_values": ev.distinct_values, "best_score": ev.best_score,
                 "location": ev.first_location[:255], "masked_preview": ev.masked_preview[:255],
                 "value_hash": ev.value_hash, "categories": list(hit.categories), "created_at": now}
                for hit in content.hits for ev in hit.evidence]
        self.session.flush()
        conn = self.session.connection()
        conn.execute(_DELETE_EVIDENCE, {"file_id": file_id, "revision": revision})
        if rows:
            conn.execute(_INSERT_EVIDENCE, rows)
        _forget_evidence(self.session, file_id)
        return len(rows)

    # ------------------------------------------------------------------ queries
    def query(self, flt: FindingFilter) -> Select[Any]:
        stmt = select(Finding)
        if flt.statuses:
            stmt = stmt.where(Finding.status.in_(flt.statuses))
        if flt.severities:
            stmt = stmt.where(Finding.severity.in_(flt.severities))
        if flt.rule_ids:
            stmt = stmt.where(Finding.rule_id.in_(flt.rule_ids))
        if flt.owners:
            stmt = stmt.where(func.lower(Finding.owner_email).in_([o.lower() for o in flt.owners]))
        if flt.exposures:
            stmt = stmt.where(Finding.exposure.in_(flt.exposures))
        if flt.detection_states:
            stmt = stmt.where(Finding.detection_state.in_(flt.detection_states))
        if flt.file_ids:
            stmt = stmt.where(Finding.file_id.in_(flt.file_ids))
        if flt.since is not None:
            stmt = stmt.where(Finding.last_seen >= flt.since)
        stmt = stmt.order_by(Finding.id)
        if flt.limit:
            stmt = stmt.limit(flt.limit)
        return stmt

    def list(self, flt: FindingFilter | None = None) -> list[Finding]:
        rows: list[Finding] = list(self.session.scalars(self.query(flt or FindingFilter())).all())
        return rows

    def count_active_open(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(Finding).where(
            Finding.detection_state == ACTIVE, Finding.status == OPEN)) or 0)


_EVIDENCE = cast(Table, Evidence.__table__)
_DELETE_EVIDENCE = delete(_EVIDENCE).where(_EVIDENCE.c.file_id == bindparam("file_id"),
                                           _EVIDENCE.c.revision == bindparam("revision"))
_INSERT_EVIDENCE = _EVIDENCE.insert()


def _forget_evidence(session: Session, file_id: str) -> None:
    """Evidence objects of this file loaded in the session are stale after the Core statements."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Evidence) and obj.file_id == file_id:
            session.expunge(obj)
        elif isinstance(obj, DriveFileRow) and obj.id == file_id and "evidence" in obj.__dict__:
            session.expire(obj, ["evidence"])


def unfinished_remediation() -> CompoundSelect[Any]:
    """Findings with an action or a step whose process died before recording how it ended."""
    actions = select(RemediationAction.finding_id).where(RemediationAction.status == ActionStatus.STARTED.value,
                                                         RemediationAction.finding_id.is_not(None))
    steps = select(RemediationStep.finding_id).where(RemediationStep.status == StepStatus.STARTED.value)
    return actions.union(steps)


def finding_row(f: Finding) -> dict[str, Any]:
    """A finding as a plain row (CLI tables, JSON)."""
    return {
        "id": f.id, "fingerprint": f.fingerprint[:12], "rule_id": f.rule_id, "severity": f.severity,
        "status": f.status, "state": f.detection_state, "exposure": f.exposure, "file_id": f.file_id,
        "file": f.file.name if f.file is not None else "", "owner": f.owner_email,
        "categories": list(f.data_categories or []), "first_seen": f.first_seen, "last_seen": f.last_seen,
        "exposed_since": f.exposed_since, "remediated_at": f.remediated_at, "recurrences": f.recurrence_count,
    }


def finding_detail(f: Finding) -> dict[str, Any]:
    row = finding_row(f)
    row.update({
        "fingerprint": f.fingerprint, "title": f.title, "principal": f.principal,
        "matched_permissions": f.matched_permissions, "detectors": f.detectors,
        "resolved_at": f.resolved_at, "accepted_until": f.accepted_until, "status_changed_at": f.status_changed_at,
        "web_view_link": f.file.web_view_link if f.file is not None else None,
        "actions": [a.id for a in f.actions],
        "folder_finding_id": f.folder_finding_id, "blast_radius": f.blast_radius,
    })
    return row


def finding_evidence(session: Session, f: Finding) -> list[dict[str, Any]]:
    """What the finding's detectors found in the file's analysed revision: entity types, counts,
    scores, locations, masked previews and a prefix of the keyed hash — never the values."""
    row = f.file
    if row is None or not row.content_revision:
        return []
    detectors = set(f.detectors or {})
    stmt = (select(Evidence).where(Evidence.file_id == row.id, Evidence.revision == row.content_revision)
            .order_by(Evidence.detector, Evidence.entity_type, Evidence.id))
    return [{"detector": e.detector, "entity_type": e.entity_type, "count": e.count,
             "distinct": e.distinct_values, "best_score": round(e.best_score, 2), "location": e.location,
             "masked_preview": e.masked_preview, "value_hash": e.value_hash[:16]}
            for e in session.scalars(stmt) if not detectors or e.detector in detectors]


def exemption_state(e: Exemption, now: dt.datetime) -> str:
    """active | expired | revoked."""
    if e.revoked_at is not None:
        return "revoked"
    if e.expires_at is not None and e.expires_at <= now:
        return "expired"
    return "active"


def exemption_row(e: Exemption, now: dt.datetime) -> dict[str, Any]:
    return {"id": e.id, "kind": "acceptance" if e.finding_id is not None else "exemption",
            "state": exemption_state(e, now), "finding_id": e.finding_id, "rule_id": e.rule_id, "file_id": e.file_id,
            "folder_id": e.folder_id, "reason": e.reason, "actor": e.actor, "created_at": e.created_at,
            "expires_at": e.expires_at, "revoked_at": e.revoked_at}
