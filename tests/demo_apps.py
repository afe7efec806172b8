"""Fixtures: an emulator with the demo workspace and an App pointed at it, per test (imported by the
conftest of every test package that scans the emulator: run, posture, labels).

``make_app`` runs on SQLite and (with SHARESCAN_TEST_DATABASE_URL) PostgreSQL; ``make_sqlite_app``
is for tests that read the SQLite file itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.app import App
from scanner.demo import demo_settings
from scanner.emulator import Emulator

MakeApp = Callable[..., App]


def _factory(emulator: Emulator, tmp_path: Path, database_url: str | None, apps: list[App]) -> MakeApp:
    def _make(**overrides: dict[str, Any]) -> App:
        key = tmp_path / "key.json"
        if not key.exists():
            emulator.write_key_file(key)
        settings = demo_settings(tmp_path, emulator.endpoint, key)
        extra: dict[str, dict[str, Any]] = {"remediation": {"mode": "dry-run", "max_actions_share": 1.0}}
        if database_url:
            extra["database"] = {"url": database_url}
        settings = settings.with_overrides(**extra).with_overrides(**overrides)
        app = App(settings, actor="tester@tessera-labs.com")
        app.init_database()
        apps.append(app)
        return app

    return _make


@pytest.fixture
def make_app(emulator: Emulator, tmp_path: Path, db_url: str) -> Iterator[MakeApp]:
    apps: list[App] = []
    yield _factory(emulator, tmp_path, db_url, apps)
    for app in apps:
        app.close()


@pytest.fixture
def make_sqlite_app(emulator: Emulator, tmp_path: Path) -> Iterator[MakeApp]:
    apps: list[App] = []
    yield _factory(emulator, tmp_path, None, apps)
    for app in apps:
        app.close()
