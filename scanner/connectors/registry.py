"""The connectors sharescan knows: the built-in ``google`` and those of installed distributions
(entry point group ``sharescan.connectors``). An element describes its provider: the name stored on
targets, files and findings, and the capabilities it declares (``scanner.connectors.base.Capability``)."""

from __future__ import annotations

from dataclasses import dataclass

from scanner.connectors.base import Capability
from scanner.core.registry import GROUP_CONNECTORS, Registry


@dataclass(frozen=True)
class ConnectorInfo:
    #: The provider name (``provider`` column, fingerprints of providers other than google).
    name: str
    capabilities: frozenset[Capability]
    #: The configuration section that holds its settings (``[google]``).
    settings_section: str = ""
    description: str = ""


CONNECTORS: Registry[ConnectorInfo] = Registry(GROUP_CONNECTORS, builtins=("scanner.connectors.google.connector",))
