"""``sharescan restore ACTION_ID``: re-create exactly what an action removed
(docs/ARCHITECTURE.md, "Remediation safety").

The permission is re-created from the stored ``before`` JSON (type, role, email/domain,
allowFileDiscovery, expirationTime) without notification e-mails (where Drive allows that: user
and group permissions). Refused, with the reason, when the file is gone, its owner changed, an
equivalent permission exists already, or the action was already restored. The restore is itself
a RemediationAction (``restores_action_id``) with an audit event, and the finding goes back to open.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.connectors.google.drive_api import permission_from_api
from scanner.connectors.google.drive_ops import DriveOps, OpsFactory, OwnerUnavailable, google_ops_factory
from scanner.core.errors import NotFoundError, SharescanError
from scanner.core.exposure import classify_permission
from scanner.remediate.actions import ROLE_RANK, grant, is_inherited_only, principal_key, registered
from scanner.remediate.actions import differences as grant_differences
from scanner.remediate.locks import FileLocks
from scanner.store import audit
from scanner.store.models import DriveFileRow, Finding, RemediationAction, utcnow
from scanner.store.repo import FindingRepo

RESTORABLE = frozenset({"revoke", "downgrade", "unpublish", "expire"})


def restorable(kind: str) -> bool:
    return kind in RESTORABLE or (kind in registered() and registered()[kind].restorable)


class RestoreRefused(SharescanError):
    """Restoring would be unsafe or impossible; nothing was changed."""

    exit_code = 5


@dataclass(frozen=True)
class RestorePreview:
    """What a restore would bring back, and the sensitive findings of what it re-exposes: a person
    confirms before a file with sensitive findings is exposed again."""

    action_id: int
    kind: str
    file_id: str
    file_name: str
    #: The exposure classes the restore brings back (e.g. ``anyone_with_link``), widest first.
    re_exposes: tuple[str, ...]
    #: (finding id, rule id, severity, data categories) of the sensitive findings involved.
    sensitive: tuple[tuple[int, str, str, tuple[str, ...]], ...]

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.re_exposes and self.sensitive)


@dataclass(frozen=True)
class RestoreResult:
    action_id: int
    restored_action_id: int
    status: str
    detail: str
    after: dict[str, Any] | None


def create_body(perm: dict[str, Any]) -> dict[str, Any]:
    """The permissions.create body that re-creates ``perm`` (API JSON) exactly."""
    body: dict[str, Any] = {"type": perm["type"], "role": perm["role"]}
    if perm["type"] in ("user", "group"):
        body["emailAddress"] = perm.get("emailAddress")
    if perm["type"] == "domain":
        body["domain"] = perm.get("domain")
    if perm["type"] in ("domain", "anyone"):
        body["allowFileDiscovery"] = bool(perm.get("allowFileDiscovery"))
    if perm.get("expirationTime"):
        body["expirationTime"] = perm["expirationTime"]
    return body


def differences(live: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """How a live permission differs from one recorded before an action (both as the connector returned them)."""
    return grant_differences(grant(live), grant(recorded))


def _same_grant(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return not differences(a, b) and (a.get("expirationTime") or None) == (b.get("expirationTime") or None)


class Restorer:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session], actor: str, *,
                 ops_factory: OpsFactory | None = None, clock: Callable[[], dt.datetime] = utcnow,
                 locks: FileLocks | None = None) -> None:
        self.settings = settings
        #: Shared with the Remediator (``Remediator.restorer()``) so a restore and a remediation of one
        #: file never interleave in this process.
        self.locks = locks or FileLocks()
        self.sessions = sessions
        self.actor = actor
        self._ops_factory = ops_factory
        self.clock = clock

    @property
    def ops_factory(self) -> OpsFactory:
        if self._ops_factory is None:
            self._ops_factory = google_ops_factory(self.settings)
        return self._ops_factory

    def _load(self, session: Session, action_id: int) -> tuple[RemediationAction, DriveFileRow | None]:
        action = session.get(RemediationAction, action_id)
        if action is None:
            raise NotFoundError(f"remediation action {action_id} not found")
        if not restorable(action.action):
            raise RestoreRefused(f"action {action_id} is a {action.action!r} action: nothing to restore")
        if action.mode != "enforce" or action.status != "verified":
            raise RestoreRefused(f"action {action_id} is {action.mode}/{action.status}: it changed nothing "
                                 "that could be restored")
        done = session.scalars(select(RemediationAction).where(
            RemediationAction.restores_action_id == action_id, RemediationAction.status == "restored")).first()
        if done is not None:
            raise RestoreRefused(f"action {action_id} was already restored by action {done.id}")
        return action, session.get(DriveFileRow, action.file_id)

    def preview(self, action_id: int) -> RestorePreview:
        """What restoring this action would re-expose, and the sensitive findings concerned."""
        with self.sessions() as session:
            action, file_row = self._load(session, action_id)
            ids = {action.finding_id} if action.finding_id is not None else set()
            findings = [f for f in session.scalars(select(Finding).where(
                or_(Finding.id.in_(ids), (Finding.file_id == action.file_id) & (Finding.detection_state == "active"))))
                if f.detectors]
            return RestorePreview(
                action_id=action_id, kind=action.action, file_id=action.file_id,
                file_name=file_row.name if file_row is not None else "",
                re_exposes=_re_exposes(action.action, dict(action.before or {}), self._org_domains()),
                sensitive=tuple((f.id, f.rule_id, f.severity, tuple(f.data_categories or ()))
                                for f in sorted(findings, key=lambda f: f.id)))

    def _org_domains(self) -> frozenset[str]:
        return frozenset(d.lower() for d in self.settings.organisation.domains)

    def restore(self, action_id: int, *, reason: str) -> RestoreResult:
        """Undo action ``action_id``; ``reason`` (required) is recorded with the restore."""
        if not reason.strip():
            raise SharescanError("a restore needs a reason (it re-creates the sharing that was removed)")
        with self.sessions() as session:
            action = self._load(session, action_id)[0]
            target = action.target_file_id or action.file_id
        with self.locks.lock(target):
            return self._restore_locked(action_id, reason.strip())

    def _restore_locked(self, action_id: int, reason: str) -> RestoreResult:
        with self.sessions() as session:
            # Loaded again under the lock: another restore may have finished while we waited.
            action, file_row = self._load(session, action_id)
            before = dict(action.before or {})
            after = dict(action.after or {})
            kind = action.action
            target = action.target_file_id or action.file_id
            owner = file_row.owner_email if file_row is not None else None
            drive_id = file_row.drive_id if file_row is not None else None
            finding_id = action.finding_id
        ops = self.ops_factory(owner, drive_id)
        try:
            try:
                live_before, outcome_after, detail = self._restore(ops, kind, target, action.file_id, before, after,
                                                                   owner)
            except OwnerUnavailable as exc:
                raise RestoreRefused(f"nothing restored: {exc}") from exc
            note = ops.acting_note
            if note:
                detail = f"{detail} ({note})"
        except RestoreRefused as exc:
            with self.sessions() as session:
                audit.record(session, "remediation.restore_refused", actor=self.actor,
                             subject_type="remediation_action", subject_id=str(action_id),
                             data={"reason": str(exc), "requested_because": reason})
                session.commit()
            raise
        with self.sessions() as session:
            row = RemediationAction(
                run_id=None, finding_id=finding_id, file_id=action.file_id, action="restore",
                permission_id=action.permission_id, target_file_id=target, mode="enforce", status="restored",
                before=live_before, after=outcome_after, detail=f"{detail}; reason: {reason}", actor=self.actor,
                created_at=self.clock(),
                completed_at=self.clock(), restores_action_id=action_id,
                acted_as=getattr(ops, "acting_subject", None),
            )
            session.add(row)
            session.flush()
            audit.record(session, "remediation.restored", actor=self.actor, subject_type="remediation_action",
                         subject_id=str(row.id), data={"restores_action_id": action_id, "action": kind,
                                                       "file_id": action.file_id, "target_file_id": target,
                                                       "finding_id": finding_id, "detail": detail,
                                                       "reason": reason})
            if finding_id is not None:
                finding = session.get(Finding, finding_id)
                if finding is not None:
                    FindingRepo(session, self.actor, clock=self.clock).reopen(
                        finding, reason=f"restore of action {action_id}")
            session.commit()
            return RestoreResult(row.id, action_id, row.status, detail, outcome_after)

    # ------------------------------------------------------------------ per action kind
    def _check_file(self, ops: DriveOps, file_id: str, before: dict[str, Any], owner: str | None) -> None:
        live = ops.get_file(file_id)
        if live is None:
            raise RestoreRefused(f"file {file_id} no longer exists (or is no longer visible): nothing restored")
        if live.get("trashed"):
            raise RestoreRefused(f"file {file_id} is in the trash: nothing restored")
        owners = [o.get("emailAddress", "").lower() for o in live.get("owners") or []]
        if owner and owners and owner.lower() not in owners:
            raise RestoreRefused(f"file {file_id} changed owner ({owner} -> {', '.join(owners)}): nothing restored")

    def _recreate(self, ops: DriveOps, target: str, perm: dict[str, Any]) -> dict[str, Any]:
        for existing in ops.list_permissions(target):
            if principal_key(grant(existing)) == principal_key(grant(perm)) and not is_inherited_only(existing):
                raise RestoreRefused(
                    f"an equivalent permission already exists on {target} (id {existing.get('id')}, role "
                    f"{existing.get('role')}): nothing restored")
        notify = False if perm["type"] in ("user", "group") else None
        created = ops.create_permission(target, create_body(perm), send_notification=notify)
        live = ops.get_permission(target, str(created.get("id"))) or created
        if not _same_grant(live, perm):
            raise SharescanError(f"restored permission differs from the original: {differences(live, perm)}")
        return live

    def _restore(self, ops: DriveOps, kind: str, target: str, file_id: str, before: dict[str, Any],
                 after: dict[str, Any], owner: str | None) -> tuple[dict[str, Any], dict[str, Any], str]:
        self._check_file(ops, file_id, before, owner)
        if kind == "revoke":
            perm = before["permission"]
            live = self._recreate(ops, target, perm)
            return {"permission": None}, {"permission": live}, f"re-created {perm['type']} {perm['role']} permission"
        if kind == "downgrade":
            perm = before["permission"]
            created = after.get("created")
            domain_before = before.get("domain_permission")
            live = self._recreate(ops, target, perm)
            undone = None
            if created is not None:
                current = ops.get_permission(target, str(created.get("id")))
                if current is not None and not differences(current, created):
                    if domain_before is None:
                        ops.delete_permission(target, str(created.get("id")))
                        undone = "removed the domain permission the downgrade added"
                    elif ROLE_RANK.get(str(domain_before.get("role")), 0) != ROLE_RANK.get(str(current.get("role")), 0):
                        ops.update_permission(target, str(created.get("id")), {"role": domain_before.get("role")})
                        undone = f"domain permission back to {domain_before.get('role')}"
            detail = "re-created the anyone-with-link permission" + (f"; {undone}" if undone else "")
            return {"created": created}, {"permission": live, "domain_permission_undone": undone}, detail
        if kind == "unpublish":
            restored = []
            for rev in before.get("revisions") or []:
                body = {"published": True, "publishAuto": bool(rev.get("publishAuto")),
                        "publishedOutsideDomain": bool(rev.get("publishedOutsideDomain"))}
                restored.append(ops.update_revision(file_id, str(rev["id"]), body))
            return {"revisions": []}, {"revisions": restored}, f"re-published {len(restored)} revision(s)"
        if kind == "expire":
            perm = before["permission"]
            current = ops.get_permission(target, str(perm["id"]))
            if current is None:
                raise RestoreRefused(f"permission {perm['id']} no longer exists on {target}: nothing restored")
            if differences(current, perm):
                raise RestoreRefused(f"permission {perm['id']} changed since the action "
                                     f"({'; '.join(differences(current, perm))}): nothing restored")
            if perm.get("expirationTime"):
                live = ops.update_permission(target, str(perm["id"]), {"expirationTime": perm["expirationTime"]})
            else:
                live = ops.update_permission(target, str(perm["id"]), {}, remove_expiration=True)
            return {"permission": current}, {"permission": live}, "expiry set back to what it was"
        handler = registered().get(kind)
        if handler is not None and handler.restorable:
            done = handler.restore(ops, target, before, after)
            return done.before, done.after, done.detail
        raise RestoreRefused(f"cannot restore a {kind!r} action")


def _re_exposes(kind: str, before: dict[str, Any], org_domains: frozenset[str]) -> tuple[str, ...]:
    """The exposure classes a restore of this action brings back (none when only internal access returns)."""
    if kind == "unpublish":
        return ("published",) if before.get("revisions") else ()
    if kind == "limit_access":
        perms = [p for p in before.get("permissions") or [] if is_inherited_only(p)]
    else:
        perms = [before["permission"]] if before.get("permission") else []
    found = {classify_permission(permission_from_api(p), org_domains) for p in perms}
    external = sorted((e for e in found if e is not None and e.is_external), key=lambda e: e.rank)
    return tuple(e.value for e in external)
