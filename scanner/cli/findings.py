"""``sharescan findings list|show|accept`` — database only, no Google access or scopes needed."""

from __future__ import annotations

import datetime as dt

import click
from sqlalchemy.orm import selectinload

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render, render_record
from scanner.errors import SharescanError
from scanner.store.models import Finding
from scanner.store.repo import STATUSES, FindingFilter, FindingRepo, finding_detail, finding_row

SEVERITIES = ("critical", "high", "medium", "low", "info")
EXPOSURES = ("public", "published", "anyone_with_link", "external_domain", "external_group", "external_user",
             "domain", "internal")
LIST_COLUMNS = ["id", "severity", "status", "state", "rule_id", "exposure", "file", "owner", "categories",
                "first_seen", "last_seen", "recurrences"]


def parse_when(value: str | None) -> dt.datetime | None:
    """An ISO date/time, or a relative age like 7d / 12h."""
    if not value:
        return None
    value = value.strip()
    if value[:-1].isdigit() and value[-1] in "dh":
        n = int(value[:-1])
        delta = dt.timedelta(days=n) if value[-1] == "d" else dt.timedelta(hours=n)
        return dt.datetime.now(dt.UTC) - delta
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected an ISO date (2026-03-01) or an age like 7d") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def parse_future(value: str | None) -> dt.datetime | None:
    """An ISO date/time, or a duration from now like 30d / 12h."""
    if not value:
        return None
    value = value.strip()
    if value[:-1].isdigit() and value[-1] in "dh":
        n = int(value[:-1])
        return dt.datetime.now(dt.UTC) + (dt.timedelta(days=n) if value[-1] == "d" else dt.timedelta(hours=n))
    return parse_when(value)


@click.group("findings")
def findings_group() -> None:
    """List, inspect and accept findings."""


@findings_group.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Workflow status.")
@click.option("--severity", "severities", multiple=True, type=click.Choice(SEVERITIES))
@click.option("--rule", "rule_ids", multiple=True, help="Rule id.")
@click.option("--owner", "owners", multiple=True, help="Owner email.")
@click.option("--exposure", "exposures", multiple=True, type=click.Choice(EXPOSURES))
@click.option("--state", "states", multiple=True, type=click.Choice(["active", "inactive"]),
              help="Detection state.")
@click.option("--since", help="Last seen at or after (ISO date or age like 7d).")
@click.option("--limit", type=int, default=None)
@format_option()
@pass_app
def findings_list(app: App, statuses: tuple[str, ...], severities: tuple[str, ...], rule_ids: tuple[str, ...],
                  owners: tuple[str, ...], exposures: tuple[str, ...], states: tuple[str, ...], since: str | None,
                  limit: int | None, fmt: str) -> None:
    """List findings. Scopes: none (reads the database)."""
    flt = FindingFilter(statuses=statuses, severities=severities, rule_ids=rule_ids, owners=owners,
                        exposures=exposures, detection_states=states, since=parse_when(since), limit=limit)
    with app.sessions() as session:
        stmt = FindingRepo(session, app.actor).query(flt).options(selectinload(Finding.file))
        rows = [finding_row(f) for f in session.scalars(stmt)]
    render(rows, LIST_COLUMNS, fmt, title="findings", empty="no findings")


@findings_group.command("show")
@click.argument("finding")
@format_option(choices=("table", "json"))
@pass_app
def findings_show(app: App, finding: str, fmt: str) -> None:
    """Show one finding (id or fingerprint prefix). Scopes: none."""
    with app.sessions() as session:
        record = finding_detail(FindingRepo(session, app.actor).resolve_ref(finding))
    render_record(record, fmt, title=f"finding {record['id']}")


@findings_group.command("accept")
@click.argument("finding")
@click.option("--reason", required=True, help="Why the risk is accepted (recorded in the audit log).")
@click.option("--expires", required=True, help="When the acceptance ends: ISO date or a duration like 90d.")
@pass_app
def findings_accept(app: App, finding: str, reason: str, expires: str) -> None:
    """Accept a finding's risk until a date; it reopens when the acceptance expires. Scopes: none."""
    until = parse_future(expires)
    if until is None:
        raise SharescanError("--expires is required")
    with app.sessions() as session:
        repo = FindingRepo(session, app.actor)
        row = repo.resolve_ref(finding)
        repo.accept(row, reason=reason, expires=until)
        session.commit()
        click.echo(f"finding {row.id} accepted until {until.isoformat()}")


COMMANDS: list[click.Command] = [findings_group]
