"""An emulator with the demo workspace and an App pointed at it, per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.app import App
from scanner.demo import demo_settings
from scanner.emulator import Emulator


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed="demo") as emu:
        yield emu


@pytest.fixture
def make_app(emulator: Emulator, tmp_path: Path) -> Iterator:
    apps: list[App] = []

    def _make(**overrides: dict) -> App:
        key = tmp_path / "key.json"
        if not key.exists():
            emulator.write_key_file(key)
        settings = demo_settings(tmp_path, emulator.endpoint, key).with_overrides(
            remediation={"mode": "dry-run", "max_actions_share": 1.0}, **overrides)
        app = App(settings, actor="tester@tessera-labs.com")
        app.init_database()
        apps.append(app)
        return app

    yield _make
    for app in apps:
        app.close()
