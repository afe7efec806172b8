"""`sharescan emulator serve`: run the Google API emulator in the foreground."""

from __future__ import annotations

from pathlib import Path

import click

from scanner.emulator import Emulator, build_seed
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
def serve(seed: str, host: str, port: int, key_file: Path, state: Path | None) -> None:
    """Serve Drive v3, Admin Directory and OAuth on HOST:PORT until interrupted."""
    try:
        workspace = load_file(state) if state and state.exists() else build_seed(seed)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    emu = Emulator(workspace, host=host, port=port)
    endpoint = emu.start()
    emu.write_key_file(key_file)
    click.echo(f"SHARESCAN_GOOGLE_ENDPOINT={endpoint}")
    click.echo(f"SHARESCAN_GOOGLE_KEY_FILE={key_file}")
    click.echo(f"# {len(workspace.users)} users, {len(workspace.files)} files; Ctrl-C to stop", err=True)
    try:
        emu.serve_forever()
    finally:
        if state:
            emu.save_state(state)


COMMANDS: list[click.Command] = [emulator]
