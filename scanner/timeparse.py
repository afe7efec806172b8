"""Points in time given on the command line: one parser for every ``--since``.

Accepted, surrounding whitespace ignored:

* an ISO date, ``2026-01-31`` — midnight UTC;
* an ISO date and time, ``2026-01-31T08:00``, ``2026-01-31 08:00:30``, with ``Z`` or an offset such as
  ``+02:00`` (UTC when it has none);
* an age before now: a whole number and a unit, ``90s``, ``30m``, ``12h``, ``7d``, ``2w`` (case-insensitive,
  a space between them allowed).

The result is always an aware datetime in UTC. Anything else raises :class:`TimeParseError` with one
message that lists the accepted forms.
"""

from __future__ import annotations

import datetime as dt
import re

from scanner.core.errors import ConfigError

_AGE = re.compile(r"^(\d+)\s*([smhdw])$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
FORMATS_HELP = ("an ISO date (2026-01-31), an ISO date and time (2026-01-31T08:00Z, 2026-01-31T08:00+02:00; "
                "UTC if no offset) or an age (30m, 12h, 7d, 2w)")


class TimeParseError(ConfigError):
    """A ``--since`` value that is none of the accepted forms (exit code 2, like other usage errors)."""


def _error(value: str, option: str) -> TimeParseError:
    return TimeParseError(f"{option} {value!r}: expected {FORMATS_HELP}")


def parse_age(text: str) -> dt.timedelta | None:
    """``30m`` / ``12h`` / ``7d`` / ``2w`` (also ``s``) as a timedelta; None when ``text`` is not an age."""
    match = _AGE.match(text.strip())
    if not match:
        return None
    return dt.timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def parse_instant(value: str, *, option: str = "--since") -> dt.datetime:
    """An ISO date or date-time (``Z``/offset, UTC if none) as an aware UTC datetime."""
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _error(value, option) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def parse_since(value: str | None, *, now: dt.datetime | None = None, option: str = "--since") -> dt.datetime | None:
    """``None``/blank → None; an age → ``now`` minus it; an ISO date or date-time → that instant, in UTC."""
    if value is None or not value.strip():
        return None
    try:
        age = parse_age(value)
        if age is not None:
            return ((now or dt.datetime.now(dt.UTC)) - age).astimezone(dt.UTC)
    except OverflowError:
        raise TimeParseError(f"{option} {value!r}: that age reaches before year 1") from None
    return parse_instant(value, option=option)
