"""Plain values for every output: JSON-able conversion and safe CSV cells.

Shared by the export writers and the CLI's listings (``scanner.cli.render``), so exports never
import the CLI. JSON and CSV carry the same fields: CSV joins lists with ``; `` and mappings as
``key=value``, and a cell a spreadsheet would evaluate as a formula is quoted.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import json
from collections.abc import Iterable, Sequence
from typing import Any

from scanner.safetext import display

#: Characters that make spreadsheet programs evaluate a cell (CSV injection).
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


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


def flat(value: Any) -> Any:
    """A listing cell for CSV: lists of plain values joined with ``; `` (an empty list is an empty cell),
    lists that hold records as one JSON array, mappings as ``key=value``, the rest as it is."""
    value = to_jsonable(value)
    if isinstance(value, list):
        if any(isinstance(v, dict | list) for v in value):
            return json.dumps(value, ensure_ascii=False)
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={flat(v)}" for k, v in value.items())
    return value


def write_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str], stream: Any) -> None:
    writer = csv.writer(stream)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_safe(flat(row.get(c))) for c in columns])


def fields_of(rows: Sequence[dict[str, Any]], fallback: Sequence[str]) -> list[str]:
    """Every key of the rows, in first-seen order (the fallback when there are no rows)."""
    out: dict[str, None] = {}
    for row in rows:
        out.update(dict.fromkeys(row))
    return list(out) or list(fallback)
