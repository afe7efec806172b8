"""A user who only ran `pip install sharescan` (no source tree) can still `sharescan init`:
the wheel carries the Alembic migrations and the built-in rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True, capture_output=True, timeout=300,
    )
    (path,) = out.glob("sharescan-*.whl")
    return path


def test_wheel_ships_migrations_and_rules(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "scanner/migrations/env.py" in names
    assert "scanner/migrations/script.py.mako" in names
    assert any(n.startswith("scanner/migrations/versions/") and n.endswith(".py") for n in names)
    assert "scanner/rules/dictionaries/client_codenames.txt" in names
    assert any(n.startswith("scanner/rules/") and n.endswith(".yaml") for n in names), "no rule files in the wheel"
    assert not any(n.startswith("tests/") for n in names)


def test_installed_wheel_runs_init_outside_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(target), "SHARESCAN_DATA_DIR": str(tmp_path / "data")}
    code = ("import json, scanner; from scanner.cli.main import main; "
            "print(json.dumps({'file': scanner.__file__})); main(['init', '--format', 'json'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    first, rest = result.stdout.split("\n", 1)
    assert json.loads(first)["file"].startswith(str(target))
    assert json.loads(rest)["revision"]
