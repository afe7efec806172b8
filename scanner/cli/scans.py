"""``sharescan scans list`` and ``sharescan scans show RUN``: runs and their per-target coverage."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import dumps, format_option, render
from scanner.core.errors import NotFoundError
from scanner.remediate.sanity import DomainCheck
from scanner.safetext import display
from scanner.store.models import ScanRun
from scanner.store.snapshot import coverage_mode, run_coverage

RUN_COLUMNS = ("id", "kind", "status", "started_at", "finished_at", "resumed_from", "targets", "files_seen",
               "files_exposed", "api_calls")
COVERAGE_COLUMNS = ("kind", "target", "status", "mode", "files_seen", "files_exposed", "files_skipped",
                    "files_failed", "files_pending", "files_unreadable", "api_calls", "reason")


def _run_row(run: ScanRun, coverage: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": run.id, "kind": run.kind, "status": run.status, "started_at": run.started_at,
        "finished_at": run.finished_at, "resumed_from": run.resumed_from_id, "targets": len(coverage),
        "files_seen": sum(c["files_seen"] for c in coverage),
        "files_exposed": sum(c["files_exposed"] for c in coverage),
        "api_calls": sum(c["api_calls"] for c in coverage),
    }


def _reasons(counts: dict[str, Any] | None) -> str:
    return ", ".join(f"{k} ×{v}" for k, v in sorted((counts or {}).items()))


def coverage_rows(app: App, run_id: int) -> list[dict[str, Any]]:
    with app.sessions() as s:
        out = []
        for cov, target in run_coverage(s, run_id):
            reasons = cov.reasons or {}
            parts = [str(reasons["target"])] if reasons.get("target") else []
            if reasons.get("skipped"):
                parts.append("skipped: " + _reasons(reasons["skipped"]))
            if reasons.get("failed"):
                parts.append("failed: " + _reasons(reasons["failed"]))
            if reasons.get("pending"):
                parts.append("not read: " + _reasons(reasons["pending"]))
            out.append({
                "kind": target.kind, "target": target.name or target.key, "key": target.key, "status": cov.status,
                "mode": coverage_mode(reasons),
                "files_seen": cov.files_seen, "files_exposed": cov.files_exposed,
                "files_skipped": cov.files_skipped, "files_failed": cov.files_failed,
                "files_pending": cov.files_pending, "files_unreadable": cov.files_unreadable,
                "api_calls": cov.api_calls,
                "reason": "; ".join(parts), "skipped_reasons": reasons.get("skipped") or {},
                "failed_reasons": reasons.get("failed") or {}, "pending_reasons": reasons.get("pending") or {},
                "started_at": cov.started_at,
                "finished_at": cov.finished_at,
            })
        return out


@click.group("scans")
def scans() -> None:
    """Scan runs and what each one covered."""


@scans.command("list")
@click.option("--limit", type=int, default=20, show_default=True, help="Most recent runs to show.")
@format_option()
@pass_app
def list_runs(app: App, limit: int, fmt: str) -> None:
    """Recent scan runs, newest first."""
    with app.sessions() as s:
        runs = list(s.scalars(select(ScanRun).order_by(ScanRun.id.desc()).limit(limit)))
    rows = [_run_row(run, coverage_rows(app, run.id)) for run in runs]
    render(rows, RUN_COLUMNS, fmt, title="scan runs", empty="no scans yet")


@scans.command("show")
@click.argument("run_id", type=int)
@format_option()
@pass_app
def show_run(app: App, run_id: int, fmt: str) -> None:
    """Coverage of one run per user and shared drive: seen, exposed, skipped and failed (and why), API calls,
    and files a rule needed that could not be read: pending (retried every run) and unreadable (failed
    [limits] unreadable_after_attempts runs; still retried). Either makes the run partial."""
    with app.sessions() as s:
        run = s.get(ScanRun, run_id)
        if run is None:
            raise NotFoundError(f"scan run {run_id} not found (see `sharescan scans list`)")
    coverage = coverage_rows(app, run_id)
    check = (run.stats or {}).get("domain_check")
    if fmt == "json":
        click.echo(dumps({**_run_row(run, coverage), "stats": run.stats, "error": run.error,
                          "domain_check": check, "coverage": coverage}))
        return
    render(coverage, COVERAGE_COLUMNS, fmt, title=f"scan {run.id} — {run.kind}, {run.status}",
           empty="no coverage recorded for this run")
    if fmt == "table" and check:
        for line in domain_check_lines(DomainCheck.from_json(check)):
            click.echo(line)


def domain_check_lines(check: DomainCheck) -> list[str]:
    """The domain check as short lines for people."""
    blocked = check.blocked
    lines = [f"ENFORCEMENT STOPPED: {blocked}" if blocked else
             f"domain check: ok ({', '.join(check.configured)} owned by the customer)"]
    lines += [f"  near-miss: {n.domain} looks like {n.looks_like} ({n.grants} external grants)"
              for n in check.near_misses]
    if check.unconfigured:
        lines.append(f"  note: the customer also owns {', '.join(check.unconfigured)} (not in [organisation] "
                     "domains: sharing there counts as external)")
    return [display(line) for line in lines]


COMMANDS: list[click.Command] = [scans]
