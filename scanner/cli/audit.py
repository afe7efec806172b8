"""``sharescan audit verify|list``: check the hash chain, read the log."""

from __future__ import annotations

import click

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render, render_record
from scanner.errors import AuditChainBroken
from scanner.export.auditlog import list_events, report_record
from scanner.store.audit import verify_chain
from scanner.timeparse import parse_since


@click.group("audit")
def audit_group() -> None:
    """Verify and read the append-only, hash-chained audit log."""


@audit_group.command("verify")
@format_option(choices=("table", "json"))
@pass_app
def verify_cmd(app: App, fmt: str) -> None:
    """Recompute the hash chain; exit non-zero naming the first event that does not fit."""
    with app.sessions() as session:
        report = verify_chain(session)
    record = report_record(report)
    render_record(record, fmt, title="audit log")
    if not report.ok:
        assert report.problem is not None
        raise AuditChainBroken(
            f"audit log chain broken at event seq {report.problem.seq} (id {report.problem.event_id}): "
            f"{report.problem.problem}"
        )


@audit_group.command("list")
@click.option("--since", help="Only events at or after this time (ISO date/time, or an age like 7d, 12h).")
@click.option("--type", "types", multiple=True,
              help="Only this event type (repeatable; 'finding.' or 'finding.*' for a prefix).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many events.")
@format_option()
@pass_app
def list_cmd(app: App, since: str | None, types: tuple[str, ...], limit: int | None, fmt: str) -> None:
    """List audit events in chain order."""
    with app.sessions() as session:
        events = list_events(session, since=parse_since(since), types=types, limit=limit)
    rows = [e.as_row() for e in events]
    columns = ["seq", "ts", "actor", "type", "subject", "data"] + (["hash"] if fmt != "table" else [])
    render(rows, columns, fmt, title="audit events", empty="no audit events")


COMMANDS: list[click.Command] = [audit_group]
