"""The layers of docs/ARCHITECTURE.md, enforced: the import contracts in pyproject.toml hold, and
they would catch an import that runs the wrong way (so this test can fail)."""

from __future__ import annotations

import copy
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import grimp
import pytest
from importlinter import configuration
from importlinter.contracts.acyclic_siblings import AcyclicSiblingsContract
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract
from importlinter.domain.contract import Contract

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
TYPES: dict[str, type[Contract]] = {"layers": LayersContract, "forbidden": ForbiddenContract,
                                    "acyclic_siblings": AcyclicSiblingsContract}


def test_lint_imports_passes() -> None:
    """What CI runs: every contract kept."""
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
                           "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    configuration.configure()  # what the lint-imports command does first (timers, printer)
    return grimp.build_graph("scanner", cache_dir=None)


def contract(contract_id: str) -> Contract:
    options: dict[str, Any] = next(c for c in CONFIG["contracts"] if c["id"] == contract_id)
    contract_options = {k: v for k, v in options.items() if k not in ("id", "name", "type")}
    return TYPES[options["type"]](name=options["name"], session_options={"root_packages": ["scanner"]},
                                  contract_options=contract_options)


@pytest.mark.parametrize(("contract_id", "importer", "imported"), [
    ("layers", "scanner.store.repo", "scanner.policy.evaluate"),  # store -> policy (upstairs)
    ("layers", "scanner.export.writers", "scanner.cli.render"),  # export -> cli
    ("layers", "scanner.connectors.google.directory", "scanner.drive.crawler"),  # google -> drive
    ("layers", "scanner.core.models", "scanner.store.models"),  # core imports nothing of ours
    ("store-only-core", "scanner.store.repo", "scanner.config"),
    ("connectors", "scanner.connectors.google.drive_api", "scanner.store.models"),
    ("content-provider-free", "scanner.content.extract", "scanner.config"),
    ("emulator-isolated", "scanner.emulator.server", "scanner.core.models"),
    ("acyclic", "scanner.schedule.jobs", "scanner.run"),  # run -> schedule.lock -> ... -> run: a cycle
])
def test_contract_catches_wrong_import(graph: grimp.ImportGraph, contract_id: str, importer: str,
                                       imported: str) -> None:
    assert contract(contract_id).check(copy.deepcopy(graph), verbose=False).kept
    changed = copy.deepcopy(graph)
    changed.add_import(importer=importer, imported=imported)
    assert not contract(contract_id).check(changed, verbose=False).kept
