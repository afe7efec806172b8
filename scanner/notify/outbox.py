"""The outbox: one digest per owner per run and channel, written in the caller's transaction.

Each remediation run (or manual ``sharescan remediate``) has a *batch key*; every notify action
for an owner in that batch adds an item to the same Notification row (``dedupe_key``), so an
owner gets one message however many files changed. An item added with a ``once`` key (one per
remediation step) is added at most once, however often the step is finished again after a crash;
if its batch's digest already went out, it goes in a follow-up digest instead of sending the
first one again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scanner.config import Settings
from scanner.notify.templates import CHANNEL_STYLES, TextStyle, render_digest
from scanner.store.models import CrawlTarget, Notification, utcnow

#: Crawl skip reasons of users whose mailbox nobody reads.
UNREACHABLE_OWNER = ("suspended", "archived")

NOTIFICATION_STATUSES = ("pending", "sent", "failed")


def dedupe_key(batch: str, channel: str, recipient: str) -> str:
    digest = hashlib.sha256(f"{batch}\x00{channel}\x00{recipient.lower()}".encode()).hexdigest()
    return f"digest:{digest}"


class Outbox:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    @property
    def channels(self) -> list[str]:
        n = self.settings.notifications
        return list(n.channels) if n.enabled else []

    def security_contact(self) -> str:
        """``[notifications] cc`` (the first), else the admin subject."""
        fallback = [*self.settings.notifications.cc, self.settings.google.admin_subject]
        return next((r.lower() for r in fallback if r), "")

    def recipient_for(self, owner: str) -> str:
        """The owner, or — when the owner is suspended or archived, or the file has none (shared
        drives) — the security contact, so the notice reaches someone."""
        if not owner:
            return self.security_contact()
        target = self.session.scalars(select(CrawlTarget).where(CrawlTarget.kind == "user",
                                                                CrawlTarget.key == owner.lower())).first()
        if target is None or not (target.skip_reason or "").startswith(UNREACHABLE_OWNER):
            return owner.lower()
        return self.security_contact() or owner.lower()

    def add(self, *, batch: str, run_id: int | None, owner: str, item: dict[str, Any],
            shared_drive: str | None = None, once: str | None = None) -> list[Notification]:
        """Add one file's item to the owner's digest on every channel (created on first use); a
        shared-drive item (no owner) goes to the security contact, naming the drive. With ``once``,
        a digest already holding an item with that key is returned unchanged."""
        out: list[Notification] = []
        recipient = self.recipient_for(owner)
        if not recipient:
            return out
        if not owner and shared_drive:
            item = {**item, "shared_drive": shared_drive}
        elif recipient != owner.lower():
            item = {**item, "on_behalf_of": owner.lower()}
        if once is not None:
            item = {**item, "once": once}
        for channel in self.channels:
            key = dedupe_key(batch, channel, recipient)
            row = self.session.scalars(select(Notification).where(Notification.dedupe_key == key)).first()
            if once is not None:
                late_key = dedupe_key(f"{batch}:late", channel, recipient)
                late = self.session.scalars(select(Notification).where(Notification.dedupe_key == late_key)).first()
                done = next((r for r in (row, late) if r is not None and _holds(r, once)), None)
                if done is not None:
                    out.append(done)
                    continue
                if row is not None and row.status == "sent":  # never send the first digest twice
                    key, row = late_key, late
            if row is None:
                row = Notification(run_id=run_id, dedupe_key=key, channel=channel, recipient=recipient,
                                   subject="", body="", payload={"batch": batch, "items": []}, status="pending",
                                   attempts=0, created_at=utcnow(), next_attempt_at=None)
                self.session.add(row)
            items = [i for i in row.payload.get("items", []) if i.get("finding_id") != item.get("finding_id")]
            items.append(item)
            row.payload = {**row.payload, "items": items}
            row.subject, row.body = render_digest(recipient, items, CHANNEL_STYLES.get(channel, TextStyle.PLAIN))
            if row.status == "sent":
                # A new item after the digest went out: send an update.
                row.status, row.attempts, row.sent_at = "pending", 0, None
            out.append(row)
        self.session.flush()
        return out

    def digest_for_run(self, run_id: int) -> list[Notification]:
        return list(self.session.scalars(select(Notification).where(Notification.run_id == run_id)
                                         .order_by(Notification.id)).all())


def _holds(row: Notification, once: str) -> bool:
    return any(i.get("once") == once for i in (row.payload or {}).get("items", []))


def list_notifications(session: Session, *, statuses: Sequence[str] = (),
                       limit: int | None = None) -> list[Notification]:
    """Outbox rows, oldest first, optionally only these statuses (pending | sent | failed)."""
    stmt = select(Notification)
    if statuses:
        stmt = stmt.where(Notification.status.in_(list(statuses)))
    stmt = stmt.order_by(Notification.id)
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt).all())


def notification_row(n: Notification) -> dict[str, Any]:
    """One outbox row for listings: who, how, state — never the message body."""
    return {"id": n.id, "created_at": n.created_at, "run_id": n.run_id, "channel": n.channel,
            "recipient": n.recipient, "status": n.status, "attempts": n.attempts,
            "items": len((n.payload or {}).get("items", [])), "subject": n.subject, "last_error": n.last_error,
            "next_attempt_at": n.next_attempt_at, "sent_at": n.sent_at}
