"""Pydantic models of rule files (docs/ARCHITECTURE.md, "Rules"). ``sharescan rules schema`` prints their JSON Schema.

A rule is data only: which exposures it cares about (``when``), which file metadata, which
content detectors (``content``), which files are exempt, and which remediation actions to take.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITY_RANK: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
ExposureName = Literal[
    "public", "published", "anyone_with_link", "external_domain", "external_group", "external_user", "domain",
    "internal",
]
EXTERNAL_PRINCIPAL_EXPOSURES = frozenset({"external_domain", "external_group", "external_user"})
RuleMode = Literal["off", "dry-run", "enforce"]

_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,127}$")
_DURATION = re.compile(r"^(\d+)([dh])$")


def parse_duration(text: str) -> dt.timedelta | None:
    """``7d`` / ``48h`` as a timedelta; None when ``text`` is not such a duration."""
    m = _DURATION.match(text)
    if not m:
        return None
    n = int(m.group(1))
    return dt.timedelta(days=n) if m.group(2) == "d" else dt.timedelta(hours=n)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class When(_Model):
    """Exposure and metadata conditions (all must hold; an empty list means "any")."""

    #: Exposure classes that make the rule apply (at least one must be present on the file).
    exposure: list[ExposureName] = Field(min_length=1)
    #: Only direct permissions, only inherited ones, or both.
    inherited: Literal["any", "direct", "inherited"] = "any"
    #: Owner email globs (fnmatch, case-insensitive), and owners that never match.
    owners: list[str] = Field(default_factory=list)
    not_owners: list[str] = Field(default_factory=list)
    #: Folder ids: the file is inside one of them (at any depth), or inside none of them.
    folders: list[str] = Field(default_factory=list)
    not_folders: list[str] = Field(default_factory=list)
    #: true: only shared-drive files; false: only My Drive files; a list: only those shared drive ids.
    shared_drive: bool | list[str] | None = None
    #: MIME type globs, e.g. "application/vnd.google-apps.*".
    mime_types: list[str] = Field(default_factory=list)
    not_mime_types: list[str] = Field(default_factory=list)
    #: Drive label ids; the file must carry at least one.
    labels: list[str] = Field(default_factory=list)
    #: Age (days since the file was created) bounds.
    min_age_days: Annotated[int, Field(ge=0)] | None = None
    max_age_days: Annotated[int, Field(ge=0)] | None = None


class DetectorCondition(_Model):
    detector: str
    min_count: Annotated[int, Field(ge=1)] = 1
    min_score: Annotated[float, Field(ge=0, le=1)] = 0.0


class Content(_Model):
    """Content conditions: at least one of ``any``, every one of ``all``, and none of ``none``.

    ``any``/``all`` need an analysed document; ``none`` holds when the document was not analysed
    (so an "exposed but nothing sensitive found" rule also reports files we could not read).
    """

    any: list[DetectorCondition] = Field(default_factory=list)
    all: list[DetectorCondition] = Field(default_factory=list)
    none: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_empty(self) -> Content:
        if not (self.any or self.all or self.none):
            raise ValueError("content needs at least one of any, all or none")
        return self

    def detector_names(self) -> list[str]:
        return [c.detector for c in (*self.any, *self.all)] + list(self.none)


class ExemptEntry(_Model):
    """A rule-level exemption: a folder (and everything below it), a file, or an owner."""

    folder: str | None = None
    file: str | None = None
    owner: str | None = None
    reason: str = Field(min_length=3)
    #: Required, like exemptions made with the CLI: a date, or ``never`` for a deliberate permanent exemption
    #: (held as None). An exemption nobody has to revisit should be a decision someone wrote down.
    expires: dt.date | None

    @field_validator("expires", mode="before")
    @classmethod
    def _never_or_date(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "never":
            return None
        if value is None:
            raise ValueError("expected a date like 2027-01-31, or never")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> ExemptEntry:
        if sum(x is not None for x in (self.folder, self.file, self.owner)) != 1:
            raise ValueError("an exemption names exactly one of folder, file or owner")
        return self

    def active(self, today: dt.date) -> bool:
        return self.expires is None or today <= self.expires


RevokeTarget = Literal["matched", "external", "public", "anyone_with_link", "external_user",
                       "external_group", "external_domain", "domain"]
REVOKE_TARGETS: tuple[str, ...] = get_args(RevokeTarget)


#: Drive refuses expiry dates more than a year ahead.
MAX_EXPIRY = dt.timedelta(days=365)
#: A duration as rules write it (``7d``, ``48h``).
DURATION_SCHEMA: dict[str, Any] = {"type": "string", "pattern": _DURATION.pattern}
#: Actions whose argument is a duration.
DURATION_ACTIONS = frozenset({"expire", "justify"})


class Action(_Model):
    """One remediation action. Written in YAML as ``- revoke: matched``, ``- unpublish`` etc.

    ``expire: 30d`` gives external users' and groups' access an end date instead of removing it (at
    most a year: Drive's limit; anyone links cannot expire). ``justify: 14d`` asks the owner first: they
    can keep the sharing with a reason until a date, otherwise the rule's other actions run after 14
    days. ``limit_access`` turns a folder into a folder with limited access (folder rules)."""

    #: A registered action (``scanner.policy.actions.ACTIONS``).
    kind: str
    #: revoke: which matched permissions; downgrade: "domain"; expire/justify: "7d"; notify: "owner".
    arg: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"kind": data}
        if isinstance(data, dict) and "kind" not in data:
            if len(data) != 1:
                raise ValueError("an action is one key, e.g. '- revoke: matched' or '- notify: owner'")
            ((key, value),) = data.items()
            return {"kind": key, "arg": "" if value in (None, True) else str(value)}
        return data

    @model_validator(mode="after")
    def _arg_valid(self) -> Action:
        from scanner.policy.actions import ACTIONS, check_arg

        try:
            action = ACTIONS.get(self.kind)
        except KeyError:
            raise ValueError(f"unknown action {self.kind!r} (one of {', '.join(ACTIONS.names())})") from None
        check_arg(action, self.arg)
        return self

    @property
    def expiry(self) -> dt.timedelta | None:
        return parse_duration(self.arg) if self.kind == "expire" else None

    @property
    def duration(self) -> dt.timedelta | None:
        """expire: how long access remains; justify: how long the owner has to answer."""
        return parse_duration(self.arg) if self.kind in DURATION_ACTIONS else None

    def label(self) -> str:
        return f"{self.kind}: {self.arg}" if self.arg else self.kind


class RuleTests(_Model):
    """Sample documents (paths relative to the repository / rule directory) the rule must (not) match."""

    match: list[str] = Field(default_factory=list)
    no_match: list[str] = Field(default_factory=list)


RuleTarget = Literal["file", "folder"]


class Rule(_Model):
    id: str
    title: str = Field(min_length=3)
    description: str = ""
    #: Folder rules: the least severity of their findings (a folder finding takes its worst sensitive
    #: descendant's severity when that is higher).
    severity: Severity
    #: ``folder``: the rule matches folders whose sharing (``when``) exposes descendants with sensitive
    #: findings; ``when.inherited`` says where: ``direct`` (the folder where the sharing is set) or
    #: ``inherited`` (the folder just above sensitive files that inherits it, for ``limit_access``).
    target: RuleTarget = "file"
    when: When
    content: Content | None = None
    exempt: list[ExemptEntry] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    #: false: a scan only plans the actions; ``sharescan remediate`` applies them.
    auto: bool = False
    #: Per-rule remediation mode; empty inherits ``[remediation] mode``.
    mode: RuleMode | None = None
    #: One finding per exposed permission (the fingerprint includes the principal).
    per_permission: bool = False
    #: Data categories this rule reports even when no detector names one (e.g. "exposure").
    categories: list[str] = Field(default_factory=list)
    #: Controls a finding of this rule evidences: framework id → control ids (``rules/compliance/controls.yaml``).
    compliance: dict[str, list[str]] = Field(default_factory=dict)
    tests: RuleTests = RuleTests()
    #: Where the rule came from (set by the loader; not a YAML key).
    source: str = Field(default="", exclude=True)

    @field_validator("id")
    @classmethod
    def _id_valid(cls, value: str) -> str:
        if not _RULE_ID.match(value):
            raise ValueError("rule ids are lower-case letters, digits, '-', '_' or '.', 2-128 characters")
        return value

    @field_validator("compliance", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:
        # YAML reads an id such as 3.1 as a number: control ids are text
        if isinstance(value, dict):
            return {k: [str(i) if isinstance(i, int | float) and not isinstance(i, bool) else i for i in v]
                    if isinstance(v, list) else v for k, v in value.items()}
        return value

    @field_validator("compliance")
    @classmethod
    def _controls_known(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from scanner.policy.compliance import problems

        found = problems(value)
        if found:
            raise ValueError("; ".join(found))
        return {fid: list(dict.fromkeys(ids)) for fid, ids in value.items()}

    def controls(self) -> list[str]:
        """The controls this rule evidences as ``framework:id``."""
        return [f"{fid}:{cid}" for fid, ids in self.compliance.items() for cid in ids]


def rule_json_schema() -> dict[str, Any]:
    schema = Rule.model_json_schema()
    schema["properties"].pop("source", None)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "sharescan rule"
    from scanner.policy.compliance import frameworks

    schema["properties"]["compliance"] = {
        "title": "Compliance", "type": "object", "additionalProperties": False,
        "description": "Controls a finding of this rule evidences (framework id -> control ids).",
        "properties": {fw.id: {"type": "array", "title": fw.title, "uniqueItems": True,
                               "items": {"enum": [c.id for c in fw.controls]}} for fw in frameworks().values()},
    }
    return _yaml_schema(schema)


def _yaml_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Actions as YAML writes them (the model normalises them to {kind, arg}), generated from the registry."""
    from scanner.policy.actions import actions_yaml_schema

    schema["$defs"]["Action"] = actions_yaml_schema()
    return schema
