"""CLI commands (filled in by the owning module)."""

import click

COMMANDS: list[click.Command] = []
