"""SQLAlchemy 2.0 typed models: the whole schema of sharescan's database.

No table holds document text or matched values in clear: evidence rows keep entity types,
counts, scores, locations, masked previews and keyed hashes only.
Alembic migrations under ``migrations/`` must agree with these models (``sharescan db check``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


# --------------------------------------------------------------------------- scans
class ScanRun(Base):
    """One execution of ``sharescan scan``."""

    __tablename__ = "scan_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # full | incremental
    status: Mapped[str] = mapped_column(String(16), index=True)  # running|completed|partial|failed|interrupted
    remediation_mode: Mapped[str] = mapped_column(String(16))  # off | dry-run | enforce
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    hostname: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    #: A run that resumes a crashed one points at it.
    resumed_from_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)

    coverage: Mapped[list[ScanCoverage]] = relationship(back_populates="run", cascade="all, delete-orphan")


class QuotaLedgerEntry(Base):
    """API calls and Google quota units one run spent on one method (``scanner.connectors.google.quota``)."""

    __tablename__ = "quota_ledger"
    __table_args__ = (UniqueConstraint("run_id", "method"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scan_runs.id", ondelete="CASCADE"))
    method: Mapped[str] = mapped_column(String(128))
    calls: Mapped[int] = mapped_column(BigInteger)
    units: Mapped[int] = mapped_column(BigInteger)


class CrawlTarget(Base):
    """A user's My Drive or a shared drive, with its incremental cursor."""

    __tablename__ = "crawl_targets"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The connector this target belongs to.
    provider: Mapped[str] = mapped_column(String(32), default="google", server_default="google")
    kind: Mapped[str] = mapped_column(String(8))  # user | drive
    key: Mapped[str] = mapped_column(String(320))  # email or shared drive id
    name: Mapped[str] = mapped_column(String(512), default="")
    #: Changes API page token recorded at the last complete crawl of this target.
    start_page_token: Mapped[str | None] = mapped_column(String(255))
    last_full_scan_at: Mapped[dt.datetime | None]
    last_scanned_at: Mapped[dt.datetime | None]
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    skip_reason: Mapped[str | None] = mapped_column(Text)


class ScanFileOutcome(Base):
    """Per run and candidate file: what analysing it came to (``scanner.scan.units.FileOutcome``).

    The run's state lives here rather than in one process's memory: a worker writes the row in the same
    transaction as the file's findings, so a re-delivered task finds it and changes nothing twice; the
    run sums these rows and closes only the findings of files whose row says ``evaluated``.
    """

    __tablename__ = "scan_file_outcomes"

    run_id: Mapped[int] = mapped_column(ForeignKey("scan_runs.id", ondelete="CASCADE"), primary_key=True)
    file_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # scanner.scan.units.OutcomeKind
    #: Every rule was evaluated with everything it needed read (its missing findings may close).
    evaluated: Mapped[bool] = mapped_column(Boolean, default=False)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The target whose coverage counts an analysed file: "user" + owner, or "drive" + shared drive id.
    target_kind: Mapped[str | None] = mapped_column(String(16))
    target_key: Mapped[str | None] = mapped_column(String(320))
    nlp_mode: Mapped[str | None] = mapped_column(String(64))


class ScanCoverage(Base):
    """Per run and target: what was seen, skipped and failed, and the resume cursor."""

    __tablename__ = "scan_coverage"
    __table_args__ = (UniqueConstraint("run_id", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("scan_runs.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("crawl_targets.id"))
    status: Mapped[str] = mapped_column(String(16))  # pending | running | done | skipped | failed
    #: Last committed page token of the crawl (files.list or changes.list) for resume.
    cursor: Mapped[str | None] = mapped_column(Text)
    #: Changes page token captured before the crawl began (becomes the target's start token).
    pending_start_token: Mapped[str | None] = mapped_column(String(255))
    files_seen: Mapped[int] = mapped_column(Integer, default=0)
    files_exposed: Mapped[int] = mapped_column(Integer, default=0)
    files_analysed: Mapped[int] = mapped_column(Integer, default=0)
    files_skipped: Mapped[int] = mapped_column(Integer, default=0)
    files_failed: Mapped[int] = mapped_column(Integer, default=0)
    #: Files of this target whose content, publish state or permissions a rule needed and could not be
    #: read, still being retried (pending) or past ``[limits] unreadable_after_attempts`` (unreadable).
    files_pending: Mapped[int] = mapped_column(Integer, default=0)
    files_unreadable: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    #: {"reason": count} for skipped and failed files, plus the target-level reason.
    reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    run: Mapped[ScanRun] = relationship(back_populates="coverage")
    target: Mapped[CrawlTarget] = relationship()


# --------------------------------------------------------------------------- drive snapshot
class DriveFileRow(Base):
    """Latest metadata snapshot of a file (never its content)."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: The connector the file comes from.
    provider: Mapped[str] = mapped_column(String(32), default="google", server_default="google")
    name: Mapped[str] = mapped_column(Text, default="")
    mime_type: Mapped[str] = mapped_column(String(255), default="")
    #: What the item is (scanner.core.models.ItemKind), as its connector said.
    item_kind: Mapped[str] = mapped_column(String(16), default="file", server_default="file")
    owner_email: Mapped[str | None] = mapped_column(String(320), index=True)
    drive_id: Mapped[str | None] = mapped_column(String(128), index=True)
    parents: Mapped[list[Any]] = mapped_column(default=list)
    web_view_link: Mapped[str | None] = mapped_column(Text)
    created_time: Mapped[str | None] = mapped_column(String(40))
    modified_time: Mapped[str | None] = mapped_column(String(40))
    md5_checksum: Mapped[str | None] = mapped_column(String(64))
    head_revision_id: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(BigInteger)
    trashed: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A folder with limited access (Drive's ``inheritedPermissionsDisabled``).
    inherited_permissions_disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Widest exposure class now, and all of them.
    exposure: Mapped[str] = mapped_column(String(32), default="internal", index=True)
    exposure_classes: Mapped[list[Any]] = mapped_column(default=list)
    #: When we first saw it exposed beyond the organisation (cleared when it stops being).
    exposed_since: Mapped[dt.datetime | None]
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))
    #: Set when the file is gone (deleted, or no longer visible to any crawled target).
    removed_at: Mapped[dt.datetime | None]
    #: Content analysis of the revision below: analysed | not_analysed | pending.
    content_status: Mapped[str] = mapped_column(String(16), default="pending")
    content_revision: Mapped[str | None] = mapped_column(String(255))
    content_skip_reason: Mapped[str | None] = mapped_column(Text)
    #: Why it was not analysed, typed (a ``scanner.content.extract_base.SkipKind`` value, e.g. ``zip_bomb``).
    content_skip_kind: Mapped[str | None] = mapped_column(String(32))
    content_analysed_at: Mapped[dt.datetime | None]
    data_categories: Mapped[list[Any]] = mapped_column(default=list)
    #: Detector hits of the analysed revision: {detector: {count, best_score, categories}} (no values),
    #: so an unchanged revision is evaluated again without downloading it.
    content_hits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    nlp_mode: Mapped[str | None] = mapped_column(String(64))
    #: When the publish state (a Docs editor file's revisions) was last read, and the revision it was
    #: read at (``scanner.core.publish.needs_publish_check`` decides when to read it again).
    publish_checked_at: Mapped[dt.datetime | None]
    publish_checked_revision: Mapped[str | None] = mapped_column(String(255))
    #: Drive label ids on the file, of those the crawl asked for (``includeLabels``): rules' and the
    #: configured classification label.
    labels: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")

    permissions: Mapped[list[PermissionRow]] = relationship(
        back_populates="file", cascade="all, delete-orphan", order_by="PermissionRow.permission_id"
    )
    evidence: Mapped[list[Evidence]] = relationship(back_populates="file", cascade="all, delete-orphan")


class PendingRead(Base):
    """Something a rule needs about a file that a run could not read: its content, its publish state or
    its permissions. The file keeps its previous verdict and findings, and every later run (incremental
    ones too) tries again; the row goes when a read succeeds, the file is gone or no rule needs it."""

    __tablename__ = "pending_reads"
    __table_args__ = (UniqueConstraint("file_id", "aspect"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: No foreign key: a new file whose permissions could not be read has no snapshot yet.
    file_id: Mapped[str] = mapped_column(String(128), index=True)
    aspect: Mapped[str] = mapped_column(String(16))  # content | publish_state | permissions
    #: download_failed | export_failed | publish_check_failed | permissions_failed | timeout | no_reader
    reason: Mapped[str] = mapped_column(String(32))
    #: The API method and error (status, reason), never document text.
    detail: Mapped[str] = mapped_column(Text, default="")
    owner_email: Mapped[str | None] = mapped_column(String(320), index=True)
    drive_id: Mapped[str | None] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(Text, default="")
    #: Runs that tried and failed (one per run).
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    #: attempts reached ``[limits] unreadable_after_attempts``: listed as unreadable (still retried).
    unreadable: Mapped[bool] = mapped_column(Boolean, default=False)
    first_failed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_failed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))


class PermissionRow(Base):
    """Latest snapshot of one permission of a file."""

    __tablename__ = "permissions"
    __table_args__ = (UniqueConstraint("file_id", "permission_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), index=True)
    permission_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(32))
    email_address: Mapped[str | None] = mapped_column(String(320))
    domain: Mapped[str | None] = mapped_column(String(255))
    allow_file_discovery: Mapped[bool | None] = mapped_column(Boolean)
    expiration_time: Mapped[str | None] = mapped_column(String(40))
    inherited: Mapped[bool] = mapped_column(Boolean, default=False)
    inherited_from: Mapped[str | None] = mapped_column(String(128))
    #: Every grant of it comes from an ancestor (it can be removed only there).
    inherited_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: ``published``: a form's responder grant (scanner.core.models.PUBLISHED_VIEW).
    view: Mapped[str | None] = mapped_column(String(32))
    exposure: Mapped[str] = mapped_column(String(32))
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)

    file: Mapped[DriveFileRow] = relationship(back_populates="permissions")


class Evidence(Base):
    """What a detector found in a file revision — never the value itself."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), index=True)
    revision: Mapped[str] = mapped_column(String(255), default="")
    detector: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    distinct_values: Mapped[int] = mapped_column(Integer, default=0)
    best_score: Mapped[float] = mapped_column(Float)
    location: Mapped[str] = mapped_column(String(255), default="")
    masked_preview: Mapped[str] = mapped_column(String(255), default="")
    #: HMAC-SHA256 of the normalised value under the installation key (hex).
    value_hash: Mapped[str] = mapped_column(String(64), default="")
    categories: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    file: Mapped[DriveFileRow] = relationship(back_populates="evidence")


# --------------------------------------------------------------------------- findings
class Finding(Base):
    """A rule matched a file. Detection state is set by scans, status by people and actions."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_status_severity", "status", "severity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    #: The connector of the finding's file (part of the fingerprint for providers other than google).
    provider: Mapped[str] = mapped_column(String(32), default="google", server_default="google")
    rule_id: Mapped[str] = mapped_column(String(128), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))  # critical | high | medium | low | info
    file_id: Mapped[str] = mapped_column(ForeignKey("files.id"), index=True)
    owner_email: Mapped[str | None] = mapped_column(String(320), index=True)
    #: For per-permission rules: who the exposure grants access to (e.g. "anyone").
    principal: Mapped[str | None] = mapped_column(String(400))
    detection_state: Mapped[str] = mapped_column(String(16), default="active")  # active | inactive
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|remediated|resolved|accepted
    exposure: Mapped[str] = mapped_column(String(32))  # widest exposure when last detected
    exposure_after: Mapped[str | None] = mapped_column(String(32))
    #: The permissions the exposure filter recorded (ids, principals, exposure) — what actions act on.
    matched_permissions: Mapped[list[Any]] = mapped_column(default=list)
    #: Detector name -> {count, best_score} when last detected; data categories.
    detectors: Mapped[dict[str, Any]] = mapped_column(default=dict)
    data_categories: Mapped[list[Any]] = mapped_column(default=list)
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    exposed_since: Mapped[dt.datetime | None]
    remediated_at: Mapped[dt.datetime | None]
    resolved_at: Mapped[dt.datetime | None]
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    accepted_until: Mapped[dt.datetime | None]
    recurrence_count: Mapped[int] = mapped_column(Integer, default=0)
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))
    #: A file finding whose exposure comes from a folder: the folder's finding (fixing it fixes this one).
    folder_finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"), index=True)
    #: Folder findings: descendants (all, sensitive) and who loses access if the folder is fixed
    #: (``losing_access`` descendants, ``internal_collaborators``), as counts.
    blast_radius: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The file owner's org unit path (Directory ``orgUnitPath``) when last detected: which posture
    #: (sharing settings of that org unit) allowed the exposure.
    org_unit: Mapped[str | None] = mapped_column(String(512), index=True)

    file: Mapped[DriveFileRow] = relationship()
    actions: Mapped[list[RemediationAction]] = relationship(
        back_populates="finding", order_by="RemediationAction.id"
    )


class PostureFinding(Base):
    """A Drive sharing setting of an org unit fails a posture check (``rules/posture``). Same lifecycle as
    file findings: detection state set by scans, status by people (accept). Holds setting names and values
    only; sharescan never changes the setting."""

    __tablename__ = "posture_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: sha256("posture", check id, org unit id): stable across renames of the org unit.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    check_id: Mapped[str] = mapped_column(String(128), index=True)
    title: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(16))
    #: The org unit whose policy (or Google's default, at the root) makes the setting effective.
    org_unit_id: Mapped[str] = mapped_column(String(64))
    org_unit: Mapped[str] = mapped_column(String(512), index=True)
    #: Every org unit path that inherits this effective setting (the source included).
    applies_to: Mapped[list[Any]] = mapped_column(default=list)
    #: Setting type (``drive_and_docs.external_sharing``), the field values the check read, and whether
    #: they are Google's documented default (no policy set anywhere above).
    setting_type: Mapped[str] = mapped_column(String(128))
    observed: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    #: File exposures this setting allows (e.g. ``anyone_with_link``): what links file findings to it.
    allows: Mapped[list[Any]] = mapped_column(default=list)
    #: How the failing setting reads in a sentence ("anyone-with-link sharing is allowed").
    setting_label: Mapped[str] = mapped_column(Text, default="")
    #: {framework: [control ids]} (cis_gws, scuba_gws, ...).
    compliance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    recommendation: Mapped[str] = mapped_column(Text, default="")
    detection_state: Mapped[str] = mapped_column(String(16), default="active")  # active | inactive
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved | accepted
    first_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    accepted_until: Mapped[dt.datetime | None]
    recurrence_count: Mapped[int] = mapped_column(Integer, default=0)
    first_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))


class Exemption(Base):
    """An accepted risk (finding-level) or an exemption (rule/file/folder-level), with expiry."""

    __tablename__ = "exemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"), index=True)
    rule_id: Mapped[str | None] = mapped_column(String(128))
    file_id: Mapped[str | None] = mapped_column(String(128))
    folder_id: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class RemediationAction(Base):
    """One planned or executed change to a file's sharing, with the exact ACL before and after."""

    __tablename__ = "remediation_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"), index=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"), index=True)
    file_id: Mapped[str] = mapped_column(String(128), index=True)
    #: revoke | downgrade | unpublish | expire | notify | restore
    action: Mapped[str] = mapped_column(String(32))
    permission_id: Mapped[str | None] = mapped_column(String(128))
    #: Where the change was (or must be) made: the file, or the ancestor an inherited permission comes from.
    target_file_id: Mapped[str | None] = mapped_column(String(128))
    mode: Mapped[str] = mapped_column(String(16))  # dry-run | enforce
    #: planned | started | applied | verified | already_gone | not_applied | skipped | failed | refused |
    #: restored | unknown (see scanner.remediate.status.ActionStatus)
    status: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    detail: Mapped[str | None] = mapped_column(Text)
    #: Who started the action (the scan's or the operator's identity).
    actor: Mapped[str] = mapped_column(String(320))
    #: The Google identity the change was made as (impersonated owner, shared-drive member or admin).
    acted_as: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[dt.datetime | None]
    #: For restore actions: the action whose change was undone (and the reverse link).
    restores_action_id: Mapped[int | None] = mapped_column(ForeignKey("remediation_actions.id"))
    #: What a plan was decided from (finding, file revision, sharing, rule, mode), hashed: an action that
    #: did not act is recorded once per plan key, not again every night.
    plan_key: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The finding's remediation step this action belongs to (enforced Drive changes only).
    step_id: Mapped[int | None] = mapped_column(ForeignKey("remediation_steps.id"), index=True)
    #: What the action is about to do beyond ``before`` (parameters, e.g. the expiry it sets), written
    #: with the ``started`` intent so an interrupted action can be checked against Drive afterwards.
    intent: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    finding: Mapped[Finding | None] = relationship(back_populates="actions")


class RemediationStep(Base):
    """One finding's enforced actions in one batch (a scan run or a manual ``remediate``), recorded before
    the first Drive change: what was planned, and whether the follow-up (finding status, the owner's
    notice) was done. A step still ``started`` after its process died is finished by reconciliation."""

    __tablename__ = "remediation_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch: Mapped[str] = mapped_column(String(128), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # started | finished
    #: The planned actions (kind, target, permission id, the notice line) and whether to notify.
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]


class Notification(Base):
    """Outbox: a message is written in the same transaction as what caused it, sent later."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("scan_runs.id"))
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # smtp | webhook
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class AuditEvent(Base):
    """Append-only, hash-chained: hash = HMAC-SHA256(audit key, prev_hash + canonical JSON of this event)
    (version 2), or sha256 of the same (version 1, the unkeyed events written before the chain was keyed)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: 1, 2, 3... with no gaps; deleting or reordering rows breaks the chain.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    ts: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32), default="")
    subject_id: Mapped[str] = mapped_column(String(128), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: 1: sha256 link (legacy prefix); 2: HMAC-SHA256 link under the audit key.
    chain_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class RunLock(Base):
    """The run lock on databases without advisory locks (SQLite)."""

    __tablename__ = "run_locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    run_id: Mapped[int | None] = mapped_column(Integer)
    acquired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- exposure dating and watch
class ExposureDating(Base):
    """When a file's current exposure began, who made it, and who reached the file since, from the Drive
    audit log (Admin SDK Reports). Actors are a domain and a keyed hash (the evidence HMAC key); the
    address only when ``[evidence] store_actor_emails``. One row per file: its latest dating."""

    __tablename__ = "exposure_dating"

    file_id: Mapped[str] = mapped_column(ForeignKey("files.id", ondelete="CASCADE"), primary_key=True)
    #: audit_log | before_retention ("since at least" the oldest retained day) | first_seen (no log)
    source: Mapped[str] = mapped_column(String(20))
    exposed_since: Mapped[dt.datetime | None]
    #: The audit ``visibility`` the exposure began with (people_with_link, public_on_the_web, shared_externally).
    visibility: Mapped[str | None] = mapped_column(String(40))
    exposed_by_kind: Mapped[str | None] = mapped_column(String(16))  # insider | outside | system
    exposed_by_domain: Mapped[str | None] = mapped_column(String(255))
    exposed_by_hash: Mapped[str | None] = mapped_column(String(64))
    exposed_by_email: Mapped[str | None] = mapped_column(String(320))
    #: {"anonymous"|"outside"|"insider": {"view": n, "download": n, "copy": n}} inside the window.
    access: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Anonymous and outside accesses together: what breach candidates are ranked by.
    outside_total: Mapped[int] = mapped_column(Integer, default=0)
    outside_domains: Mapped[list[Any]] = mapped_column(default=list)
    #: Distinct outside accounts (by keyed hash).
    outside_actors: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime | None]
    window_end: Mapped[dt.datetime | None]
    events_read: Mapped[int] = mapped_column(Integer, default=0)
    #: The per-file event bound was reached: counts are "at least".
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Why the log was not read (no scope, API error): the dating is ``first_seen``.
    skipped_reason: Mapped[str | None] = mapped_column(Text)
    dated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    run_id: Mapped[int | None] = mapped_column(Integer)


class WatchCursor(Base):
    """``sharescan watch``: how far the Drive audit log has been read, and the events already handled
    inside the overlap window (Google's reporting lag), by their unique id."""

    __tablename__ = "watch_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Time of the newest event handled.
    position: Mapped[dt.datetime | None]
    #: ``time/uniqueQualifier`` of the events handled inside the overlap window.
    seen: Mapped[list[Any]] = mapped_column(default=list)
    polls: Mapped[int] = mapped_column(Integer, default=0)
    last_poll_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
