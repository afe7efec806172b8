"""A user who only ran `pip install sharescan` (no source tree) can still `sharescan init`:
the wheel carries the Alembic migrations and the built-in rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def clean_source(dest: Path) -> Path:
    """The repository's files as a fresh checkout has them: setuptools' in-tree ``build/`` keeps files a
    developer's earlier builds left (a renamed migration would give the wheel two Alembic heads)."""
    ignore = shutil.ignore_patterns("build", "dist", ".venv", ".git", "*.egg-info", "__pycache__", ".*_cache",
                                    "sharescan-demo")
    shutil.copytree(REPO, dest, ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = clean_source(tmp_path_factory.mktemp("source") / "sharescan")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
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
    assert "scanner/rules/samples/roster_table.docx" in names and "scanner/rules/samples/invoice_bank.pdf" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)
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


@pytest.mark.slow
def test_wheel_in_a_clean_venv_runs_the_demo_and_the_rule_tests(wheel: Path, tmp_path: Path) -> None:
    """What a user gets from `pip install sharescan-*.whl`: no source tree, no editable install. The
    dependencies come from this environment through a path file (no download), the wheel itself with
    --no-deps; `pip check` then proves the wheel's declared requirements are met."""
    import site
    import venv

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "deps-from-test-environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert "sharescan" not in check.stdout, check.stdout  # its requirements are all there

    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARESCAN_")}
    env["SHARESCAN_DATA_DIR"] = str(tmp_path / "data")
    sharescan = str(env_dir / "bin" / "sharescan")
    where = subprocess.run([str(python), "-c", "import scanner; print(scanner.__file__)"], capture_output=True,
                           text=True, env=env, cwd=tmp_path, timeout=60)
    assert where.stdout.strip().startswith(purelib), where

    rules = subprocess.run([sharescan, "rules", "test", "--format", "json"], capture_output=True, text=True,
                           env=env, cwd=tmp_path, timeout=600)
    assert rules.returncode == 0, rules.stderr
    outcomes = [r["result"] for r in json.loads(rules.stdout)]
    assert len(outcomes) >= 30 and set(outcomes) == {"PASS"}

    demo = subprocess.run([sharescan, "demo", "--format", "json", "--output", str(tmp_path / "demo")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert demo.returncode == 0, demo.stderr
    story = json.loads(demo.stdout)
    assert story["manifest_verified"] is True and story["findings"] and story["sharing_changes"]
    assert Path(story["report"]).is_file()


def test_ci_runs_the_readme_commands_exactly() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    for section in ("## Set up and see it work (two commands)", "## Run the tests (one command)"):
        block = readme.split(section, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
        for command in block.strip().splitlines():
            assert any(line == command or line == command + " -q" for line in ci), command
