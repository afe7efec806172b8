"""The CLI shell: version, help everywhere, one-line errors, no tracebacks without --debug."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from scanner.cli.main import cli


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner.cli.main", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, command in group.commands.items():
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
        command = command.commands[part]
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
