"""Connectors, detector types and export writers are found through registries that also read
installed distributions' entry points."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from scanner.connectors.base import Capability
from scanner.connectors.registry import CONNECTORS, ConnectorInfo
from scanner.core import registry as registry_module
from scanner.detect.detector_types import DETECTOR_TYPES
from scanner.export.service import writers
from scanner.export.writers import WRITERS

BOX = ConnectorInfo(name="box", capabilities=frozenset({Capability.GRANT_EXPIRY}))


class EveryoneDetector:
    """Fires whenever anything was found (a detector type a plugin could ship)."""

    name = "everything"
    params_schema: dict[str, Any] = {"type": "object"}

    def evaluate(self, spec: Any, ev: Any) -> list[Any]:
        return list(ev.found)


class NullWriter:
    name = "null"

    def start(self, data: Any, out_dir: Path, files: Any) -> None:
        return None

    def finish(self, data: Any, out_dir: Path) -> list[str]:
        return []


def install(monkeypatch: pytest.MonkeyPatch, group: str, name: str, value: str) -> None:
    ep = EntryPoint(name=name, value=value, group=group)
    real = registry_module.entry_points
    monkeypatch.setattr(registry_module, "entry_points",
                        lambda *, group: [ep] if group == ep.group else list(real(group=group)))


@pytest.fixture()
def cleanup() -> Iterator[None]:
    yield
    CONNECTORS.unregister("box")
    DETECTOR_TYPES.unregister("everything")
    WRITERS.unregister("null")


def test_google_is_the_builtin_connector() -> None:
    google = CONNECTORS.get("google")
    assert {Capability.PUBLISH_TO_WEB, Capability.INHERITED_GRANTS, Capability.CHANGE_FEED} <= google.capabilities
    with pytest.raises(KeyError, match="known: google"):
        CONNECTORS.get("box")


def test_entry_points_add_a_connector_a_detector_type_and_a_writer(monkeypatch: pytest.MonkeyPatch,
                                                                   cleanup: None) -> None:
    install(monkeypatch, "sharescan.connectors", "box", "tests.connectors.test_registry:BOX")
    CONNECTORS.load(reload=True)
    assert CONNECTORS.get("box") is BOX and "google" in CONNECTORS

    install(monkeypatch, "sharescan.detectors", "everything", "tests.connectors.test_registry:EveryoneDetector")
    DETECTOR_TYPES.load(reload=True)
    assert isinstance(DETECTOR_TYPES["everything"], EveryoneDetector)  # a class is instantiated
    assert {"entities", "roster"} <= set(DETECTOR_TYPES.names())

    install(monkeypatch, "sharescan.writers", "null", "tests.connectors.test_registry:NullWriter")
    WRITERS.load(reload=True)
    assert WRITERS["null"] is NullWriter  # writers are classes: an instance per export
    assert isinstance(writers()["null"], NullWriter)
    assert {"csv", "jsonl", "ocsf", "html"} <= set(writers())


def test_a_writer_installed_through_its_entry_point_is_an_export_format_choice(monkeypatch: pytest.MonkeyPatch,
                                                                               cleanup: None) -> None:
    from click.testing import CliRunner

    from scanner.cli.main import cli

    before = CliRunner().invoke(cli, ["export", "--format", "null"])
    assert before.exit_code == 2 and "'null' is not one of" in before.output
    install(monkeypatch, "sharescan.writers", "null", "tests.connectors.test_registry:NullWriter")
    WRITERS.load(reload=True)
    shown = CliRunner().invoke(cli, ["export", "--help"])
    assert shown.exit_code == 0 and "null" in shown.output.replace("\n", " ")
    wrong = CliRunner().invoke(cli, ["export", "--format", "bogus"])
    assert wrong.exit_code == 2 and "'null'" in wrong.output and "'csv'" in wrong.output
