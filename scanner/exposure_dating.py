"""Exposure dating: when a file's exposure began, who made it, and who reached the file since.

Reads each exposed file's Drive audit events (:mod:`scanner.connectors.google.reports`, filtered by ``doc_id``,
bounded per run) and records, per file, an :class:`~scanner.store.models.ExposureDating`:

- ``exposed_since`` and its :class:`DatingSource`: ``audit_log`` (the sharing change that opened the file
  outside is in the log), ``before_retention`` (exposed now, and no change in Google's 180 days of log
  opened it: exposed *since at least* the oldest retained day), or ``first_seen`` (the log could not be read
  — no ``admin.reports.audit.readonly`` scope, an API error — or does not show the exposure yet: the date
  sharescan first saw it, and ``skipped_reason`` says why);
- who made the change: an :class:`Actor` (kind, domain, keyed hash; the address only with
  ``[evidence] store_actor_emails``);
- inside the window, views/downloads/copies by anonymous viewers, by outside accounts (with their
  domains) and by insiders.

The findings on a dated file take the audit date as their ``exposed_since`` when it is earlier (a state
change the audit chain records). :func:`date_exposure` is the pure core (no I/O, no clock).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.connectors.google.client import REPORTS_AUDIT_SCOPE
from scanner.connectors.google.reports import RETENTION, AuditRecord, DriveAuditLog
from scanner.core.errors import GoogleApiError
from scanner.store.models import DriveFileRow, ExposureDating, Finding, utcnow

log = logging.getLogger(__name__)


class DatingSource(StrEnum):
    AUDIT_LOG = "audit_log"
    BEFORE_RETENTION = "before_retention"
    FIRST_SEEN = "first_seen"


class ActorKind(StrEnum):
    ANONYMOUS = "anonymous"
    OUTSIDE = "outside"
    INSIDER = "insider"
    SYSTEM = "system"


class Reach(StrEnum):
    """Was the file reached from outside while exposed?"""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"  # no audit log for the window


#: Audit ``visibility`` values that open a file beyond the organisation.
OUTSIDE_VISIBILITIES = frozenset({"people_with_link", "public_on_the_web", "shared_externally"})
#: Sharing events that carry ``visibility`` / ``old_visibility`` (and their inherited fan-out).
_SHARING = ("change_document_visibility", "change_document_access_scope", "change_user_access", "publish_change")
SHARING_EVENTS = frozenset({*_SHARING, *(f"{n}_hierarchy_reconciled" for n in _SHARING)})
#: Access events counted, and the kind they count as.
ACCESS_EVENTS = {"view": "view", "preview": "view", "download": "download", "copy": "copy"}
ACCESS_KINDS = ("view", "download", "copy")
#: Files whose exposure makes them worth dating (Drive exposure classes).
DATED_EXPOSURES = ("public", "anyone_with_link", "published", "external_domain", "external_group", "external_user")


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    domain: str | None = None
    hash: str | None = None
    email: str | None = None

    def label(self) -> str:
        """What a person reads: the address when stored, else ``someone@domain (#abcd1234)``."""
        if self.kind in (ActorKind.ANONYMOUS, ActorKind.SYSTEM):
            return str(self.kind)
        if self.email:
            return self.email
        return f"someone@{self.domain} (#{(self.hash or '')[:8]})"


class ActorHasher:
    """Audit-log identities are personal data: a domain and a keyed hash (HMAC-SHA256 under the evidence
    key), the address itself only when the installation chose to keep it."""

    def __init__(self, key: bytes, org_domains: Iterable[str], *, keep_emails: bool = False) -> None:
        self._key = key
        self.org_domains = frozenset(d.lower() for d in org_domains)
        self.keep_emails = keep_emails

    def digest(self, email: str) -> str:
        return hmac.new(self._key, b"drive-actor\x00" + email.lower().encode(), hashlib.sha256).hexdigest()

    def actor(self, record: AuditRecord) -> Actor:
        if record.actor_kind == "anonymous":
            return Actor(ActorKind.ANONYMOUS)
        if not record.actor_email:
            return Actor(ActorKind.SYSTEM)
        email = record.actor_email.lower()
        domain = email.rsplit("@", 1)[-1]
        kind = ActorKind.INSIDER if domain in self.org_domains else ActorKind.OUTSIDE
        return Actor(kind, domain, self.digest(email), email if self.keep_emails else None)


@dataclass
class Dating:
    """The pure result for one file (what :class:`ExposureDating` stores)."""

    source: DatingSource
    exposed_since: dt.datetime | None
    visibility: str | None = None
    exposed_by: Actor | None = None
    #: actor kind -> access kind -> count
    access: dict[str, dict[str, int]] = field(default_factory=dict)
    outside_domains: list[str] = field(default_factory=list)
    outside_actors: int = 0
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    events_read: int = 0
    truncated: bool = False
    skipped_reason: str | None = None

    @property
    def outside_total(self) -> int:
        return sum(sum(self.access.get(k, {}).values()) for k in (ActorKind.ANONYMOUS, ActorKind.OUTSIDE))


def _outside(visibility: str | None) -> bool:
    return (visibility or "") in OUTSIDE_VISIBILITIES


def date_exposure(records: Sequence[AuditRecord], *, now: dt.datetime, hasher: ActorHasher,
                  first_seen: dt.datetime | None, truncated: bool = False) -> Dating:
    """Date the current exposure of one file from its audit events (any order; all of the same file).

    The file is exposed now (the caller knows from Drive). Walking the sharing events oldest first, the
    exposure began at the last change that took the file from an inside visibility to an outside one; if
    no retained change did, it began before the retention window (``before_retention``). If the log's
    last word is that the file is not exposed (the reporting lag hides the newest change), the date is
    ``first_seen`` with that reason. Accesses are counted from the start of the window."""
    ordered = sorted(records, key=lambda r: (r.time, r.unique_id))
    floor = now - RETENTION
    start: AuditRecord | None = None
    exposed: bool | None = None  # unknown until the first sharing event
    for r in ordered:
        if r.name not in SHARING_EVENTS:
            continue
        new, old = r.text("visibility"), r.text("old_visibility")
        if exposed is None:
            exposed = _outside(old)
        if _outside(new) and not exposed:
            start = r
        exposed = _outside(new)
    if exposed is False:
        since = first_seen
        dating = Dating(DatingSource.FIRST_SEEN, since, skipped_reason="the audit log does not show the file "
                        "exposed yet (Google's reporting lag)")
    elif start is not None:
        dating = Dating(DatingSource.AUDIT_LOG, start.time, visibility=start.text("visibility"),
                        exposed_by=hasher.actor(start))
    else:
        dating = Dating(DatingSource.BEFORE_RETENTION, floor)
        # what the oldest retained event says the file's visibility was
        seen = next((r.text("old_visibility") or r.text("visibility") for r in ordered
                     if r.text("old_visibility") or r.text("visibility")), None)
        dating.visibility = seen
    window_start = dating.exposed_since or floor
    counts: dict[str, Counter[str]] = {k: Counter() for k in (ActorKind.ANONYMOUS, ActorKind.OUTSIDE,
                                                              ActorKind.INSIDER)}
    domains: set[str] = set()
    outsiders: set[str] = set()
    for r in ordered:
        kind = ACCESS_EVENTS.get(r.name)
        if kind is None or r.time < window_start:
            continue
        actor = hasher.actor(r)
        if actor.kind == ActorKind.SYSTEM:
            continue
        counts[actor.kind][kind] += 1
        if actor.kind == ActorKind.OUTSIDE:
            domains.add(actor.domain or "")
            outsiders.add(actor.hash or "")
    dating.access = {str(k): {a: c[a] for a in ACCESS_KINDS} for k, c in counts.items()}
    dating.outside_domains = sorted(domains)
    dating.outside_actors = len(outsiders)
    dating.window_start, dating.window_end = window_start, now
    dating.events_read = len(records)
    dating.truncated = truncated
    return dating


def unavailable(reason: str, first_seen: dt.datetime | None, now: dt.datetime) -> Dating:
    return Dating(DatingSource.FIRST_SEEN, first_seen, window_start=first_seen, window_end=now,
                  skipped_reason=reason)


def reach(row: ExposureDating | None) -> Reach:
    if row is None or row.source == DatingSource.FIRST_SEEN:
        return Reach.UNKNOWN
    return Reach.YES if row.outside_total else Reach.NO


def store(session: Session, file_id: str, dating: Dating, *, run_id: int | None, now: dt.datetime) -> ExposureDating:
    row = session.get(ExposureDating, file_id) or ExposureDating(file_id=file_id)
    actor = dating.exposed_by
    row.source = str(dating.source)
    row.exposed_since = dating.exposed_since
    row.visibility = dating.visibility
    row.exposed_by_kind = str(actor.kind) if actor else None
    row.exposed_by_domain = actor.domain if actor else None
    row.exposed_by_hash = actor.hash if actor else None
    row.exposed_by_email = actor.email if actor else None
    row.access = dating.access
    row.outside_total = dating.outside_total
    row.outside_domains = dating.outside_domains
    row.outside_actors = dating.outside_actors
    row.window_start, row.window_end = dating.window_start, dating.window_end
    row.events_read, row.truncated = dating.events_read, dating.truncated
    row.skipped_reason = dating.skipped_reason
    row.dated_at, row.run_id = now, run_id
    session.add(row)
    if dating.source != DatingSource.FIRST_SEEN and dating.exposed_since is not None:
        for finding in session.scalars(select(Finding).where(Finding.file_id == file_id,
                                                             Finding.detection_state == "active")):
            if finding.exposed_since is None or dating.exposed_since < finding.exposed_since:
                finding.exposed_since = dating.exposed_since
    return row


@dataclass
class DatingReport:
    dated: Counter[str] = field(default_factory=Counter)
    #: Why dating was skipped for the run (no scope, disabled), if it was.
    skipped: str | None = None
    files: int = 0
    api_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"files": self.files, "by_source": dict(sorted(self.dated.items())), "skipped": self.skipped,
                "api_calls": self.api_calls}


def files_to_date(session: Session, limit: int, only: Sequence[str] | None = None) -> list[str]:
    """Exposed files with active findings: never dated first, then the longest since their dating."""
    has_finding = select(Finding.id).where(Finding.file_id == DriveFileRow.id,
                                           Finding.detection_state == "active").exists()
    query = (select(DriveFileRow.id)
             .outerjoin(ExposureDating, ExposureDating.file_id == DriveFileRow.id)
             .where(has_finding, DriveFileRow.removed_at.is_(None), DriveFileRow.exposure.in_(DATED_EXPOSURES)))
    if only is not None:
        query = query.where(DriveFileRow.id.in_(list(only)))
    # ordered and cut in SQL: the files of one run, not every exposed file (docs/ARCHITECTURE.md, "Nightly cost")
    return list(session.scalars(query.order_by(ExposureDating.dated_at.is_not(None), ExposureDating.dated_at,
                                               DriveFileRow.id).limit(limit)))


class ExposureDater:
    """Dates exposed files with findings, through the audit log (bounded per run)."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], clients: Any, *,
                 key: bytes, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.settings = settings
        self.sessions = sessions
        self.audit = DriveAuditLog(clients, settings)
        self.hasher = ActorHasher(key, settings.organisation.domains,
                                  keep_emails=settings.evidence.store_actor_emails)
        self.clock = clock

    def run(self, run_id: int | None, only: Sequence[str] | None = None) -> DatingReport:
        report = DatingReport()
        cfg = self.settings.exposure
        with self.sessions() as s:
            ids = files_to_date(s, cfg.max_files_per_run, only)
        if not cfg.dating:
            report.skipped = "disabled ([exposure] dating = false)"
        for n, file_id in enumerate(ids):
            now = self.clock()
            with self.sessions() as s:
                row = s.get(DriveFileRow, file_id)
                first_seen = _first_exposed(s, row) if row is not None else None
            if report.skipped:
                dating = unavailable(report.skipped, first_seen, now)
            else:
                try:
                    page = self.audit.for_file(file_id, now=now, max_events=cfg.max_events_per_file)
                    report.api_calls += 1 + len(page.records) // 1000
                    dating = date_exposure(page.records, now=now, hasher=self.hasher, first_seen=first_seen,
                                           truncated=page.truncated)
                except GoogleApiError as exc:
                    reason = _why(exc)
                    if _denied(exc):
                        report.skipped = reason  # the same for every file: stop asking
                    log.warning("exposure dating of %s skipped: %s", file_id, reason)
                    dating = unavailable(reason, first_seen, now)
            with self.sessions.begin() as s:
                if s.get(DriveFileRow, file_id) is not None:
                    store(s, file_id, dating, run_id=run_id, now=now)
            report.dated[str(dating.source)] += 1
            report.files = n + 1
        return report


def _first_exposed(session: Session, row: DriveFileRow) -> dt.datetime | None:
    first = session.scalar(select(Finding.first_seen).where(Finding.file_id == row.id)
                           .order_by(Finding.first_seen).limit(1))
    return row.exposed_since or first


def _denied(exc: GoogleApiError) -> bool:
    """The key or the admin may not read the audit log (the same answer for every file)."""
    reason = str(getattr(exc, "reason", "") or "")
    return getattr(exc, "status", None) in (401, 403) or reason in ("unauthorized_client", "access_denied") or \
        "unauthorized_client" in str(exc)


def _why(exc: GoogleApiError) -> str:
    text = " ".join(str(exc).split())[:300]
    if _denied(exc):
        return ("the Drive audit log could not be read: the scanning key needs the scope "
                f"{REPORTS_AUDIT_SCOPE} for the admin subject (domain-wide delegation) — {text}")
    return "the Drive audit log could not be read: " + text
