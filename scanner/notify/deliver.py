"""Send what the outbox holds. A failure never loses a message: it stays pending with last_error and
the next attempt time (exponential backoff); after ``max_attempts`` it is marked failed and kept
(``deliver(retry_failed=True)`` tries those again)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from scanner.config import Settings
from scanner.notify.senders import Sender, SendError, SmtpSender, WebhookSender
from scanner.store import audit
from scanner.store.models import Notification, utcnow

BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP_SECONDS = 3600


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)))


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


class Deliverer:
    def __init__(self, settings: Settings, *, senders: Mapping[str, Sender] | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, actor: str = "sharescan") -> None:
        self.settings = settings
        n = settings.notifications
        self.senders: Mapping[str, Sender] = senders if senders is not None else {
            "smtp": SmtpSender(n.smtp, cc=n.cc),
            "webhook": WebhookSender(n.webhook),
        }
        self.clock = clock
        self.actor = actor

    def due(self, session: Session, *, retry_failed: bool = False, limit: int = 500) -> list[Notification]:
        now = self.clock()
        statuses = ["pending", "failed"] if retry_failed else ["pending"]
        stmt = select(Notification).where(Notification.status.in_(statuses))
        if not retry_failed:
            stmt = stmt.where(or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now))
        return list(session.scalars(stmt.order_by(Notification.id).limit(limit)).all())

    def deliver(self, session: Session, *, retry_failed: bool = False, limit: int = 500) -> DeliveryReport:
        """Send every due message; commits after each one (so a crash never re-sends a sent one twice)."""
        report = DeliveryReport()
        ids = [n.id for n in self.due(session, retry_failed=retry_failed, limit=limit)]
        session.commit()
        max_attempts = self.settings.notifications.max_attempts
        for nid in ids:
            row = session.get(Notification, nid)
            if row is None or row.status == "sent":
                continue
            if row.status == "failed":
                row.attempts = 0
            sender = self.senders.get(row.channel)
            try:
                if sender is None:
                    raise SendError(f"no sender for channel {row.channel!r}")
                sender.send(row.recipient, row.subject, row.body)
            except SendError as exc:
                row.attempts += 1
                row.last_error = str(exc)[:2000]
                if row.attempts >= max_attempts:
                    row.status = "failed"
                    row.next_attempt_at = None
                    report.failed.append(row.id)
                    audit.record(session, "notification.failed", actor=self.actor, subject_type="notification",
                                 subject_id=str(row.id), data={"channel": row.channel, "attempts": row.attempts,
                                                               "error": row.last_error})
                else:
                    row.status = "pending"
                    row.next_attempt_at = self.clock() + backoff(row.attempts)
                    report.retrying.append(row.id)
                session.commit()
                continue
            row.attempts += 1
            row.status = "sent"
            row.sent_at = self.clock()
            row.last_error = None
            row.next_attempt_at = None
            audit.record(session, "notification.sent", actor=self.actor, subject_type="notification",
                         subject_id=str(row.id), data={"channel": row.channel, "recipient": row.recipient,
                                                       "items": len(row.payload.get("items", []))})
            session.commit()
            report.sent.append(row.id)
        return report
