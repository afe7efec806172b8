"""Justify or revoke: the owner is asked first, and may keep the sharing with a reason until a date.

``justify: 14d`` in a rule (enforce mode) sends the owner one request (a ``justify`` action: a digest
item with the deadline and a signed token) and holds the rule's changes until the deadline. The owner —
or the security team, with the token the owner received — records the justification with
``sharescan findings justify FINDING --token T --reason ... --until DATE``: an acceptance of the finding
whose actor is the owner. Without it, the changes run at the first scan after the deadline.

The token is an HMAC of (finding, owner, deadline) under the installation's evidence key: it proves the
justification answers that request, for that owner.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

from sqlalchemy.orm import Session

from scanner.config import Settings
from scanner.core.errors import SharescanError
from scanner.keys import ensure_key
from scanner.notify.outbox import Outbox
from scanner.remediate.plan import PlannedAction
from scanner.remediate.quiet import justify_deadlines, justify_request
from scanner.store.models import Exemption, Finding
from scanner.store.repo import OPEN, FindingRepo

#: The longest an owner may keep a justified sharing before it is reviewed again.
MAX_JUSTIFICATION = dt.timedelta(days=365)
TOKEN_CHARS = 32


class JustifyError(SharescanError):
    """The justification does not answer a request (no request, wrong token, bad date)."""


def token(key: bytes, finding_id: int, owner: str, deadline: str) -> str:
    message = f"sharescan-justify\x00{finding_id}\x00{owner.lower()}\x00{deadline}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:TOKEN_CHARS]


def notice_extra(settings: Settings, action: PlannedAction, finding: Finding) -> dict[str, Any]:
    """What a justify request adds to the owner's digest item: the deadline, the token and the command."""
    if action.action != "justify" or "deadline" not in action.params:
        return {}
    deadline = str(action.params["deadline"])
    signed = token(ensure_key(settings.evidence_key_path), finding.id, finding.owner_email or "", deadline)
    return {"justify": {"deadline": deadline, "token": signed,
                        "command": f"sharescan findings justify {finding.id} --token {signed} "
                                   "--reason 'why this sharing is needed' --until YYYY-MM-DD"}}


def notice_record(action: PlannedAction) -> dict[str, Any]:
    """What the justify action row keeps (the deadline its holds wait for)."""
    if action.action == "justify" and "deadline" in action.params:
        return {"deadline": action.params["deadline"]}
    return {}


def justify(session: Session, settings: Settings, finding: Finding, *, given_token: str, reason: str,
            until: dt.datetime, now: dt.datetime) -> Exemption:
    """Record the owner's justification: the finding is accepted until ``until``, actor = the owner.

    Refused unless the finding is open with a request still running, the token is that request's and the
    date is in the future and at most a year ahead."""
    if finding.status != OPEN:
        raise JustifyError(f"finding {finding.id} is {finding.status}: nothing to justify")
    request = justify_request(session, finding.id)
    deadline = justify_deadlines(session, [finding.id]).get(finding.id)
    if request is None or deadline is None:
        raise JustifyError(f"finding {finding.id}: its owner was not asked to justify the sharing")
    if now >= deadline:
        raise JustifyError(f"finding {finding.id}: the time to justify ended at {deadline.isoformat()}")
    expected = token(ensure_key(settings.evidence_key_path), finding.id, finding.owner_email or "",
                     str((request.after or {}).get("deadline")))
    if not hmac.compare_digest(expected, given_token.strip().lower()):
        raise JustifyError(f"finding {finding.id}: the token does not match the request sent to its owner")
    if until <= now or until - now > MAX_JUSTIFICATION:
        raise JustifyError("--until: a date in the future, at most a year ahead")
    # a shared-drive item has no owner: its request went to the security contact, who answers for it
    owner = finding.owner_email or Outbox(session, settings).security_contact()
    return FindingRepo(session, owner, clock=lambda: now).accept(finding, reason=reason, expires=until)
