"""Parse ``--since`` values: an ISO date/datetime (UTC if no offset) or a relative age like ``7d``."""

from __future__ import annotations

import datetime as dt
import re

from scanner.errors import ConfigError

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """``None``/empty → None; ``7d``, ``12h``, ``30m`` → now minus that; ISO → that instant (UTC)."""
    if value is None or not value.strip():
        return None
    match = _RELATIVE.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        return (now or dt.datetime.now(dt.UTC)) - dt.timedelta(**{_UNITS[unit]: amount})
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--since {value!r}: expected an ISO date or time (2026-01-31, 2026-01-31T08:00Z) or an age (7d, 12h)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
