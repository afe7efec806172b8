"""``sharescan findings list|show|accept|exempt|exemptions|unexempt`` — database only, no Google access or scopes."""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

import click
from sqlalchemy.orm import selectinload

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import Col, format_option, render, render_record
from scanner.core.errors import ExitCode, SharescanError
from scanner.policy.schema import ExposureName, Severity, parse_duration
from scanner.store.models import Finding, utcnow
from scanner.store.repo import (
    STATUSES,
    FindingFilter,
    FindingRepo,
    exemption_row,
    finding_detail,
    finding_evidence,
    finding_row,
)
from scanner.timeparse import TimeParseError, parse_instant, parse_since

SEVERITIES: tuple[str, ...] = get_args(Severity)
EXPOSURES: tuple[str, ...] = get_args(ExposureName)
#: At 80 columns: id, severity, status, rule, exposure and file; wider terminals get the rest, in drop order.
LIST_COLUMNS = [Col("id", min_width=4), Col("severity", min_width=8), Col("status", min_width=8),
                Col("state", drop=6, min_width=8), Col("rule_id", drop=2, min_width=14),
                Col("exposure", drop=3, min_width=10), Col("file", min_width=14), Col("owner", drop=4, min_width=14),
                Col("categories", drop=7, min_width=14), Col("first_seen", drop=8, min_width=19),
                Col("last_seen", drop=5, min_width=19), Col("recurrences", drop=9, min_width=11)]


def parse_future(value: str | None) -> dt.datetime | None:
    """An ISO date/time, or a duration from now like 30d / 12h."""
    if not value:
        return None
    delta = parse_duration(value.strip())
    if delta is not None:
        return dt.datetime.now(dt.UTC) + delta
    try:
        return parse_instant(value)
    except TimeParseError:
        raise click.BadParameter(f"{value.strip()!r}: expected an ISO date (2026-03-01) or a duration like 7d"
                                 ) from None


def parse_expiry(value: str | None, no_expiry: bool, what: str) -> dt.datetime | None:
    """``--expires`` (a date: valid through that day; a time; or 30d / 12h from now) or an explicit ``--no-expiry``."""
    if value and no_expiry:
        raise click.UsageError("give --expires or --no-expiry, not both")
    if not value:
        if no_expiry:
            return None
        raise click.UsageError(f"{what} needs --expires DATE (or 30d); a permanent one needs --no-expiry explicitly")
    value = value.strip()
    if len(value) == 10:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise click.BadParameter(f"{value!r}: expected an ISO date (2026-12-31) or a duration like 90d",
                                     param_hint="--expires") from None
        return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    try:
        until = parse_future(value)
    except click.BadParameter:
        raise click.BadParameter(f"{value!r}: expected an ISO date (2026-12-31) or a duration like 90d",
                                 param_hint="--expires") from None
    assert until is not None
    return until


def expiry_options(func: Any) -> Any:
    func = click.option("--no-expiry", is_flag=True,
                        help="Never expires (must be asked for explicitly; auditors review these).")(func)
    return click.option("--expires", help="Until when: an ISO date (valid through that day), a time, or 90d.")(func)


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
@click.option("--since", help="Last seen at or after (ISO date/time, or an age like 30m, 12h, 7d, 2w).")
@click.option("--limit", type=int, default=None)
@click.option("--fail-on", type=click.Choice(SEVERITIES), default=None,
              help="Exit 10 when the list holds an open, active finding at or above this severity (for CI gates).")
@format_option()
@pass_app
def findings_list(app: App, statuses: tuple[str, ...], severities: tuple[str, ...], rule_ids: tuple[str, ...],
                  owners: tuple[str, ...], exposures: tuple[str, ...], states: tuple[str, ...], since: str | None,
                  limit: int | None, fail_on: str | None, fmt: str) -> None:
    """List findings. Scopes: none (reads the database)."""
    flt = FindingFilter(statuses=statuses, severities=severities, rule_ids=rule_ids, owners=owners,
                        exposures=exposures, detection_states=states, since=parse_since(since), limit=limit)
    with app.sessions() as session:
        stmt = FindingRepo(session, app.actor).query(flt).options(selectinload(Finding.file))
        rows = [finding_row(f) for f in session.scalars(stmt)]
    render(rows, LIST_COLUMNS, fmt, title="findings", empty="no findings")
    if fail_on is not None:
        from scanner.ops.outcome import severities_at_or_above

        gate = set(severities_at_or_above(fail_on))
        if any(r["status"] == "open" and r["state"] == "active" and r["severity"] in gate for r in rows):
            raise click.exceptions.Exit(int(ExitCode.FINDINGS))


ACCEPTANCE_COLUMNS = (Col("id", min_width=4), Col("state", min_width=7), Col("reason", min_width=20),
                      Col("actor", min_width=14), Col("created_at", drop=2, min_width=19),
                      Col("expires_at", min_width=19), Col("revoked_at", drop=3, min_width=19))
EVIDENCE_COLUMNS = ("detector", "entity_type", "count", "distinct", "best_score", "location", "masked_preview",
                    "value_hash")


@findings_group.command("show")
@click.argument("finding")
@format_option(choices=("table", "json"))
@pass_app
def findings_show(app: App, finding: str, fmt: str) -> None:
    """Show one finding (id or fingerprint prefix) and its evidence: entity types, counts, locations,
    masked previews — never the values. Scopes: none."""
    now = utcnow()
    with app.sessions() as session:
        repo = FindingRepo(session, app.actor)
        found = repo.resolve_ref(finding)
        record = finding_detail(found)
        evidence = finding_evidence(session, found)
        acceptances = [exemption_row(e, now) for e in repo.acceptances(found)]
    if fmt == "json":
        render_record({**record, "evidence": evidence, "acceptances": acceptances}, fmt)
        return
    render_record(_readable(record), fmt, title=f"finding {record['id']}")
    render(evidence, EVIDENCE_COLUMNS, fmt, title="evidence (values are never stored)",
           empty="no content evidence (an exposure-only rule, or the content was not analysed)")
    if acceptances:
        render(acceptances, ACCEPTANCE_COLUMNS, fmt, title="acceptances of this risk")


def _readable(record: dict[str, Any]) -> dict[str, Any]:
    """The table view: permissions and detector hits as short lines instead of nested mappings."""
    perms = []
    for p in record.get("matched_permissions") or []:
        where = f", inherited from {p['inherited_from']}" if p.get("inherited") else ""
        expiry = f", expires {p['expiration_time']}" if p.get("expiration_time") else ""
        who = p.get("email_address") or p.get("domain") or p.get("type")
        perms.append(f"{p.get('exposure')}: {who} {p.get('role')} (id {p.get('id')}{where}{expiry})")
    hits = [f"{name}: {hit.get('count')} (best score {hit.get('best_score')})"
            for name, hit in sorted((record.get("detectors") or {}).items())]
    return {**record, "matched_permissions": "\n".join(perms), "detectors": "\n".join(hits)}


@findings_group.command("accept")
@click.argument("finding")
@click.option("--reason", required=True, help="Why the risk is accepted (recorded in the audit log).")
@expiry_options
@pass_app
def findings_accept(app: App, finding: str, reason: str, expires: str | None, no_expiry: bool) -> None:
    """Accept a finding's risk until a date; it reopens when the acceptance expires. Scopes: none."""
    until = parse_expiry(expires, no_expiry, "an acceptance")
    with app.sessions() as session:
        repo = FindingRepo(session, app.actor)
        row = repo.resolve_ref(finding)
        repo.accept(row, reason=reason, expires=until, permanent=no_expiry)
        session.commit()
        click.echo(f"finding {row.id} accepted " + (f"until {until.isoformat()}" if until else "with no expiry"))


@findings_group.command("justify")
@click.argument("finding")
@click.option("--token", required=True, help="The token in the owner's notice (proves it answers that request).")
@click.option("--reason", required=True, help="Why the sharing is needed (recorded in the audit log).")
@click.option("--until", "until_text", required=True,
              help="Keep the sharing until: an ISO date (through that day) or 90d; at most a year.")
@pass_app
def findings_justify(app: App, finding: str, token: str, reason: str, until_text: str) -> None:
    """Keep a sharing the owner was asked to justify: an acceptance until a date, recorded as the owner's.

    The owner's notice names the finding, the token and the deadline; without a justification the
    rule's actions run after the deadline. Scopes: none."""
    from scanner.remediate.justify import justify

    until = parse_expiry(until_text, False, "a justification")
    assert until is not None
    with app.sessions() as session:
        row = FindingRepo(session, app.actor).resolve_ref(finding)
        justify(session, app.settings, row, given_token=token, reason=reason, until=until, now=utcnow())
        session.commit()
        click.echo(f"finding {row.id} kept by its owner until {until.isoformat()}")


EXEMPTION_COLUMNS = [Col("id", min_width=4), Col("kind", drop=3, min_width=10), Col("state", min_width=7),
                     Col("finding_id", drop=4, min_width=7), Col("rule_id", drop=2, min_width=14),
                     Col("file_id", drop=6, min_width=10), Col("folder_id", drop=7, min_width=10),
                     Col("reason", min_width=16), Col("actor", drop=5, min_width=14),
                     Col("created_at", drop=8, min_width=19), Col("expires_at", drop=1, min_width=19),
                     Col("revoked_at", drop=9, min_width=19)]


@findings_group.command("exempt")
@click.option("--rule", "rule_id", help="Rule id: alone, the rule is off everywhere; with --file/--folder, only there.")
@click.option("--file", "file_id", help="Drive file id.")
@click.option("--folder", "folder_id", help="Drive folder id (everything below it).")
@click.option("--reason", required=True, help="Why (recorded in the audit log).")
@expiry_options
@pass_app
def findings_exempt(app: App, rule_id: str | None, file_id: str | None, folder_id: str | None, reason: str,
                    expires: str | None, no_expiry: bool) -> None:
    """Stop flagging a rule, a file or a folder tree from the next scan on. Scopes: none.

    Open findings it covers resolve at the next complete scan; when it expires or is revoked, they come back."""
    if not (rule_id or file_id or folder_id):
        raise click.UsageError("name what to exempt: --rule, --file or --folder")
    if file_id and folder_id:
        raise click.UsageError("--file and --folder exclude each other")
    until = parse_expiry(expires, no_expiry, "an exemption")
    if rule_id is not None:
        from scanner.policy.loader import load_configured_rules

        if load_configured_rules(app.settings).get(rule_id) is None:
            raise SharescanError(f"unknown rule {rule_id!r} (see `sharescan rules list`)")
    with app.sessions() as session:
        row = FindingRepo(session, app.actor).add_exemption(reason=reason, rule_id=rule_id, file_id=file_id,
                                                            folder_id=folder_id, expires=until, permanent=no_expiry)
        session.commit()
        click.echo(f"exemption {row.id} created " + (f"until {until.isoformat()}" if until else "with no expiry"))


@findings_group.command("exemptions")
@click.option("--all", "show_all", is_flag=True,
              help="Include expired and revoked exemptions, and the acceptances of single findings.")
@format_option()
@pass_app
def findings_exemptions(app: App, show_all: bool, fmt: str) -> None:
    """List people-made exemptions (in force now; --all for every one, with finding acceptances). Scopes: none."""
    now = utcnow()
    with app.sessions() as session:
        rows = [exemption_row(e, now) for e in FindingRepo(session, app.actor).exemptions(
            include_inactive=show_all, include_acceptances=show_all)]
    render(rows, EXEMPTION_COLUMNS, fmt, title="exemptions", empty="no exemptions")


@findings_group.command("unexempt")
@click.argument("exemption_id", type=int)
@click.option("--reason", default="", help="Why (recorded in the audit log).")
@pass_app
def findings_unexempt(app: App, exemption_id: int, reason: str) -> None:
    """Revoke an exemption now (kept on record); the next scan flags again. Scopes: none."""
    with app.sessions() as session:
        FindingRepo(session, app.actor).revoke_exemption(exemption_id, reason=reason)
        session.commit()
    click.echo(f"exemption {exemption_id} revoked")


COMMANDS: list[click.Command] = [findings_group]
