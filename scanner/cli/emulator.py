"""`sharescan emulator serve`: run the Google API emulator in the foreground."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scanner.emulator import Emulator, Settings, build_seed
from scanner.emulator.state.persist import load_file


@click.group()
def emulator() -> None:
    """The local Google Drive / Admin SDK emulator."""


@emulator.command()
@click.option("--seed", default="demo", show_default=True,
              help="demo | incident | empty | synthetic:USERS:FILES[:SEED]")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int, help="0 picks a free port.")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=Path("emulator-key.json"),
              show_default=True, help="Where to write the service-account key (mode 0600).")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Load this saved state instead of a seed (and save back to it on exit).")
@click.option("--reports-lag", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Seconds before a Drive audit event shows in the Reports API (Google: minutes to hours).")
@click.option("--refuse-scope", "refused", multiple=True, metavar="SCOPE[:SUBJECT]",
              help="Answer token requests for SCOPE (for SUBJECT only, if given) with unauthorized_client, as "
                   "Google does when the Admin console's domain-wide delegation lacks it (try `sharescan doctor`).")
def serve(seed: str, host: str, port: int, key_file: Path, state: Path | None, reports_lag: float,
          refused: tuple[str, ...]) -> None:
    """Serve Drive, Admin Directory and Reports, Cloud Identity policies, Drive labels and OAuth on HOST:PORT
    until interrupted."""
    try:
        workspace = load_file(state) if state and state.exists() else build_seed(seed)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    emu = Emulator(workspace, host=host, port=port, settings=Settings(reports_lag_seconds=reports_lag))
    auth = "https://www.googleapis.com/auth/"
    for item in refused:
        scope, _, subject = item.removeprefix(auth).partition(":")
        emu.delegation.refuse(auth + scope, subject or "*")
    endpoint = emu.start()
    emu.write_key_file(key_file)
    click.echo(f"SHARESCAN_GOOGLE_ENDPOINT={endpoint}")
    click.echo(f"SHARESCAN_GOOGLE_KEY_FILE={key_file.resolve()}")
    admins = sorted(u.email for u in workspace.users.values() if u.is_admin and not u.suspended)
    click.echo(f"# {len(workspace.users)} users, {len(workspace.files)} files; Ctrl-C to stop", err=True)
    click.echo(f"# in sharescan.toml: [organisation] domains = {json.dumps(sorted(workspace.domains))}, "
               f"[google] admin_subject = {json.dumps(admins[0])}" if admins
               else "# (no administrator in this workspace)", err=True)
    try:
        emu.serve_forever()
    finally:
        if state:
            emu.save_state(state)


COMMANDS: list[click.Command] = [emulator]
