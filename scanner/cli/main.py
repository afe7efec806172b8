"""The ``sharescan`` command: a thin shell over the library.

Each command module exposes ``COMMANDS``; this module only wires them together and turns
errors into one line and an exit code (tracebacks only with ``--debug``).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from scanner import __version__
from scanner.cli import (
    actions,
    audit,
    classify,
    db,
    demo,
    emulator,
    export,
    findings,
    notify,
    remediate,
    rules,
    scan,
    scans,
    schedule,
)
from scanner.cli.context import State
from scanner.errors import SharescanError

COMMAND_MODULES = (
    db, scan, scans, findings, actions, remediate, notify, rules, classify, audit, export, schedule, emulator, demo,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="sharescan")
@click.option("--config", "config", type=click.Path(dir_okay=False), envvar="SHARESCAN_CONFIG",
              help="Config file (default: $SHARESCAN_CONFIG, ./sharescan.toml, then the user config dir).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug logs).")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: int, debug: bool) -> None:
    """sharescan finds Google Drive files shared too widely that hold confidential client
    data or contractor PII, revokes the risky sharing, notifies owners and keeps an audit
    trail an auditor can verify."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    state = State(config, verbose, debug)
    ctx.obj = state
    ctx.call_on_close(state.close)


for _module in COMMAND_MODULES:
    for _command in getattr(_module, "COMMANDS", []):
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> Any:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        return cli.main(args=argv, prog_name="sharescan", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SharescanError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if debug:
            raise
        click.echo(f"error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", err=True)
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
