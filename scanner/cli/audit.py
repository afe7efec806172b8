"""``sharescan audit verify|anchor|list``: check the keyed chain against its anchors, anchor it, read it."""

from __future__ import annotations

from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render, render_record
from scanner.core.errors import AuditChainBroken
from scanner.export.anchors import write_checkpoint
from scanner.export.auditlog import list_events, verification_record, verify_log
from scanner.export.signing import parse_public_key, private_key
from scanner.timeparse import parse_since


@click.group("audit")
def audit_group() -> None:
    """Verify and read the append-only, hash-chained audit log."""


@audit_group.command("verify")
@click.option("--manifest", "manifests", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Also check the head recorded in this export's signed manifest (the manifest.json or its "
                   "export directory; repeatable).")
@click.option("--public-key", "public_key",
              help="Trusted Ed25519 key of the checkpoints and manifests: hex, or a .pub file "
                   "(default: this installation's export key).")
@format_option(choices=("table", "json"))
@pass_app
def verify_cmd(app: App, manifests: tuple[Path, ...], public_key: str | None, fmt: str) -> None:
    """Check the audit log: every link (HMAC under the audit key), the head against the newest signed
    checkpoint in [audit] anchor_path and any export manifests given (events cut from the end), and the
    findings, actions and exemptions tables against their last state events. Exit 7 naming what is wrong."""
    trusted = trusted_key(app, public_key)
    with app.sessions() as session:
        result = verify_log(session, anchor_dir=app.settings.anchor_dir, trusted=trusted, manifests=manifests)
    render_record(verification_record(result), fmt, title="audit log")
    if fmt == "table":
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
    if not result.ok:
        problems = result.problems()
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise AuditChainBroken(f"audit log does not verify: {problems[0]}{more}")


@audit_group.command("anchor")
@pass_app
def anchor_cmd(app: App) -> None:
    """Write a signed checkpoint of the log's head to [audit] anchor_path now (scans and exports do it too)."""
    with app.sessions() as session:
        anchor = write_checkpoint(session, app.settings.audit, app.settings.anchor_dir,
                                  app.settings.signing_key_path, reason="manual")
    click.echo(f"checkpoint written: {anchor.describe()}" if anchor else "the audit log is empty: nothing to anchor")


def trusted_key(app: App, public_key: str | None) -> Ed25519PublicKey | None:
    if public_key:
        return parse_public_key(public_key)
    if app.settings.signing_key_path.exists():
        return private_key(app.settings.signing_key_path, create=False).public_key()
    return None


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
