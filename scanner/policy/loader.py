"""Load and validate rule files; every error names the file, the line and the key.

The YAML is composed into nodes first so each key and list item keeps its line number; pydantic
validation errors are mapped back to the closest node. Detector names must be ones the content
pipeline defines (``rules/detectors/detectors.yaml``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scanner.core.errors import RuleError
from scanner.core.resources import builtin_rules_dir
from scanner.policy.schema import Rule

RULE_SUFFIXES = (".yaml", ".yml")
Loc = tuple[str | int, ...]


def known_detectors(rules_dir: Path | None = None) -> frozenset[str]:
    """Detector names the content pipeline defines."""
    from scanner.detect.recognizers import DetectorSettings

    path = (rules_dir or builtin_rules_dir()) / "detectors" / "detectors.yaml"
    return frozenset(DetectorSettings.load(path).detectors)


@dataclass(frozen=True)
class RuleProblem:
    file: str
    line: int
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]

    def get(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def __iter__(self) -> Any:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)


class _RuleLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as text, so pydantic validates them (with the key and line) instead of
    the YAML constructor crashing on ``2026-02-30``."""


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_RuleLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def _duplicate_keys(node: yaml.Node, prefix: Loc = ()) -> list[tuple[Loc, int]]:
    """Keys given twice in one mapping (YAML would silently keep the last), with the second one's line."""
    out: list[tuple[Loc, int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                out.append(((*prefix, key), key_node.start_mark.line + 1))
            seen.add(key)
            out.extend(_duplicate_keys(value_node, (*prefix, key)))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out.extend(_duplicate_keys(item, (*prefix, index)))
    return out


def _line_map(node: yaml.Node, prefix: Loc = ()) -> dict[Loc, int]:
    """Path of every mapping key / sequence item → 1-based line."""
    out: dict[Loc, int] = {prefix: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out.update(_line_map(value_node, (*prefix, key)))
            out[(*prefix, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            out.update(_line_map(item, (*prefix, index)))
    return out


def _nearest_line(lines: dict[Loc, int], loc: Loc) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 0


def _key_name(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_rule_text(text: str, file: str, detectors: frozenset[str] | None) -> tuple[Rule | None, list[RuleProblem]]:
    """Parse one rule file; returns the rule or the problems (never both)."""
    try:
        node = yaml.compose(text, Loader=_RuleLoader)
        data = yaml.load(text, Loader=_RuleLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [RuleProblem(file, line, "", f"invalid YAML: {problem}")]
    except ValueError as exc:  # a scalar the YAML constructor could not build
        return None, [RuleProblem(file, 0, "", f"invalid YAML: {exc}")]
    if node is None or not isinstance(data, dict):
        return None, [RuleProblem(file, 1, "", "a rule file holds one mapping (id, title, severity, when, ...)")]
    duplicates = _duplicate_keys(node)
    if duplicates:
        return None, [RuleProblem(file, line, _key_name(loc), "key given twice (YAML would keep only the last)")
                      for loc, line in duplicates]
    lines = _line_map(node)
    try:
        rule = Rule.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc: Loc = tuple(err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            elif err["type"] == "missing" and loc[-1] == "expires":
                msg = "required key is missing: a date like 2027-01-31, or never for a permanent exemption"
            elif err["type"] == "missing":
                msg = "required key is missing"
            elif err["type"].startswith(("date_", "datetime_")):
                msg = f"expected a date like 2027-01-31, or never (got {err.get('input')!r})"
            elif "input" in err and not isinstance(err["input"], dict):
                msg += f" (got {err['input']!r})"
            problems.append(RuleProblem(file, _nearest_line(lines, loc), _key_name(loc), msg))
        return None, problems
    problems = _semantic_problems(rule, data, lines, file, detectors)
    if problems:
        return None, problems
    return rule.model_copy(update={"source": file}), []


def _semantic_problems(rule: Rule, data: dict[str, Any], lines: dict[Loc, int], file: str,
                       detectors: frozenset[str] | None) -> list[RuleProblem]:
    out: list[RuleProblem] = []
    if detectors is not None and rule.content is not None:
        content = data.get("content") or {}
        for group in ("any", "all"):
            for index, item in enumerate(content.get(group) or []):
                name = item.get("detector") if isinstance(item, dict) else None
                if name not in detectors:
                    loc: Loc = ("content", group, index, "detector")
                    out.append(RuleProblem(file, _nearest_line(lines, loc), _key_name(loc),
                                           f"unknown detector {name!r} (known: {', '.join(sorted(detectors))})"))
        for index, name in enumerate(content.get("none") or []):
            if name not in detectors:
                loc = ("content", "none", index)
                out.append(RuleProblem(file, _nearest_line(lines, loc), _key_name(loc),
                                       f"unknown detector {name!r} (known: {', '.join(sorted(detectors))})"))
    if rule.when.min_age_days is not None and rule.when.max_age_days is not None \
            and rule.when.min_age_days > rule.when.max_age_days:
        out.append(RuleProblem(file, _nearest_line(lines, ("when", "min_age_days")), "when.min_age_days",
                               "min_age_days is larger than max_age_days"))
    kinds = [a.kind for a in rule.actions]
    if "revoke" in kinds and "downgrade" in kinds:
        out.append(RuleProblem(file, _nearest_line(lines, ("actions",)), "actions",
                               "revoke and downgrade act on the same permissions: choose one"))
    if "justify" in kinds and not set(kinds) & {"revoke", "downgrade", "unpublish", "expire", "limit_access"}:
        out.append(RuleProblem(file, _nearest_line(lines, ("actions",)), "actions",
                               "justify waits for the owner before the rule's other actions: add the action to "
                               "take when they do not answer (revoke, downgrade, expire...)"))
    out.extend(_target_problems(rule, lines, file))
    return out


#: What a folder rule may do: change the folder's sharing (or its limited access), ask, notify.
FOLDER_ACTIONS = frozenset({"revoke", "downgrade", "expire", "limit_access", "justify", "notify"})


def _target_problems(rule: Rule, lines: dict[Loc, int], file: str) -> list[RuleProblem]:
    """Keys that only make sense for file rules, or only for folder rules."""
    out: list[RuleProblem] = []

    def problem(loc: Loc, message: str) -> None:
        out.append(RuleProblem(file, _nearest_line(lines, loc), _key_name(loc), message))

    if rule.target == "file":
        for index, action in enumerate(rule.actions):
            if action.kind == "limit_access":
                problem(("actions", index), "limit_access works on folders: use it in a rule with target: folder")
        return out
    if rule.content is not None:
        problem(("content",), "a folder rule takes its sensitivity from its descendants' findings: remove content")
    if rule.per_permission:
        problem(("per_permission",), "folder rules have one finding per folder")
    if rule.when.inherited == "any":
        problem(("when", "inherited"), "folder rules say where the fix goes: direct (the folder the sharing is set "
                                       "on) or inherited (the folder above sensitive files that inherits it)")
    for index, action in enumerate(rule.actions):
        if action.kind not in FOLDER_ACTIONS:
            problem(("actions", index), f"{action.kind} does not apply to folders")
        if action.kind == "limit_access" and rule.when.inherited != "inherited":
            problem(("actions", index), "limited access only cuts what a folder inherits: use it with "
                                        "when.inherited: inherited")
        if action.kind in ("revoke", "downgrade", "expire") and rule.when.inherited == "inherited":
            problem(("actions", index), f"{action.kind} cannot change an inherited permission on the folder that "
                                        "inherits it: use limit_access, or a rule with when.inherited: direct")
    return out


def rule_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise RuleError(f"{directory}: rule directory not found")
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in RULE_SUFFIXES)


def validate_paths(paths: Iterable[Path],
                   detectors: frozenset[str] | None = None) -> tuple[list[Rule], list[RuleProblem]]:
    """Validate files (not raising): the good rules and every problem, incl. duplicate ids."""
    rules: list[Rule] = []
    problems: list[RuleProblem] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(RuleProblem(str(path), 0, "", f"cannot read: {exc}"))
            continue
        rule, found = parse_rule_text(text, str(path), detectors)
        problems.extend(found)
        if rule is None:
            continue
        if rule.id in seen:
            node = yaml.compose(text, Loader=_RuleLoader)
            lines = _line_map(node) if node is not None else {}
            problems.append(RuleProblem(str(path), _nearest_line(lines, ("id",)), "id",
                                        f"duplicate rule id {rule.id!r} (also in {seen[rule.id]})"))
            continue
        seen[rule.id] = str(path)
        rules.append(rule)
    return rules, problems


def rule_directories(*, builtin: bool = True, extra: Sequence[str | Path] = ()) -> list[Path]:
    dirs = [builtin_rules_dir()] if builtin else []
    return dirs + [Path(d).expanduser() for d in extra]


def load_rules(directories: Sequence[str | Path], detectors: frozenset[str] | None = None) -> RuleSet:
    """All rules of these directories, or RuleError listing every problem (file:line: key: message)."""
    if detectors is None:
        detectors = known_detectors()
    paths = [p for d in directories for p in rule_files(Path(d))]
    rules, problems = validate_paths(paths, detectors)
    if problems:
        raise RuleError("\n".join(str(p) for p in problems))
    return RuleSet(tuple(rules))


def load_configured_rules(settings: Any) -> RuleSet:
    """The built-in rules (unless disabled) plus ``[rules] directories``."""
    return load_rules(rule_directories(builtin=settings.rules.include_builtin, extra=settings.rules.directories))
