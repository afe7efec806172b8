"""The ``sharescan`` command: a thin shell over the library.

Each command module exposes ``COMMANDS``; this module lists them in :data:`REGISTRY` and imports one
only when it runs (``sharescan --help`` and shell completion import none of them, so neither pays for
Google's client, Presidio or SQLAlchemy). It turns errors into one line and an exit code from the
contract in :class:`scanner.core.errors.ExitCode` (tracebacks only with ``--debug``).
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

import click

from scanner.cli.context import State, validate_actor
from scanner.core.errors import ExitCode, SharescanError
from scanner.logs import CONTEXT as LOG_CONTEXT
from scanner.logs import LogFormat
from scanner.logs import configure as configure_logging


class LazyCommand(NamedTuple):
    """Where a top-level command lives, and its one-line help (shown without importing it)."""

    module: str  # whose ``COMMANDS`` holds it
    help: str


#: Every top-level command. A test checks each ``help`` against the command's own docstring and that
#: every ``COMMANDS`` entry of the ``scanner.cli`` modules is listed here.
REGISTRY: dict[str, LazyCommand] = {
    "init": LazyCommand("scanner.cli.db",
                        "Create the database (or bring it to the latest schema) and the installation keys."),
    "db": LazyCommand("scanner.cli.db",
                      "Database schema: upgrade, downgrade, current revision, check models against migrations."),
    "doctor": LazyCommand("scanner.cli.doctor",
                          "Preflight: check keys, delegated scopes, admin subject, domains, database, rules and "
                          "clock before the first scan."),
    "scan": LazyCommand("scanner.cli.scan",
                        "Scan the domain: crawl (incremental unless --full), analyse exposed files, record "
                        "findings, remediate per policy and notify owners."),
    "scans": LazyCommand("scanner.cli.scans", "Scan runs and what each one covered."),
    "watch": LazyCommand("scanner.cli.watch",
                         "Follow the Drive audit log and scan each file that becomes public, link-shared or shared "
                         "outside, within one poll."),
    "findings": LazyCommand("scanner.cli.findings", "List, inspect and accept findings."),
    "posture": LazyCommand("scanner.cli.posture",
                           "Drive sharing posture per org unit: failing settings, CIS/SCuBA ids, the findings "
                           "they allowed."),
    "actions": LazyCommand("scanner.cli.actions",
                           "The remediation actions taken or planned, with the exact permission JSON before and "
                           "after."),
    "remediate": LazyCommand("scanner.cli.remediate",
                             "Plan (and with --apply, take) the rules' actions for FINDINGS (ids or fingerprint "
                             "prefixes)."),
    "restore": LazyCommand("scanner.cli.remediate",
                           "Re-create exactly what remediation action ACTION_ID removed (no notification e-mails)."),
    "notify": LazyCommand("scanner.cli.notify", "Inspect and flush the owner-notification outbox."),
    "rules": LazyCommand("scanner.cli.rules",
                         "Inspect, validate and test the policy rules (rules/*.yaml plus [rules] directories)."),
    "classify": LazyCommand("scanner.cli.classify",
                            "Detect contractor PII, client data and credentials in local files."),
    "audit": LazyCommand("scanner.cli.audit", "Verify and read the append-only, hash-chained audit log."),
    "export": LazyCommand("scanner.cli.export",
                          "Write a compliance export: findings, actions, scan coverage, exceptions, metrics and "
                          "GDPR breach candidates, with a manifest signed by the installation's Ed25519 key."),
    "schedule": LazyCommand("scanner.cli.schedule",
                            "Run scans on the configured cron schedule (for systemd or Kubernetes)."),
    "worker": LazyCommand("scanner.cli.worker",
                          "Work for scans run with the Celery executor: crawl targets and analyse files sent "
                          "over [executor] broker_url (Redis or RabbitMQ), writing to the shared database."),
    "emulator": LazyCommand("scanner.cli.emulator", "The local Google Drive / Admin SDK emulator."),
    "demo": LazyCommand("scanner.cli.demo",
                        "Run the whole story on a sample workspace: start the bundled Google emulator, scan it "
                        "with remediation enforced, show the findings and the revoked links, write the HTML "
                        "report and the exports."),
}

#: The exit-code contract, as ``sharescan --help`` and the README print it (a test keeps both complete).
EXIT_CODE_HELP: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.ERROR: "any other error (one line on stderr; --debug for the traceback)",
    ExitCode.CONFIG: "configuration or rule file invalid, or a key missing",
    ExitCode.DATABASE: "database missing, unreachable or not at head (run `sharescan db upgrade`)",
    ExitCode.GOOGLE_API: "a Google API call failed after retries",
    ExitCode.REMEDIATION_REFUSED: "a safety limit refused remediation before any action",
    ExitCode.NOT_FOUND: "a finding, action or run named on the command line does not exist",
    ExitCode.AUDIT_CHAIN_BROKEN: "the audit log does not verify",
    ExitCode.EXPORT_VERIFICATION_FAILED: "an export directory does not match its signed manifest",
    ExitCode.PARTIAL: "scan finished but did not cover everything (users/drives skipped or failed)",
    ExitCode.FINDINGS: "open findings at or above --fail-on SEVERITY",
    ExitCode.REMEDIATION_STOPPED: "remediation stopped early (error-rate breaker, kill switch)",
    ExitCode.LOCKED: "another scan holds the run lock (EX_TEMPFAIL: try again later)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C, SIGINT)",
}


def exit_code_epilog() -> str:
    lines = ["\b", "Exit codes:"]
    lines += [f"  {int(code):>3}  {text}" for code, text in EXIT_CODE_HELP.items()]
    return "\n".join(lines)


class LazyGroup(click.Group):
    """A group whose subcommands are imported when first used."""

    def __init__(self, *args: Any, lazy: Mapping[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module = importlib.import_module(self.lazy[cmd_name].module)
            for command in getattr(module, "COMMANDS", []):
                if command.name == cmd_name:
                    self.add_command(command, cmd_name)
        return self.commands.get(cmd_name)

    def command_help(self, name: str) -> str:
        if name in self.commands:
            return self.commands[name].get_short_help_str(limit=150)
        return self.lazy[name].help

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            text = self.command_help(name)
            rows.append((name, text if len(text) <= limit else text[: max(limit - 3, 10)].rstrip() + "..."))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        items = [CompletionItem(name, help=self.command_help(name))
                 for name in self.list_commands(ctx) if name.startswith(incomplete)]
        return items + click.Command.shell_complete(self, ctx, incomplete)


@click.group(cls=LazyGroup, lazy=REGISTRY, epilog=exit_code_epilog(),
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(None, "--version", package_name="sharescan", prog_name="sharescan")
@click.option("--config", "config", type=click.Path(dir_okay=False), envvar="SHARESCAN_CONFIG",
              help="Config file (default: $SHARESCAN_CONFIG, ./sharescan.toml, then the user config dir).")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug logs).")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.option("--log-format", "log_format", type=click.Choice([f.value for f in LogFormat]), default="text",
              envvar="SHARESCAN_LOG_FORMAT", show_default=True,
              help="Logs on stderr as text lines or one JSON object per line (run id on every record).")
@click.option("--actor", envvar="SHARESCAN_ACTOR", default=None,
              help="Who is acting, as recorded in the audit log (default: $SHARESCAN_ACTOR, else user@host).")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: int, debug: bool, log_format: str,
        actor: str | None) -> None:
    """sharescan finds Google Drive files shared too widely that hold confidential client
    data or contractor PII, revokes the risky sharing, notifies owners and keeps an audit
    trail an auditor can verify."""
    configure_logging(verbose=verbose, fmt=LogFormat(log_format), stream=sys.stderr)
    if actor is not None:
        try:
            actor = validate_actor(actor)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--actor / SHARESCAN_ACTOR") from None
    state = State(config, verbose, debug, actor=actor)
    ctx.obj = state
    ctx.call_on_close(state.close)


def report_error(message: str, exit_code: int) -> None:
    """One line on stderr: plain text, or a JSON record like every other line with ``--log-format json``."""
    if LOG_CONTEXT.format is LogFormat.JSON:
        logging.getLogger("scanner.cli").error(message, extra={"event": "error", "exit_code": int(exit_code)})
    else:
        click.echo(message, err=True)


def main(argv: list[str] | None = None) -> Any:
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        code = cli.main(args=argv, prog_name="sharescan", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except SharescanError as exc:
        if debug:
            raise
        report_error(f"error: {exc}", exc.exit_code)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if debug:
            raise
        report_error(f"error: {type(exc).__name__}: {exc} (run with --debug for a traceback)", ExitCode.ERROR)
        sys.exit(int(ExitCode.ERROR))
    # click returns the code of an Exit raised by a command (e.g. 10 from `scan --fail-on`) instead of exiting
    if isinstance(code, int) and code != 0:
        sys.exit(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    main()
