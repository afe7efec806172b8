"""``sharescan posture list|show|links|top|accept|checks``: the Drive sharing settings per org unit that scans
found failing a posture check (database only: no Google access, no scopes), and the checks themselves."""

from __future__ import annotations

import click
from sqlalchemy import select

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.findings import expiry_options, parse_expiry
from scanner.cli.render import Col, format_option, render, render_record
from scanner.core.errors import RuleError
from scanner.store.models import PostureFinding

LIST_COLUMNS = [Col("id", min_width=4), Col("severity", min_width=8), Col("status", drop=4, min_width=8),
                Col("state", drop=6, min_width=8), Col("check_id", min_width=16), Col("org_unit", min_width=10),
                Col("cis_gws", drop=2, min_width=11), Col("scuba_gws", drop=3, min_width=17),
                Col("title", drop=5, min_width=16), Col("last_seen", drop=7, min_width=19),
                Col("recurrences", drop=8, min_width=11)]
LINK_COLUMNS = [Col("findings", min_width=8), Col("exposure", min_width=10), Col("org_unit", min_width=10),
                Col("set_at", drop=2, min_width=10), Col("check_id", drop=3, min_width=16),
                Col("posture_id", drop=1, min_width=10), Col("sentence", drop=4, min_width=30)]
TOP_COLUMNS = [Col("rank", min_width=4), Col("prevented", min_width=9), Col("check_id", min_width=16),
               Col("org_unit", min_width=10), Col("cis_gws", drop=2, min_width=11),
               Col("scuba_gws", drop=3, min_width=17), Col("posture_id", drop=1, min_width=10),
               Col("recommendation", drop=4, min_width=30)]
CHECK_COLUMNS = [Col("id", min_width=16), Col("severity", min_width=8), Col("setting", drop=2, min_width=16),
                 Col("cis_gws", drop=1, min_width=11), Col("scuba_gws", drop=3, min_width=17),
                 Col("samples", min_width=7)]


@click.group("posture")
def posture_group() -> None:
    """Drive sharing posture per org unit: failing settings, CIS/SCuBA ids, the findings they allowed."""


@posture_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also resolved (inactive) posture findings.")
@format_option()
@pass_app
def posture_list(app: App, show_all: bool, fmt: str) -> None:
    """Posture findings: each org unit setting that fails a check, with its CIS and SCuBA ids. Scopes: none."""
    from scanner.posture.service import posture_row

    stmt = select(PostureFinding).order_by(PostureFinding.id)
    if not show_all:
        stmt = stmt.where(PostureFinding.detection_state == "active")
    with app.sessions() as s:
        rows = [posture_row(p) for p in s.scalars(stmt)]
    render(rows, LIST_COLUMNS, fmt, title="posture findings",
           empty="no posture findings (has a scan read the sharing settings? see `sharescan scans show RUN`)")


@posture_group.command("show")
@click.argument("posture_id", type=int)
@format_option(choices=("table", "json"))
@pass_app
def posture_show(app: App, posture_id: int, fmt: str) -> None:
    """One posture finding: what was read, where it applies, how to fix it. Scopes: none."""
    from scanner.posture.service import PostureStore, posture_row

    with app.sessions() as s:
        record = posture_row(PostureStore(s, app.actor).get(posture_id))
    render_record(record, fmt, title=f"posture finding {posture_id}")


@posture_group.command("links")
@format_option()
@pass_app
def posture_links_cmd(app: App, fmt: str) -> None:
    """File findings grouped by their owners' org unit and the setting that allowed them. Scopes: none."""
    from scanner.posture.service import posture_links

    with app.sessions() as s:
        rows = [{"findings": link.findings, "exposure": link.exposure, "org_unit": link.org_unit,
                 "set_at": link.set_at, "check_id": link.check_id, "posture_id": link.posture_finding_id,
                 "sentence": link.sentence} for link in posture_links(s)]
    render(rows, LINK_COLUMNS, fmt, title="file findings by the posture that allowed them",
           empty="no file finding is linked to a failing setting")


@posture_group.command("top")
@click.option("--limit", type=int, default=10, show_default=True)
@format_option()
@pass_app
def posture_top(app: App, limit: int, fmt: str) -> None:
    """The settings to change first, ranked by the file findings they would have prevented. Scopes: none."""
    from scanner.posture.service import settings_to_change

    with app.sessions() as s:
        rows = [{"rank": i, "prevented": t.prevented, "check_id": t.check_id, "org_unit": t.org_unit,
                 "cis_gws": t.compliance.get("cis_gws", []), "scuba_gws": t.compliance.get("scuba_gws", []),
                 "posture_id": t.posture_finding_id, "recommendation": t.recommendation}
                for i, t in enumerate(settings_to_change(s, limit), 1)]
    render(rows, TOP_COLUMNS, fmt, title="settings to change", empty="no open posture findings")


@posture_group.command("accept")
@click.argument("posture_id", type=int)
@click.option("--reason", required=True, help="Why the setting stays (recorded in the audit log).")
@expiry_options
@pass_app
def posture_accept(app: App, posture_id: int, reason: str, expires: str | None, no_expiry: bool) -> None:
    """Accept a posture finding until a date; it reopens when the acceptance expires. Scopes: none."""
    from scanner.posture.service import PostureStore

    until = parse_expiry(expires, no_expiry, "an acceptance")
    with app.sessions.begin() as s:
        store = PostureStore(s, app.actor)
        store.accept(store.get(posture_id), reason=reason, expires=until)
    click.echo(f"posture finding {posture_id} accepted " + (f"until {until.isoformat()}" if until else
                                                            "with no expiry"))


@posture_group.command("checks")
@format_option()
@pass_app
def posture_checks(app: App, fmt: str) -> None:
    """The posture checks (rules/posture plus [posture] directories) and their samples, judged.
    Exits 2 when a sample is judged wrongly. Scopes: none."""
    from scanner.posture.checks import load_checks, run_check_tests

    checks = load_checks(app.settings.posture.directories)
    outcomes = run_check_tests(checks)
    bad = [o for o in outcomes if not o.ok]
    rows = [{"id": c.id, "severity": c.severity, "setting": c.setting,
             "cis_gws": c.compliance.get("cis_gws", []), "scuba_gws": c.compliance.get("scuba_gws", []),
             "samples": "FAIL" if any(o.check_id == c.id for o in bad) else
             f"{sum(1 for o in outcomes if o.check_id == c.id)} ok"} for c in checks]
    render(rows, CHECK_COLUMNS, fmt, title="posture checks", empty="no posture checks")
    if bad:
        for o in bad:
            click.echo(f"{o.check_id}: expected {o.expect} on {o.values}, got {o.got}", err=True)
        raise RuleError(f"{len(bad)} posture check sample(s) judged wrongly")


COMMANDS: list[click.Command] = [posture_group]
