"""Drive labels: definitions (the Drive Labels API v2) and the labels applied to files (Drive v3).

Files' labels change only through :func:`scanner.emulator.state.labeling.modify`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FieldKind(StrEnum):
    """Drive v3 ``LabelField.valueType`` (and the Labels API option each maps to)."""

    SELECTION = "selection"
    TEXT = "text"
    INTEGER = "integer"
    DATE = "dateString"
    USER = "user"


class LabelState(StrEnum):
    PUBLISHED = "PUBLISHED"
    DISABLED = "DISABLED"
    UNPUBLISHED_DRAFT = "UNPUBLISHED_DRAFT"


def _id(kind: str, key: str, length: int, upper: bool = False) -> str:
    digest = hashlib.sha256(f"{kind}:{key}".encode()).hexdigest()
    return (digest.upper() if upper else digest)[:length]


def label_id_for(title: str) -> str:
    """The id :meth:`LabelStore.define` gives a label (Google's are 44 alphanumerics)."""
    return _id("label", title, 44).replace("0", "x")


def field_id_for(title: str, field_name: str) -> str:
    return _id("field", f"{title}/{field_name}", 10, upper=True)


def choice_id_for(title: str, field_name: str, choice: str) -> str:
    return _id("choice", f"{title}/{field_name}/{choice}", 10, upper=True)


@dataclass(slots=True)
class Choice:
    id: str
    display_name: str


@dataclass(slots=True)
class LabelField:
    id: str
    display_name: str
    kind: FieldKind
    choices: list[Choice] = field(default_factory=list)
    required: bool = False

    def choice(self, choice_id: str) -> Choice | None:
        return next((c for c in self.choices if c.id == choice_id), None)


@dataclass(slots=True)
class LabelDef:
    id: str
    title: str
    description: str = ""
    revision_id: str = "1"
    state: LabelState = LabelState.PUBLISHED
    label_type: str = "ADMIN"
    fields: list[LabelField] = field(default_factory=list)
    creator: str = ""
    created: str = "2025-11-03T09:00:00.000Z"
    published: str = "2025-11-03T09:05:00.000Z"

    def field(self, field_id: str) -> LabelField | None:
        return next((f for f in self.fields if f.id == field_id), None)


@dataclass(slots=True)
class AppliedLabel:
    label_id: str
    revision_id: str
    values: dict[str, list[str]] = field(default_factory=dict)  # field id -> values (choice ids, text...)


@dataclass
class LabelStore:
    labels: dict[str, LabelDef] = field(default_factory=dict)
    applied: dict[str, dict[str, AppliedLabel]] = field(default_factory=dict)  # file id -> label id -> label

    def define(self, title: str, *, description: str = "", creator: str = "",
               fields: Sequence[tuple[str, FieldKind, Sequence[str]]] = ()) -> LabelDef:
        """A published label; ``fields`` are (display name, kind, choice display names)."""
        label_id = label_id_for(title)
        defs = [LabelField(field_id_for(title, name), name, kind,
                           [Choice(choice_id_for(title, name, c), c) for c in choices])
                for name, kind, choices in fields]
        label = LabelDef(label_id, title, description, fields=defs, creator=creator)
        self.labels[label_id] = label
        return label

    def on_file(self, file_id: str) -> dict[str, AppliedLabel]:
        return self.applied.get(file_id, {})

    def seed(self, file_id: str, label: LabelDef, values: dict[str, list[str]] | None = None) -> AppliedLabel:
        """Put a label on a file as seeding does (no Changes entry, no audit event)."""
        applied = AppliedLabel(label.id, label.revision_id, dict(values or {}))
        self.applied.setdefault(file_id, {})[label.id] = applied
        return applied

    def dump(self) -> dict[str, Any]:
        return {
            "labels": [{"id": d.id, "title": d.title, "description": d.description, "revisionId": d.revision_id,
                        "state": str(d.state), "labelType": d.label_type, "creator": d.creator, "created": d.created,
                        "published": d.published,
                        "fields": [{"id": f.id, "name": f.display_name, "kind": str(f.kind), "required": f.required,
                                    "choices": [[c.id, c.display_name] for c in f.choices]} for f in d.fields]}
                       for d in self.labels.values()],
            "applied": {fid: {lid: {"revisionId": a.revision_id, "values": a.values} for lid, a in labels.items()}
                        for fid, labels in self.applied.items() if labels},
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> LabelStore:
        store = cls()
        for d in data.get("labels", []):
            store.labels[d["id"]] = LabelDef(
                d["id"], d["title"], d.get("description", ""), d.get("revisionId", "1"),
                LabelState(d.get("state", "PUBLISHED")), d.get("labelType", "ADMIN"),
                [LabelField(f["id"], f["name"], FieldKind(f["kind"]), [Choice(c[0], c[1]) for c in f["choices"]],
                            bool(f.get("required"))) for f in d.get("fields", [])],
                d.get("creator", ""), d.get("created", ""), d.get("published", ""))
        for fid, labels in data.get("applied", {}).items():
            store.applied[fid] = {lid: AppliedLabel(lid, a["revisionId"], {k: list(v) for k, v in a["values"].items()})
                                  for lid, a in labels.items()}
        return store
