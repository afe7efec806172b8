"""``sharescan notify list|deliver`` — the owner-notification outbox (database + SMTP/webhook, no Google scopes)."""

from __future__ import annotations

import click

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render
from scanner.core.errors import SharescanError
from scanner.notify.deliver import Deliverer
from scanner.notify.outbox import NOTIFICATION_STATUSES, list_notifications, notification_row

COLUMNS = ["id", "created_at", "run_id", "channel", "recipient", "status", "attempts", "items", "last_error",
           "next_attempt_at", "sent_at"]


class DeliveryFailed(SharescanError):
    """Some messages could not be delivered (they stay in the outbox as failed)."""

    exit_code = 1


@click.group("notify")
def notify() -> None:
    """Inspect and flush the owner-notification outbox."""


@notify.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(NOTIFICATION_STATUSES),
              help="Only messages in this state (repeatable).")
@click.option("--limit", type=int, default=None)
@format_option()
@pass_app
def notify_list(app: App, statuses: tuple[str, ...], limit: int | None, fmt: str) -> None:
    """List outbox messages (oldest first). Scopes: none (reads the database)."""
    with app.sessions() as session:
        rows = [notification_row(n) for n in list_notifications(session, statuses=statuses, limit=limit)]
    render(rows, COLUMNS, fmt, title="notifications", empty="no notifications")


@notify.command("deliver")
@click.option("--retry-failed", is_flag=True,
              help="Also send messages that used up their attempts (e.g. after fixing [notifications.smtp]).")
@click.option("--limit", type=int, default=500, show_default=True)
@pass_app
def notify_deliver(app: App, retry_failed: bool, limit: int) -> None:
    """Send every due message now. Exit code 1 when some failed for good. Scopes: none."""
    with app.sessions() as session:
        report = Deliverer(app.settings, actor=app.actor).deliver(session, retry_failed=retry_failed, limit=limit)
    click.echo(f"sent {len(report.sent)}, retrying later {len(report.retrying)}, failed {len(report.failed)}")
    if report.failed:
        raise DeliveryFailed(f"{len(report.failed)} message(s) failed (ids {', '.join(map(str, report.failed))}); "
                             "see `sharescan notify list --status failed`, fix the channel, then "
                             "`sharescan notify deliver --retry-failed`")


COMMANDS: list[click.Command] = [notify]
