"""``sharescan actions list|show`` — the remediation record (database only, no scopes)."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render, render_record
from scanner.core.errors import NotFoundError
from scanner.store.models import RemediationAction

COLUMNS = ["id", "created_at", "run_id", "finding_id", "action", "mode", "status", "file_id", "permission_id",
           "target_file_id", "detail"]


def action_row(a: RemediationAction) -> dict[str, Any]:
    return {"id": a.id, "created_at": a.created_at, "run_id": a.run_id, "finding_id": a.finding_id,
            "action": a.action, "mode": a.mode, "status": a.status, "file_id": a.file_id,
            "permission_id": a.permission_id, "target_file_id": a.target_file_id, "detail": a.detail,
            "actor": a.actor, "completed_at": a.completed_at, "restores_action_id": a.restores_action_id}


@click.group("actions")
def actions_group() -> None:
    """The remediation actions taken or planned, with the exact permission JSON before and after."""


@actions_group.command("list")
@click.option("--run", "run_id", type=int, help="Only this scan run.")
@click.option("--finding", "finding_id", type=int, help="Only this finding.")
@click.option("--status", "statuses", multiple=True, help="planned, verified, failed, skipped, refused...")
@click.option("--mode", type=click.Choice(["dry-run", "enforce"]))
@click.option("--limit", type=int, default=200, show_default=True)
@format_option()
@pass_app
def actions_list(app: App, run_id: int | None, finding_id: int | None, statuses: tuple[str, ...],
                 mode: str | None, limit: int, fmt: str) -> None:
    """List remediation actions (newest first). Scopes: none."""
    stmt = select(RemediationAction)
    if run_id is not None:
        stmt = stmt.where(RemediationAction.run_id == run_id)
    if finding_id is not None:
        stmt = stmt.where(RemediationAction.finding_id == finding_id)
    if statuses:
        stmt = stmt.where(RemediationAction.status.in_(statuses))
    if mode:
        stmt = stmt.where(RemediationAction.mode == mode)
    with app.sessions() as session:
        rows = [action_row(a) for a in session.scalars(stmt.order_by(RemediationAction.id.desc()).limit(limit))]
    render(rows, COLUMNS, fmt, title="remediation actions", empty="no actions")


@actions_group.command("show")
@click.argument("action_id", type=int)
@format_option(choices=("table", "json"))
@pass_app
def actions_show(app: App, action_id: int, fmt: str) -> None:
    """One action with its before/after permission JSON. Scopes: none."""
    with app.sessions() as session:
        action = session.get(RemediationAction, action_id)
        if action is None:
            raise NotFoundError(f"remediation action {action_id} not found")
        record = {**action_row(action), "before": action.before, "after": action.after}
    render_record(record, fmt, title=f"action {action_id}")


COMMANDS: list[click.Command] = [actions_group]
