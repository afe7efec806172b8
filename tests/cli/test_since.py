"""One ``--since`` parser (scanner.timeparse) for `findings list`, `export` and `audit list`."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from scanner.cli.main import cli
from scanner.core.errors import ConfigError
from scanner.store.models import DriveFileRow, Finding
from scanner.timeparse import TimeParseError, parse_age, parse_since

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
UTC = dt.UTC
EXPECTED_FORMS = ("expected an ISO date (2026-01-31), an ISO date and time (2026-01-31T08:00Z, "
                  "2026-01-31T08:00+02:00; UTC if no offset) or an age (30m, 12h, 7d, 2w)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO dates: midnight UTC
        ("2026-03-01", dt.datetime(2026, 3, 1, tzinfo=UTC)),
        ("  2026-03-01  ", dt.datetime(2026, 3, 1, tzinfo=UTC)),
        ("20260301", dt.datetime(2026, 3, 1, tzinfo=UTC)),
        # ISO date-times: Z, offsets (converted to UTC), none (taken as UTC), space separator, seconds
        ("2026-03-01T08:00Z", dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T08:00z", dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T08:00:30Z", dt.datetime(2026, 3, 1, 8, 0, 30, tzinfo=UTC)),
        ("2026-03-01T08:00:00.250Z", dt.datetime(2026, 3, 1, 8, 0, 0, 250000, tzinfo=UTC)),
        ("2026-03-01T08:00+02:00", dt.datetime(2026, 3, 1, 6, 0, tzinfo=UTC)),
        ("2026-03-01T08:00-05:30", dt.datetime(2026, 3, 1, 13, 30, tzinfo=UTC)),
        ("2026-03-01T08:00+00:00", dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T08:00", dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01 08:00", dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)),
        ("2026-03-01T00:30+01:00", dt.datetime(2026, 2, 28, 23, 30, tzinfo=UTC)),  # crosses a day
        # ages before NOW
        ("90s", NOW - dt.timedelta(seconds=90)),
        ("30m", NOW - dt.timedelta(minutes=30)),
        ("12h", NOW - dt.timedelta(hours=12)),
        ("7d", NOW - dt.timedelta(days=7)),
        ("2w", NOW - dt.timedelta(weeks=2)),
        ("0d", NOW),
        ("7D", NOW - dt.timedelta(days=7)),
        (" 7 d ", NOW - dt.timedelta(days=7)),
        ("48h", dt.datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),
        # nothing
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_parse_since(text: str | None, expected: dt.datetime | None) -> None:
    got = parse_since(text, now=NOW)
    assert got == expected
    if got is not None:
        assert got.utcoffset() == dt.timedelta(0) and got.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["yesterday", "7", "d", "7x", "-7d", "7.5d", "7d12h", "1 week", "2026-02-30", "2026-13-01", "2026/03/01",
     "03/01/2026", "2026-03-01T25:00", "2026-03-01T08:00+25:00", "2026-03-01TZ", "Z", "now"],
)
def test_parse_since_rejects_with_one_message(text: str) -> None:
    with pytest.raises(TimeParseError) as err:
        parse_since(text, now=NOW)
    assert str(err.value) == f"--since {text!r}: {EXPECTED_FORMS}"
    assert isinstance(err.value, ConfigError) and err.value.exit_code == 2


def test_option_name_in_message_and_overflow() -> None:
    with pytest.raises(TimeParseError, match=r"^--after 'soon': expected an ISO date"):
        parse_since("soon", option="--after")
    with pytest.raises(TimeParseError, match=r"^--since '99999999w': that age reaches before year 1$"):
        parse_since("99999999w", now=NOW)


def test_default_now_is_current_time() -> None:
    before = dt.datetime.now(dt.UTC)
    got = parse_since("1h")
    after = dt.datetime.now(dt.UTC)
    assert got is not None and before - dt.timedelta(hours=1) <= got <= after - dt.timedelta(hours=1)


@pytest.mark.parametrize(("text", "expected"), [("30m", dt.timedelta(minutes=30)), ("2W", dt.timedelta(weeks=2)),
                                                ("2026-03-01", None), ("7", None), ("", None)])
def test_parse_age(text: str, expected: dt.timedelta | None) -> None:
    assert parse_age(text) == expected


# --- the CLI: the same parser and message behind each --since ---------------------------------------------------

def _seed(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        s.add(DriveFileRow(id="f1", name="roster.xlsx", owner_email="maria@tessera-labs.com"))
        for i, days in enumerate((20, 3, 0.01)):
            seen = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
            s.add(Finding(fingerprint=str(i) * 64, rule_id=f"rule-{i}", title="t", severity="high", file_id="f1",
                          exposure="anyone_with_link", first_seen=seen, last_seen=seen, status_changed_at=seen))


@pytest.fixture
def cli_db(sessions: sessionmaker[Session], migrated_url: str, monkeypatch: pytest.MonkeyPatch
           ) -> sessionmaker[Session]:
    monkeypatch.setenv("SHARESCAN_DATABASE_URL", migrated_url)
    _seed(sessions)
    return sessions


@pytest.mark.parametrize(("since", "rules"), [
    ("30m", ["rule-2"]), ("12h", ["rule-2"]), ("7d", ["rule-1", "rule-2"]), ("2w", ["rule-1", "rule-2"]),
    ("2000-01-01", ["rule-0", "rule-1", "rule-2"]), ("2000-01-01T00:00+02:00", ["rule-0", "rule-1", "rule-2"]),
    ("2999-01-01T00:00Z", []),
])
def test_findings_list_since(cli_db: sessionmaker[Session], since: str, rules: list[str]) -> None:
    import json

    result = CliRunner().invoke(cli, ["findings", "list", "--since", since, "--format", "json"])
    assert result.exit_code == 0, result.output
    assert sorted(r["rule_id"] for r in json.loads(result.output)) == rules


@pytest.mark.parametrize("command", [["findings", "list"], ["export", "--format", "csv"], ["audit", "list"]])
def test_bad_since_is_one_message_everywhere(cli_db: sessionmaker[Session], command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--since", "yesterday"])
    assert result.exit_code != 0
    assert isinstance(result.exception, TimeParseError)
    assert str(result.exception) == f"--since 'yesterday': {EXPECTED_FORMS}"
