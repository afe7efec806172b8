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
from scanner.core.errors import ExitCode, SharescanError
from scanner.policy.loader import load_configured_rules
from scanner.policy.schema import Severity
from scanner.remediate.reconcile import ReconcileReport
from scanner.remediate.restore import RestorePreview
from scanner.remediate.service import RemediationService
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
    Safety limits, the kill switch and per-rule `mode: off` apply as in scheduled scans. With --apply
    it takes the scans' run lock (exit 75 while a scan, remediate or restore runs) and first
    reconciles actions an interrupted run left unfinished; exit 11 if it stopped early (error-rate
    breaker, kill switch)."""
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
    from scanner.run import ScanService

    # One finding named on its own is a person's decision with its blast radius in view: a folder fix over
    # max_actions_per_run is applied. Several findings, or a selection, stay within the limits.
    explicit = len(findings) == 1 and not (severities or rule_ids)
    done = RemediationService(app).remediate(rules, list(dict.fromkeys(ids)), apply=bool(apply),
                                             fix_on_ancestor=fix_on_ancestor or None, explicit=explicit,
                                             refresh=lambda ids: ScanService(app).refresh_fixed(ids, run_id=None))
    plan, report, closed = done.plan, done.report, done.closed
    if done.reconciled is not None and not done.reconciled.empty:
        click.echo(reconciled_line(done.reconciled), err=True)
    rows = [{"finding_id": a.finding_id, "file_name": a.file_name, "action": a.action, "mode": a.mode,
             "target_file_id": a.target_file_id, "what": a.describe(), "skip_reason": a.skip_reason}
            for a in plan.actions]
    for finding_id, why in plan.ignored:
        rows.append({"finding_id": finding_id, "action": "-", "skip_reason": why})
    title = "remediation" if apply else "remediation plan (dry run: add --apply to act)"
    render(rows, PLAN_COLUMNS, fmt, title=title, empty="nothing to do")
    counts = ", ".join(f"{k}={v}" for k, v in sorted(report.status_counts.items())) or "no actions"
    remediated = sorted(set(report.remediated_findings) | set(closed))
    click.echo(f"{counts}; findings remediated: {len(remediated)}"
               + (f"; STOPPED: {report.stopped}" if report.stopped else ""), err=True)
    if report.stopped:
        raise click.exceptions.Exit(int(ExitCode.REMEDIATION_STOPPED))


def reconciled_line(r: ReconcileReport) -> str:
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r.outcomes.items())) or "none"
    return (f"reconciled an interrupted remediation: actions {outcomes}; steps finished {r.steps_finished}; "
            f"findings remediated {len(r.remediated_findings)}; notices queued {len(r.notifications)}")


@click.command("restore")
@click.argument("action_id", type=int)
@click.option("--reason", required=True, help="Why the sharing is put back (recorded with the restore and in "
                                               "the audit log).")
@click.option("--yes", is_flag=True, help="Do not ask before exposing a file with sensitive findings again.")
@pass_app
def restore(app: App, action_id: int, reason: str, yes: bool) -> None:
    """Re-create exactly what remediation action ACTION_ID removed (no notification e-mails).

    Asks for confirmation (or --yes) when the restore exposes a file with sensitive findings again.
    Scopes: https://www.googleapis.com/auth/drive via [google] remediation_service_account_file.
    Takes the scans' run lock (exit 75 while a scan, remediate or restore runs) and first reconciles
    actions an interrupted run left unfinished."""
    def confirm(preview: RestorePreview) -> bool:
        found = "; ".join(f"finding {fid} {rule} ({severity}: {', '.join(cats) or 'sensitive data'})"
                          for fid, rule, severity, cats in preview.sensitive)
        click.echo(f"restoring action {action_id} exposes {display(preview.file_name) or preview.file_id} again "
                   f"({', '.join(preview.re_exposes)}) while it holds sensitive data: {found}", err=True)
        return click.confirm("Restore anyway?", default=False, err=True)

    service = RemediationService(app)
    result, reconciled = service.restore(action_id, reason=reason, confirm=None if yes else confirm)
    if not reconciled.empty:
        click.echo(reconciled_line(reconciled), err=True)
    click.echo(f"restored action {result.restored_action_id} as action {result.action_id}: {display(result.detail)}")


COMMANDS: list[click.Command] = [remediate, restore]
