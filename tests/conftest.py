"""Shared fixtures.

Database tests run on SQLite always, and on PostgreSQL when ``SHARESCAN_TEST_DATABASE_URL``
names one; without it they skip with the reason. In CI (``CI=true``, or ``SHARESCAN_REQUIRE_POSTGRES=1``)
they must run: the URL defaults to the CI server (``postgresql://postgres@127.0.0.1:5432/test``) and an
unreachable PostgreSQL is a failure, not a skip.
Each PostgreSQL test gets a schema of its own (``search_path`` in the URL), dropped afterwards, so
test runs on one server do not interfere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from scanner.emulator import Emulator, ServiceAccountKey
from scanner.store import migrate
from scanner.store.db import make_engine, make_sessionmaker, normalise_url

PG_ENV = "SHARESCAN_TEST_DATABASE_URL"
REQUIRE_ENV = "SHARESCAN_REQUIRE_POSTGRES"
CI_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
#: The audit key of the ``sessions`` fixture and of every App in tests: events are keyed (HMAC), as an
#: installation's are.
TEST_AUDIT_KEY = bytes(range(32))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's config, data dir or Google endpoint."""
    data = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("SHARESCAN_DATA_DIR", str(data))
    # the App's audit key (<data dir>/audit.key) is the ``sessions`` fixture's: both write one keyed chain
    fd = os.open(data / "audit.key", os.O_CREAT | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(TEST_AUDIT_KEY.hex() + "\n")
    for var in ("SHARESCAN_CONFIG", "SHARESCAN_DATABASE_URL", "SHARESCAN_GOOGLE_ENDPOINT", "SHARESCAN_GOOGLE_KEY_FILE",
                "SHARESCAN_GOOGLE_REMEDIATION_KEY_FILE", "SHARESCAN_ACTOR", "SHARESCAN_LOG_FORMAT", "COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(data)


def _pg_admin(url: str, statement: str) -> None:
    engine = create_engine(normalise_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()


def _schema_url(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{normalise_url(url)}{sep}options=-csearch_path%3D{schema}"


def _postgres_required() -> bool:
    """In CI the PostgreSQL variants must run, never silently skip."""
    if os.environ.get("CI", "").strip().lower() == "true":
        return True
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes"}


def postgres_url() -> str | None:
    url = os.environ.get(PG_ENV) or (CI_PG_URL if _postgres_required() else None)
    if not url:
        return None
    try:
        _pg_admin(url, "SELECT 1")
    except Exception as exc:  # noqa: BLE001
        if _postgres_required():
            pytest.fail(f"PostgreSQL at {url} unreachable in CI (CI=true or {REQUIRE_ENV}=1): {exc}")
        pytest.skip(f"PostgreSQL at {url} unreachable: {exc}")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, on SQLite and (when configured) PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    url = postgres_url()
    if url is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _pg_admin(url, f"CREATE SCHEMA {schema}")
    try:
        yield _schema_url(url, schema)
    finally:
        _pg_admin(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def migrated_url(db_url: str) -> str:
    migrate.upgrade(db_url)
    return db_url


@pytest.fixture
def sessions(migrated_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(migrated_url)
    try:
        yield make_sessionmaker(engine, audit_key=TEST_AUDIT_KEY)
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database only (for tests that are not about the backend)."""
    url = f"sqlite:///{tmp_path / 'sharescan.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def sa_key() -> ServiceAccountKey:
    """One emulator service-account key for the session (RSA generation is the slow part)."""
    return ServiceAccountKey.generate()


@pytest.fixture()
def emulator(sa_key: ServiceAccountKey) -> Iterator[Emulator]:
    """The Google API emulator with the demo workspace, on a free port of 127.0.0.1."""
    with Emulator(seed="demo", key=sa_key) as emu:
        yield emu
