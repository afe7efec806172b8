"""How a named detector of detectors.yaml is evaluated, by its ``type:``.

* ``entities`` (the default): the detector's ``entities`` found at least ``min_count`` times;
  with ``requires_person: true`` only those linked to a person (same record, form, or near a name).
* ``roster``: a composite - in one chunk (sheet, table, section), a table with a name column and
  an e-mail/phone column and ``min_rows`` filled rows, or ``min_persons`` distinct persons and
  ``min_contacts`` distinct e-mails/phones (headerless lists count the names their records hold).

A new type is one class registered in ``DETECTOR_TYPES`` (here, or in another distribution through a
``sharescan.detectors`` entry point), plus its test. Each type names the ``params`` it reads.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Protocol

from scanner.core.registry import GROUP_DETECTORS, Registry
from scanner.detect.entities import norm_text, roster_contact_types
from scanner.detect.evidence import normalise
from scanner.detect.found import Evaluation, Found
from scanner.detect.recognizers import DetectorSpec


class DetectorType(Protocol):
    @property
    def name(self) -> str:
        """The ``type:`` detectors.yaml writes."""

    @property
    def params_schema(self) -> dict[str, Any]:
        """JSON Schema of the detector's ``params`` for this type."""

    def evaluate(self, spec: DetectorSpec, ev: Evaluation) -> list[Found]:
        """The findings that make this detector fire (empty: it does not)."""


DETECTOR_TYPES: Registry[DetectorType] = Registry(GROUP_DETECTORS)


class EntitiesDetector:
    name = "entities"
    params_schema: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}

    def evaluate(self, spec: DetectorSpec, ev: Evaluation) -> list[Found]:
        items = [f for f in ev.found
                 if f.entity in spec.entities and (not spec.requires_person or id(f) in ev.linked)]
        return items if len(items) >= spec.min_count else []


class RosterDetector:
    name = "roster"
    params_schema: dict[str, Any] = {
        "type": "object", "additionalProperties": False,
        "properties": {k: {"type": "integer", "minimum": 1} for k in ("min_rows", "min_persons", "min_contacts")},
    }

    def evaluate(self, spec: DetectorSpec, ev: Evaluation) -> list[Found]:
        min_rows = spec.params.get("min_rows", 3)
        min_persons = spec.params.get("min_persons", 3)
        min_contacts = spec.params.get("min_contacts", 3)
        contact_types = roster_contact_types()
        by_chunk: dict[int, list[Found]] = defaultdict(list)
        for f in ev.found:
            by_chunk[f.chunk].append(f)
        out: list[Found] = []
        for idx, items in by_chunk.items():
            facts = ev.tables.get(idx)
            persons = {norm_text(f.value) for f in items if f.entity == "PERSON"}
            contacts = [f for f in items if f.entity in contact_types]
            distinct_contacts = {normalise(f.entity, f.value) for f in contacts}
            table_roster = (
                facts is not None
                and facts.is_roster_shaped
                and facts.filled_rows >= min_rows
                and len(distinct_contacts) >= min_rows
            )
            if table_roster or (len(persons) >= min_persons and len(distinct_contacts) >= min_contacts):
                out.extend(f for f in items if f.entity == "PERSON" or f.entity in contact_types)
        return out


DETECTOR_TYPES.register(EntitiesDetector())
DETECTOR_TYPES.register(RosterDetector())
