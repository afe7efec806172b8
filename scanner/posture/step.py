"""The posture step of a scan: one call from the scan pipeline (``scanner.run``).

Reads the Drive sharing settings (optional: a missing scope or a non-super-admin subject makes the step
``skipped`` with the reason, and changes nothing), records posture findings and gives every active file
finding its owner's org unit. Never fails the scan.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.connectors.google import directory
from scanner.connectors.google.client import GoogleCallError, GoogleClients
from scanner.posture.checks import load_checks
from scanner.posture.reader import PostureUnavailable, read_posture
from scanner.posture.service import PostureOutcome, PostureService, PostureStatus
from scanner.store.models import utcnow

log = logging.getLogger(__name__)


def run_posture(settings: Settings, sessions: sessionmaker[Session], actor: str, clients: GoogleClients,
                run_id: int | None, *, clock: Callable[[], dt.datetime] = utcnow) -> PostureOutcome:
    if not settings.posture.enabled:
        return PostureOutcome(PostureStatus.DISABLED, reason="[posture] enabled = false")
    checks = load_checks(settings.posture.directories)  # a bad check file is a configuration error: raise
    subject = settings.google.admin_subject
    try:
        snapshot = read_posture(clients, subject, settings.organisation.customer_id)
    except PostureUnavailable as exc:
        log.warning("posture skipped: %s (the scanning key needs the scopes cloud-identity.policies.readonly "
                    "and admin.directory.orgunit.readonly for %s, a super administrator)", exc, subject)
        return PostureOutcome(PostureStatus.SKIPPED, reason=str(exc))
    try:
        owners = {u.email.lower(): u.org_unit for u in directory.list_users(clients, settings)}
    except GoogleCallError as exc:
        log.warning("file findings not linked to posture: cannot list users: %s", exc.reason or exc)
        owners = {}
    outcome = PostureService(sessions, actor, checks, clock=clock).record(snapshot, run_id, owners)
    log.info("posture: %d org units, %d active posture findings (%d new, %d resolved)", outcome.org_units,
             outcome.active, outcome.new, outcome.resolved)
    return outcome

