"""``sharescan export``: compliance exports (CSV, JSONL, OCSF, HTML) with a signed manifest."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render_record
from scanner.core.errors import ExportVerificationFailed
from scanner.export.service import FINDING_STATUSES, FORMATS, export
from scanner.export.signing import (
    allowed_signers_path,
    parse_public_key,
    private_key,
    public_hex,
    public_key_path,
    ssh_fingerprint,
    ssh_public_key_path,
    verify_export,
)
from scanner.export.writers import WRITERS
from scanner.timeparse import parse_since


class WriterChoice(click.Choice):  # type: ignore[type-arg]
    """The export writers' names, read from the writer registry when the option is parsed or its help
    shown: a writer installed through the ``sharescan.writers`` entry point is a choice too."""

    def __init__(self) -> None:
        super().__init__(())

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return tuple(WRITERS.names())

    @choices.setter
    def choices(self, _value: object) -> None:  # click.Choice.__init__ assigns it; the registry decides
        return None


@click.group("export", invoke_without_command=True)
@click.option("--format", "formats", multiple=True, type=WriterChoice(),
              help="Format to write (repeatable; default: all of csv, jsonl, ocsf, html; any installed writer).")
@click.option("--since", help="Findings seen or changed since (ISO date/time, or an age like 30m, 12h, 7d, 2w).")
@click.option("--status", "statuses", multiple=True, type=click.Choice(FINDING_STATUSES),
              help="Only findings in this workflow status (repeatable).")
@click.option("--output", "output", type=click.Path(file_okay=False, path_type=Path),
              help="New directory to write (default: [export] directory or ./sharescan-export-<time>).")
@click.option("--framework", "frameworks", multiple=True, metavar="ID",
              help="Summarise findings per control of this framework (repeatable; gdpr, iso27001, soc2, cis_gws; "
                   "default: every framework the rules map to).")
@click.pass_context
def export_group(ctx: click.Context, formats: tuple[str, ...], since: str | None, statuses: tuple[str, ...],
                 output: Path | None, frameworks: tuple[str, ...]) -> None:
    """Write a compliance export: findings, actions, scan coverage, exceptions, metrics and GDPR
    breach candidates, with a manifest signed by the installation's Ed25519 key."""
    if ctx.invoked_subcommand is not None:
        return
    from scanner.cli.context import get_state

    app = get_state(ctx).app
    result = export(app, app.settings, list(formats) or list(FORMATS), output, since=parse_since(since),
                    status=list(statuses), actor=app.actor, frameworks=frameworks)
    click.echo(f"export written to {result.directory} ({len(result.files)} files + manifest.json, SHA256SUMS, "
               "SHA256SUMS.sig)")
    click.echo(f"manifest sha256 {result.manifest_sha256}; signed by key {result.key_id}; "
               f"audit event #{result.audit_event_seq}")
    for key, value in result.counts.items():
        click.echo(f"  {key}: {value}")
    for fw in result.frameworks:
        click.echo(f"  controls ({fw.framework}): {fw.failing} failing, {fw.warning} warning, {fw.passing} passing, "
                   f"{fw.without} without findings -> compliance/{fw.framework}.csv")
    click.echo(f"to verify: sharescan export verify {result.directory} "
               f"--public-key {public_key_path(app.settings.signing_key_path)} (give the auditor the .pub file)")
    click.echo("or with standard tools (coreutils, OpenSSH 8.1+; give the auditor the allowed_signers file):")
    click.echo(f"  {result.verify_command}")


@export_group.command("verify")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--public-key", "public_key",
              help="Trusted Ed25519 public key: hex, or a .pub file (default: this installation's key).")
@format_option(choices=("table", "json"))
@pass_app
def verify_cmd(app: App, directory: Path, public_key: str | None, fmt: str) -> None:
    """Check an export: signature, signing key, and every file's SHA-256 (modified/added/removed)."""
    if public_key:
        trusted = parse_public_key(public_key)
    elif app.settings.signing_key_path.exists():
        trusted = private_key(app.settings.signing_key_path, create=False,
                              loose=app.settings.keys.loose_permissions).public_key()
    else:
        trusted = None
    report = verify_export(directory, trusted)
    render_record(report.as_dict(), fmt, title="export verification")
    if not report.ok:
        raise ExportVerificationFailed(f"{directory}: export does not verify: {'; '.join(report.problems)}")


@export_group.command("public-key")
@pass_app
def public_key_cmd(app: App) -> None:
    """Print this installation's export-signing public key (give it to auditors)."""
    signer = private_key(app.settings.signing_key_path, loose=app.settings.keys.loose_permissions)
    key_path = app.settings.signing_key_path
    click.echo(public_hex(signer.public_key()))
    click.echo(f"(also in {public_key_path(key_path)}; OpenSSH format in {ssh_public_key_path(key_path)}, "
               f"fingerprint {ssh_fingerprint(signer.public_key())}; for ssh-keygen -Y verify: "
               f"{allowed_signers_path(key_path)})", err=True)


COMMANDS: list[click.Command] = [export_group]
