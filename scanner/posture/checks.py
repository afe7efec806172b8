"""Posture checks: data (``rules/posture/*.yaml``), one check per file, judged against the effective value
of one Drive and Docs setting (Cloud Identity Policy API ``drive_and_docs.*``) of one org unit.

A check fails when every condition of ``fails_when`` holds on the effective values. A field no policy sets
takes the check's ``defaults`` (Google's default for it); a field with neither is unknown, and a check that
needs an unknown field is not judged (no finding: a verdict changes only on evidence). Pure: no I/O here
except reading the check files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from scanner.core.errors import RuleError
from scanner.core.resources import builtin_rules_dir
from scanner.policy.compliance import problems as compliance_problems
from scanner.policy.schema import ExposureName

POSTURE_DIR = "posture"
SETTING_PREFIX = "drive_and_docs."
Scalar = str | bool | int


class Verdict(StrEnum):
    FAIL = "fail"
    PASS = "pass"  # noqa: S105 - a verdict, not a secret
    UNKNOWN = "unknown"  # a field the check needs is neither set nor has a default


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Model):
    """One field test: exactly one of ``equals``, ``in``, ``not_in``."""

    field: str = Field(min_length=1)
    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in")
    not_in: list[Scalar] | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        given = [x for x in (self.equals, self.in_, self.not_in) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of equals, in, not_in")
        return self

    def holds(self, value: Any) -> bool:
        if self.equals is not None:
            return bool(value == self.equals)
        if self.in_ is not None:
            return value in self.in_
        return value not in (self.not_in or [])


class CheckTests(_Model):
    """Effective setting values (``{field: value}``) the check must fail on, and must pass on."""

    fail: list[dict[str, Any]] = Field(default_factory=list)
    pass_: list[dict[str, Any]] = Field(default_factory=list, alias="pass")


class PostureCheck(_Model):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{2,127}$")]
    title: str = Field(min_length=1)
    severity: Literal["critical", "high", "medium", "low", "info"]
    #: The Policy API setting type without ``settings/`` (``drive_and_docs.external_sharing``).
    setting: Annotated[str, Field(pattern=r"^drive_and_docs\.[a-z_]+$")]
    fails_when: list[Condition] = Field(min_length=1)
    #: Google's default of a field no policy sets.
    defaults: dict[str, Scalar] = Field(default_factory=dict)
    #: File exposures this setting lets users create: links file findings to it.
    allows: list[ExposureName] = Field(default_factory=list)
    #: How the setting reads in a sentence ("anyone-with-link sharing is allowed").
    setting_label: str = Field(min_length=1)
    compliance: dict[str, list[str]] = Field(default_factory=dict)
    recommendation: str = Field(min_length=1)
    tests: CheckTests = CheckTests()
    source: str | None = Field(default=None, exclude=True)

    @property
    def setting_type(self) -> str:
        """As the Policy API spells it: ``settings/drive_and_docs.external_sharing``."""
        return "settings/" + self.setting

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.field for c in self.fails_when))

    def observed(self, values: dict[str, Any]) -> dict[str, Any]:
        """The values the check reads (setting values, never personal data), defaults filled in."""
        return {f: values.get(f, self.defaults.get(f)) for f in self.fields}

    def judge(self, values: dict[str, Any]) -> Verdict:
        seen = self.observed(values)
        if any(v is None for v in seen.values()):
            return Verdict.UNKNOWN
        return Verdict.FAIL if all(c.holds(seen[c.field]) for c in self.fails_when) else Verdict.PASS


@dataclass(frozen=True)
class CheckProblem:
    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


def _lines(node: yaml.Node | None, prefix: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    out: dict[tuple[Any, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            loc = (*prefix, key.value)
            out[loc] = key.start_mark.line + 1
            out.update(_lines(value, loc))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*prefix, i)] = item.start_mark.line + 1
            out.update(_lines(item, (*prefix, i)))
    return out


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    while loc:
        if loc in lines:
            return lines[loc]
        loc = loc[:-1]
    return 1


def parse_check(text: str, file: str) -> tuple[PostureCheck | None, list[CheckProblem]]:
    try:
        data = yaml.safe_load(text)
        lines = _lines(yaml.compose(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, [CheckProblem(file, mark.line + 1 if mark else 0, "", f"not YAML: {exc}")]
    if not isinstance(data, dict):
        return None, [CheckProblem(file, 1, "", "expected a mapping (one posture check)")]
    try:
        check = PostureCheck.model_validate({**data, "source": file})
    except ValidationError as exc:
        return None, [CheckProblem(file, _line_of(lines, tuple(e["loc"])), ".".join(str(p) for p in e["loc"]),
                                   e["msg"]) for e in exc.errors()]
    found = [CheckProblem(file, _line_of(lines, ("compliance",)), "compliance", p)
             for p in compliance_problems(check.compliance)]
    return check, found


def check_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise RuleError(f"{directory}: posture check directory not found")
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def validate_check_paths(paths: Iterable[Path]) -> tuple[list[PostureCheck], list[CheckProblem]]:
    checks: list[PostureCheck] = []
    problems: list[CheckProblem] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(CheckProblem(str(path), 0, "", f"cannot read: {exc}"))
            continue
        check, found = parse_check(text, str(path))
        problems.extend(found)
        if check is None or found:
            continue
        if check.id in seen:
            problems.append(CheckProblem(str(path), 1, "id",
                                         f"duplicate check id {check.id!r} (also in {seen[check.id]})"))
            continue
        seen[check.id] = str(path)
        checks.append(check)
    return checks, problems


def load_checks(directories: Sequence[str | Path] = ()) -> tuple[PostureCheck, ...]:
    """The built-in checks plus ``directories``; RuleError listing every problem (file:line: key: message)."""
    dirs = [builtin_rules_dir() / POSTURE_DIR, *(Path(d).expanduser() for d in directories)]
    checks, problems = validate_check_paths(p for d in dirs for p in check_files(d))
    if problems:
        raise RuleError("\n".join(str(p) for p in problems))
    return tuple(checks)


@dataclass(frozen=True)
class SampleOutcome:
    check_id: str
    expect: Verdict
    got: Verdict
    values: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.expect == self.got or (self.expect == Verdict.PASS and self.got == Verdict.UNKNOWN)


def run_check_tests(checks: Iterable[PostureCheck]) -> list[SampleOutcome]:
    """Each check's ``tests`` samples judged (``pass`` also accepts "not judged")."""
    out: list[SampleOutcome] = []
    for check in checks:
        for expect, samples in ((Verdict.FAIL, check.tests.fail), (Verdict.PASS, check.tests.pass_)):
            out.extend(SampleOutcome(check.id, expect, check.judge(values), values) for values in samples)
    return out
