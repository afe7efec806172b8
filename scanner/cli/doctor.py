"""``sharescan doctor``: the preflight before the first scan (and after any change of keys or scopes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from scanner.cli.context import pass_app
from scanner.cli.render import dumps, format_option

if TYPE_CHECKING:
    from scanner.app import App

STYLES = {"PASS": "green", "WARN": "yellow", "FAIL": "red", "SKIP": "bright_black"}


@click.command()
@click.option("--subject", "subjects", multiple=True, metavar="EMAIL",
              help="Also check the scanning key's scopes when impersonating this user (repeatable).")
@format_option(choices=("table", "json"))
@pass_app
def doctor(app: App, subjects: tuple[str, ...], fmt: str) -> None:
    """Preflight: check keys, delegated scopes, admin subject, domains, database, rules and clock before the
    first scan.

    \b
    Each check prints PASS, WARN, FAIL or SKIP; a FAIL says what to change (the setting, the command, or
    the Admin console line for domain-wide delegation). Asks Google's token endpoint for each scope of
    each key (no data is read, nothing is changed) and reads the Directory's domains as the admin subject.
    Exit code: 0 when nothing failed, else that of the first failure (2 configuration, keys or rules;
    4 Google; 3 database).
    """
    from scanner.ops.doctor import run_doctor

    report = run_doctor(app.settings, subjects=subjects)
    if fmt == "json":
        click.echo(dumps({"ok": not report.failed, "exit_code": int(report.exit_code),
                          "checks": [c.as_dict() for c in report.checks]}))
    else:
        for check in report.checks:
            status = click.style(f"{check.status.value:<4}", fg=STYLES[check.status.value], bold=True)
            line = f"{status}  {check.area.value:<8}  {check.name}"
            click.echo(f"{line}: {check.detail}" if check.detail else line)
            if check.fix and check.status.value in ("FAIL", "WARN"):
                click.echo(f"{'':16}fix: {check.fix}")
        failed = len(report.failed)
        click.echo(f"\n{failed} check(s) failed" if failed else "\nready to scan: no check failed")
    if report.failed:
        raise click.exceptions.Exit(int(report.exit_code))


COMMANDS: list[click.Command] = [doctor]
