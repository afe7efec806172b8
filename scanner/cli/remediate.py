"""``sharescan remediate`` and ``sharescan restore``.

Scopes: these commands change sharing, so they use ``[google] remediation_service_account_file``
(domain-wide delegation with ``https://www.googleapis.com/auth/drive``), never the read-only
scanning key. Without ``--apply`` nothing changes: the plan is shown.
"""

from __future__ import annotations

from typing import get_args

import click
from sqlalchemy import select

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render
from scanner.errors import SharescanError
from scanner.policy.loader import load_configured_rules
from scanner.policy.schema import Severity
from scanner.remediate.engine import Remediator
from scanner.remediate.restore import Restorer
from scanner.safetext import display
from scanner.store.models import Finding
from scanner.store.repo import FindingRepo

PLAN_COLUMNS = ["finding_id", "file_name", "action", "mode", "target_file_id", "what", "skip_reason"]


@click.command("remediate")
@click.argument("findings", nargs=-1)
@click.option("--severity", "severities", multiple=True,
              type=click.Choice(get_args(Severity)),
              help="All open, active findings of this severity.")
@click.option("--rule", "rule_ids", multiple=True, help="All open, active findings of this rule.")
@click.option("--apply", is_flag=True, help="Make the changes (default: show the plan only).")
@click.option("--fix-on-ancestor", is_flag=True, default=None,
              help="Remove inherited permissions on the folder / shared drive they come from.")
@format_option()
@pass_app
def remediate(app: App, findings: tuple[str, ...], severities: tuple[str, ...], rule_ids: tuple[str, ...],
              apply: bool, fix_on_ancestor: bool | None, fmt: str) -> None:
    """Plan (and with --apply, take) the rules' actions for FINDINGS (ids or fingerprint prefixes).

    Scopes: https://www.googleapis.com/auth/drive via [google] remediation_service_account_file.
    Safety limits, the kill switch and per-rule `mode: off` apply as in scheduled scans."""
    if not (findings or severities or rule_ids):
        raise SharescanError("name findings, or select them with --severity / --rule")
    rules = load_configured_rules(app.settings)
    with app.sessions() as session:
        repo = FindingRepo(session, app.actor)
        ids = [repo.resolve_ref(ref).id for ref in findings]
        if severities or rule_ids:
            stmt = select(Finding.id).where(Finding.status == "open", Finding.detection_state == "active")
            if severities:
                stmt = stmt.where(Finding.severity.in_(severities))
            if rule_ids:
                stmt = stmt.where(Finding.rule_id.in_(rule_ids))
            ids += list(session.scalars(stmt.order_by(Finding.id)))
    remediator = Remediator(app.settings, app.sessions, app.actor, rules=rules)
    plan = remediator.plan(list(dict.fromkeys(ids)), apply=bool(apply), manual=True,
                           fix_on_ancestor=fix_on_ancestor or None)
    rows = [{"finding_id": a.finding_id, "file_name": a.file_name, "action": a.action, "mode": a.mode,
             "target_file_id": a.target_file_id, "what": a.describe(), "skip_reason": a.skip_reason}
            for a in plan.actions]
    for finding_id, why in plan.ignored:
        rows.append({"finding_id": finding_id, "action": "-", "skip_reason": why})
    if not apply:
        render(rows, PLAN_COLUMNS, fmt, title="remediation plan (dry run: add --apply to act)", empty="nothing to do")
    report = remediator.execute(plan)
    if apply:
        render(rows, PLAN_COLUMNS, fmt, title="remediation", empty="nothing to do")
    counts = ", ".join(f"{k}={v}" for k, v in sorted(report.status_counts.items())) or "no actions"
    click.echo(f"{counts}; findings remediated: {len(report.remediated_findings)}"
               + (f"; STOPPED: {report.stopped}" if report.stopped else ""), err=True)


@click.command("restore")
@click.argument("action_id", type=int)
@pass_app
def restore(app: App, action_id: int) -> None:
    """Re-create exactly what remediation action ACTION_ID removed (no notification e-mails).

    Scopes: https://www.googleapis.com/auth/drive via [google] remediation_service_account_file."""
    result = Restorer(app.settings, app.sessions, app.actor).restore(action_id)
    click.echo(f"restored action {result.restored_action_id} as action {result.action_id}: {display(result.detail)}")


COMMANDS: list[click.Command] = [remediate, restore]
