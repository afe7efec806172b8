"""The CLI shell: version, help everywhere, one-line errors, no tracebacks without --debug."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from scanner.cli.main import cli


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def subcommand(group: click.Group, name: str) -> click.Command:
    command = group.get_command(click.Context(group), name)
    assert command is not None, name
    return command


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name in group.list_commands(click.Context(group)):
        command = subcommand(group, name)
        out.append((*prefix, name))
        if isinstance(command, click.Group):
            out.extend(all_commands(command, (*prefix, name)))
    return out


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("sharescan, version ")


@pytest.mark.parametrize("path", all_commands(cli))
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    command: click.Command = cli
    for part in path:
        assert isinstance(command, click.Group)
        command = subcommand(command, part)
    assert command.help or command.short_help, f"`sharescan {' '.join(path)}` has no help text"


def test_init_then_db_current_json(tmp_path: Path) -> None:
    result = run("init", "--format", "json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["revision"] == "0001" or info["revision"]
    current = json.loads(run("db", "current", "--format", "json").stdout)
    assert current["up_to_date"] is True
    check = run("db", "check")
    assert check.returncode == 0, check.stderr


def test_broken_config_is_one_line_without_traceback(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[organisation]\ndomains = ["a.com"]\n[limits]\nworkers = -1\n')
    result = run("--config", str(cfg), "init")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {cfg}:4: [limits] workers: ")


def test_debug_shows_traceback(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[limits]\nworkers = 0\n")
    result = run("--debug", "--config", str(cfg), "init")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_command_on_uninitialised_database_says_run_init() -> None:
    result = run("db", "check")
    assert result.returncode == 3
    assert "run `sharescan init`" in result.stderr


def test_scan_on_uninitialised_database_says_run_init(tmp_path: Path) -> None:
    cfg = tmp_path / "sharescan.toml"
    cfg.write_text('[organisation]\ndomains = ["example.org"]\n[google]\nservice_account_file = "k.json"\n'
                   'admin_subject = "admin@example.org"\n')
    result = run("--config", str(cfg), "scan")
    assert result.returncode == 3, result.stderr
    assert result.stderr.strip().endswith("is not initialised: run `sharescan init`")


def test_tables_print_attacker_controlled_text_verbatim() -> None:
    from rich.console import Console

    from scanner.cli.render import render

    console = Console(record=True, width=200)
    name = "[link=https://evil.example]payroll[/link] [bold]x"
    render([{"file": name, "subject": "[sharescan] Sharing changed"}], ("file", "subject"), "table",
           console=console)
    text = console.export_text()
    assert name in text and "[sharescan] Sharing changed" in text


def test_registry_lists_every_command_with_its_own_help() -> None:
    """`sharescan --help` prints the registry's one-line help without importing the commands: it must be the
    command's own, and no command of a scanner.cli module may be missing from it."""
    import importlib
    import pkgutil

    import scanner.cli
    from scanner.cli.main import REGISTRY

    found: dict[str, click.Command] = {}
    for info in pkgutil.iter_modules(scanner.cli.__path__):
        module = importlib.import_module(f"scanner.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            found[command.name or ""] = command
    assert sorted(found) == sorted(REGISTRY)
    for name, entry in REGISTRY.items():
        assert found[name] in importlib.import_module(entry.module).COMMANDS
        assert entry.help == found[name].get_short_help_str(limit=1000), (
            f"scanner/cli/main.py REGISTRY[{name!r}].help differs from the command's docstring: update it")


def test_importing_the_cli_imports_no_heavy_library() -> None:
    code = ("import sys, scanner.cli.main; heavy = ('googleapiclient', 'presidio_analyzer', 'spacy', 'sqlalchemy', "
            "'pydantic', 'rich'); print(','.join(m for m in heavy if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_help_documents_every_exit_code() -> None:
    from scanner.core.errors import ExitCode

    result = run("--help")
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("Exit codes:", 1)[1]
    listed = [int(line.split()[0]) for line in table.strip().splitlines()]
    assert listed == [int(c) for c in ExitCode]


def test_readme_documents_every_exit_code() -> None:
    from scanner.cli.main import EXIT_CODE_HELP
    from scanner.core.errors import ExitCode

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and line[2:4].strip().isdigit()]
    assert [int(r.split("|")[1]) for r in rows] == [int(c) for c in ExitCode]
    assert set(EXIT_CODE_HELP) == set(ExitCode)


def test_shell_completion_of_command_names_uses_the_registry() -> None:
    env = {**os.environ, "_SHARESCAN_COMPLETE": "bash_complete", "COMP_WORDS": "sharescan sc", "COMP_CWORD": "1"}
    code = ("import sys; from scanner.cli.main import cli\n"
            "try:\n    cli.main(prog_name='sharescan', complete_var='_SHARESCAN_COMPLETE')\n"
            "except SystemExit:\n    pass\n"
            "print('LOADED', sorted(m for m in ('sqlalchemy', 'googleapiclient') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "plain,scan" in result.stdout and "plain,scans" in result.stdout and "plain,schedule" in result.stdout
    assert "LOADED []" in result.stdout


@pytest.mark.parametrize(("actor", "ok"), [("alice@tessera-labs.com", True), ("ci-bot", True), (" ", False),
                                            ("a\u202eb", False), ("x" * 321, False)])
def test_actor_option_and_variable(actor: str, ok: bool) -> None:
    for result in (run("findings", "exemptions", env={**os.environ, "SHARESCAN_ACTOR": actor}),
                   run("--actor", actor, "findings", "exemptions")):
        if ok:
            assert result.returncode in (0, 3), result.stderr  # the actor is accepted (no database yet: 3)
        else:
            assert result.returncode == 2
            assert "--actor / SHARESCAN_ACTOR" in result.stderr
