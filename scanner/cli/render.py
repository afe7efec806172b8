"""Rendering for every listing: a rich table, JSON or CSV (``--format``).

Commands build plain rows (dicts of JSON-able values) and call :func:`render`; nothing else
in the CLI decides how output looks. Tables and CSV show text through ``safetext.display`` (a
Drive-chosen name cannot hide behind bidi controls or forge a CSV row); JSON keeps values exact.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from scanner.safetext import display

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "csv")
#: Characters that make spreadsheet programs evaluate a cell (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def format_option(default: str = "table", choices: Sequence[str] = FORMATS) -> Callable[[F], F]:
    return click.option(
        "--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True,
        help="Output format: a readable table, or JSON/CSV for scripts.",
    )


def to_jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), indent=2, sort_keys=False, ensure_ascii=False)


def csv_safe(value: Any) -> str:
    """A CSV cell that a spreadsheet will not evaluate as a formula (OWASP CSV injection), on one line,
    with bidi and control characters shown (``safetext.display``)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = json.dumps(to_jsonable(value)) if isinstance(value, dict | list | tuple) else str(to_jsonable(value))
    value = display(value)
    if value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], stream: Any) -> None:
    writer = csv.writer(stream)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(row.get(c)) for c in columns])


def make_console(*, stderr: bool = False) -> Console:
    """A console; when output is piped or captured, wide enough that tables are not squeezed to 80."""
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    return console


def _shown(value: Any) -> Text:
    """A table cell as plain text (never markup), each of its lines through ``safetext.display``."""
    return Text("\n".join(display(line) for line in _cell(value).split("\n")))


def _cell(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    value = to_jsonable(value)
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def render(
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    title: str | None = None,
    console: Console | None = None,
    empty: str = "nothing to show",
) -> None:
    if fmt == "json":
        click.echo(dumps(rows))
        return
    if fmt == "csv":
        write_csv(rows, columns, sys.stdout)
        return
    console = console or make_console()
    if not rows:
        console.print(f"[dim]{empty}[/dim]")
        return
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        table.add_column(column.replace("_", " "), overflow="fold")
    for row in rows:
        # Text, not markup: file names are attacker-controlled ("[link=...]" must print as typed).
        table.add_row(*(_shown(row.get(c)) for c in columns))
    console.print(table)


def render_record(record: dict[str, Any], fmt: str, *, title: str | None = None) -> None:
    """One object: key/value table, or JSON."""
    if fmt == "json":
        click.echo(dumps(record))
        return
    if fmt == "csv":
        write_csv([record], list(record), sys.stdout)
        return
    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        table.add_row(key.replace("_", " "), _shown(value))
    make_console().print(table)
