"""A sharescan installation as an operator sets one up: a config file, keys named by the environment
variables ``sharescan emulator serve`` prints, and the command run as a subprocess (no TTY)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from scanner.demo import DEMO_DOMAIN
from scanner.emulator import Emulator
from scanner.emulator.seeds.demo import ADMIN

Run = Callable[..., subprocess.CompletedProcess[str]]


def write_config(directory: Path, **sections: Mapping[str, object]) -> Path:
    """A sharescan.toml for the demo workspace (database and keys in ``directory``)."""
    base: dict[str, dict[str, object]] = {
        "organisation": {"domains": [DEMO_DOMAIN]},
        "google": {"admin_subject": ADMIN},
        "database": {"url": f"sqlite:///{directory / 'sharescan.db'}"},
        "detect": {"nlp": "pattern-only", "key_file": str(directory / "evidence.key")},
        "remediation": {"max_actions_share": 1.0},
        "export": {"signing_key_file": str(directory / "signing.key")},
    }
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    lines = []
    for name, values in base.items():
        lines.append(f"[{name}]")
        for key, value in values.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {str(value).lower()}")
            elif isinstance(value, int | float):
                lines.append(f"{key} = {value}")
            elif isinstance(value, list):
                lines.append(f"{key} = [" + ", ".join(f'"{v}"' for v in value) + "]")
            else:
                lines.append(f'{key} = "{value}"')
    path = directory / "sharescan.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def installation(emulator: Emulator, tmp_path: Path) -> dict[str, str]:
    """Environment of an installation pointed at the emulator, database initialised."""
    key = tmp_path / "emulator-key.json"
    emulator.write_key_file(key)
    config = write_config(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARESCAN_") and k != "COLUMNS"}
    env.update({"SHARESCAN_CONFIG": str(config), "SHARESCAN_GOOGLE_ENDPOINT": emulator.endpoint,
                "SHARESCAN_GOOGLE_KEY_FILE": str(key), "SHARESCAN_DATA_DIR": str(tmp_path / "data")})
    init = subprocess.run([sys.executable, "-m", "scanner.cli.main", "init"], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert init.returncode == 0, init.stderr
    return env


@pytest.fixture
def sharescan(installation: dict[str, str], tmp_path: Path) -> Run:
    """Run ``sharescan ARGS`` as cron would: no TTY, stdin closed, stderr to a file (returned as ``.stderr``)."""

    def run(*args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        log = tmp_path / "stderr.log"
        with log.open("w", encoding="utf-8") as err:
            result = subprocess.run([sys.executable, "-m", "scanner.cli.main", *args],
                                    env={**installation, **(env or {})}, stdout=subprocess.PIPE, stderr=err,
                                    stdin=subprocess.DEVNULL, text=True, timeout=timeout, cwd=tmp_path)
        return subprocess.CompletedProcess(result.args, result.returncode, result.stdout,
                                           log.read_text(encoding="utf-8"))

    return run
