"""What the store takes from policy and detection, as neutral shapes (the store imports only core).

``policy.evaluate.Match`` satisfies :class:`FindingSource` and ``detect.models.ContentResult``
satisfies :class:`EvidenceSource` structurally: the store reads these attributes and nothing else,
so neither side imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from scanner.core.models import DriveFile, Exposure


@dataclass(frozen=True)
class StoredExemption:
    """A people-made exemption from the database (rule/file/folder level), already known to be active."""

    rule_id: str | None = None
    file_id: str | None = None
    folder_id: str | None = None
    reason: str = ""


class BlastRadiusSource(Protocol):
    def to_json(self) -> dict[str, int]: ...


class FindingSource(Protocol):
    """A rule matched an item: what the store records as a finding."""

    @property
    def fingerprint(self) -> str: ...
    @property
    def rule_id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def severity(self) -> str: ...
    @property
    def file(self) -> DriveFile: ...
    @property
    def principal(self) -> str | None: ...
    @property
    def exposure(self) -> Exposure: ...
    @property
    def categories(self) -> tuple[str, ...]: ...
    @property
    def blast_radius(self) -> BlastRadiusSource | None: ...

    def matched_permissions_json(self) -> list[dict[str, Any]]: ...
    def detectors_json(self) -> dict[str, Any]: ...


class EvidenceSummarySource(Protocol):
    @property
    def entity_type(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def distinct_values(self) -> int: ...
    @property
    def best_score(self) -> float: ...
    @property
    def first_location(self) -> str: ...
    @property
    def masked_preview(self) -> str: ...
    @property
    def value_hash(self) -> str: ...


class DetectorHitSource(Protocol):
    @property
    def detector(self) -> str: ...
    @property
    def categories(self) -> tuple[str, ...]: ...
    @property
    def evidence(self) -> Sequence[EvidenceSummarySource]: ...


class EvidenceSource(Protocol):
    """The outcome of analysing one revision, as far as the evidence rows go (no values)."""

    @property
    def hits(self) -> Sequence[DetectorHitSource]: ...
