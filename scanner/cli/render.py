"""Rendering for every listing: a rich table, JSON or CSV (``--format``).

Commands build plain rows (dicts of JSON-able values) and call :func:`render`; nothing else
in the CLI decides how output looks. Tables and CSV show text through ``safetext.display`` (a
Drive-chosen name cannot hide behind bidi controls or forge a CSV row); JSON keeps values exact.

- JSON and CSV carry the same fields: every key of the rows (CSV joins lists with ``; `` and
  mappings as ``key=value``, never JSON inside a cell).
- A table shows the command's columns that fit the width (the terminal's, ``$COLUMNS`` when
  piped, else 160): each :class:`Col` says how soon it leaves (``drop``) and how narrow it may be
  cut; rows stay one line each, long cells end in an ellipsis.
- ``--columns a,b,c`` picks the fields for every format.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from scanner.export.values import dumps, fields_of, to_jsonable, write_csv
from scanner.safetext import display

if TYPE_CHECKING:  # rich is imported when a table is drawn
    from rich.console import Console
    from rich.text import Text

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "csv")


#: Where ``--columns`` leaves its choice for :func:`render` (in the click context's ``meta``).
COLUMNS_META = "sharescan.columns"
#: Table width when output is piped and ``$COLUMNS`` is not set.
PIPED_WIDTH = 160


@dataclass(frozen=True)
class Col:
    """A table column: ``drop`` 0 always stays, higher numbers leave first when the table does not fit;
    ``min_width`` is how narrow it may be cut (with an ellipsis) before it must leave instead."""

    name: str
    drop: int = 0
    min_width: int = 12


def _store_columns(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        names = [n.strip().replace("-", "_") for n in value.split(",") if n.strip()]
        ctx.meta[COLUMNS_META] = names


def format_option(default: str = "table", choices: Sequence[str] = FORMATS, *,
                  columns: bool | None = None) -> Callable[[F], F]:
    """``--format``, and for listings (``columns``; default: when CSV is offered) ``--columns``."""
    fmt = click.option(
        "--format", "fmt", type=click.Choice(list(choices)), default=default, show_default=True,
        help="Output format: a readable table, or JSON/CSV for scripts.",
    )
    if not (columns if columns is not None else "csv" in choices):
        return fmt
    pick = click.option(
        "--columns", "columns", expose_value=False, callback=_store_columns, metavar="NAME,...",
        help="Fields to show, in this order (every format). Default: the table shows what fits the width; "
             "JSON and CSV carry every field.",
    )

    def decorate(func: F) -> F:
        return fmt(pick(func))

    return decorate


def chosen_columns() -> list[str] | None:
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(COLUMNS_META) if ctx is not None else None


def make_console(*, stderr: bool = False) -> Console:
    """A console as wide as the terminal; when piped, ``$COLUMNS`` wide, else :data:`PIPED_WIDTH`."""
    from rich.console import Console

    console = Console(stderr=stderr)
    if not console.is_terminal and not os.environ.get("COLUMNS", "").strip().isdigit():
        console.width = PIPED_WIDTH
    return console


def _shown(value: Any) -> Text:
    """A table cell as plain text (never markup), each of its lines through ``safetext.display``."""
    from rich.text import Text

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


def as_cols(columns: Sequence[str | Col]) -> list[Col]:
    """Plain names become columns that leave right to left (the first one always stays)."""
    out = []
    for index, column in enumerate(columns):
        out.append(column if isinstance(column, Col) else Col(column, drop=0 if index == 0 else 100 + index))
    return out


#: Characters a rich table spends per column (padding and border) and once (the left border).
_PER_COLUMN = 3


def _natural(col: Col, rows: Sequence[dict[str, Any]]) -> int:
    return max([len(col.name)] + [len(display(_cell(r.get(col.name)))) for r in rows])


def _narrowest(col: Col, natural: int) -> int:
    return min(natural, max(col.min_width, len(col.name)))


def fit_columns(columns: Sequence[Col], rows: Sequence[dict[str, Any]], width: int) -> list[tuple[Col, int]]:
    """The columns that fit ``width`` and the width each gets.

    Columns leave by ``drop`` rank until the rest fit at their narrowest acceptable widths; then the
    widest columns give up characters first, none below its narrowest."""
    natural = {c.name: _natural(c, rows) for c in columns}
    kept = list(columns)
    while sum(_narrowest(c, natural[c.name]) + _PER_COLUMN for c in kept) + 1 > width:
        droppable = [c for c in kept if c.drop > 0]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda c: (c.drop, kept.index(c))))
    widths = {c.name: natural[c.name] for c in kept}
    excess = sum(widths.values()) + _PER_COLUMN * len(kept) + 1 - width
    while excess > 0:
        shrinkable = [c for c in kept if widths[c.name] > _narrowest(c, natural[c.name])]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda c: widths[c.name] - _narrowest(c, natural[c.name]))
        widths[widest.name] -= 1
        excess -= 1
    return [(c, widths[c.name]) for c in kept]


def _pick(names: Sequence[str], known: Sequence[str]) -> list[str]:
    unknown = [n for n in names if n not in known]
    if unknown:
        raise click.BadParameter(f"unknown column(s) {', '.join(unknown)} (known: {', '.join(known)})",
                                 param_hint="--columns")
    return list(names)


def render(
    rows: list[dict[str, Any]],
    columns: Sequence[str | Col],
    fmt: str,
    *,
    title: str | None = None,
    console: Console | None = None,
    empty: str = "nothing to show",
) -> None:
    cols = as_cols(columns)
    fields = fields_of(rows, [c.name for c in cols])
    chosen = chosen_columns()
    if chosen:
        known = list(dict.fromkeys([c.name for c in cols] + fields))
        fields = _pick(chosen, known)
        by_name = {c.name: c for c in cols}
        cols = [Col(n, drop=0, min_width=by_name[n].min_width if n in by_name else 12) for n in fields]
    if fmt == "json":
        click.echo(dumps([{f: row.get(f) for f in fields} for row in rows] if chosen else rows))
        return
    if fmt == "csv":
        write_csv(rows, fields, sys.stdout)
        return
    from rich.table import Table
    from rich.text import Text

    console = console or make_console()
    if not rows:
        console.print(f"[dim]{empty}[/dim]")
        return
    shown = fit_columns(cols, rows, console.width)
    table = Table(title=title, show_lines=False, header_style="bold")
    for column, width in shown:
        table.add_column(column.name.replace("_", " "), no_wrap=True, overflow="ellipsis", width=width)
    for row in rows:
        # Text, not markup: file names are attacker-controlled ("[link=...]" must print as typed).
        # One line per row: display() flattens line breaks and shows bidi/control characters.
        table.add_row(*(Text(display(_cell(row.get(c.name)))) for c, _ in shown))
    console.print(table)
    names = {c.name for c, _ in shown}
    hidden = [c.name for c in cols if c.name not in names]
    if hidden and console.is_terminal:
        console.print(f"[dim]{len(hidden)} more column(s) with a wider terminal or --columns: "
                      f"{', '.join(hidden)}[/dim]")


def render_record(record: dict[str, Any], fmt: str, *, title: str | None = None) -> None:
    """One object: key/value table, or JSON."""
    if fmt == "json":
        click.echo(dumps(record))
        return
    if fmt == "csv":
        write_csv([record], list(record), sys.stdout)
        return
    from rich.table import Table

    table = Table(title=title, show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        table.add_row(key.replace("_", " "), _shown(value))
    make_console().print(table)
