"""``sharescan rules list|validate|schema|test`` — no Google access or scopes needed."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render
from scanner.core.errors import RuleError
from scanner.policy.loader import (
    known_detectors,
    load_configured_rules,
    rule_directories,
    rule_files,
    validate_paths,
)
from scanner.policy.ruletest import run_rule_tests
from scanner.policy.schema import rule_json_schema


@click.group("rules")
def rules_group() -> None:
    """Inspect, validate and test the policy rules (rules/*.yaml plus [rules] directories)."""


@rules_group.command("list")
@format_option()
@pass_app
def rules_list(app: App, fmt: str) -> None:
    """List the loaded rules. Scopes: none (reads local files only)."""
    rows = [{"id": r.id, "severity": r.severity, "exposure": list(r.when.exposure),
             "detectors": r.content.detector_names() if r.content else [],
             "actions": [a.label() for a in r.actions], "auto": r.auto, "mode": r.mode or "(global)",
             "source": r.source} for r in load_configured_rules(app.settings)]
    render(rows, ["id", "severity", "exposure", "detectors", "actions", "auto", "mode"], fmt, title="rules")


@rules_group.command("validate")
@click.argument("directories", nargs=-1, type=click.Path(file_okay=True, dir_okay=True, path_type=Path))
@pass_app
def rules_validate(app: App, directories: tuple[Path, ...]) -> None:
    """Validate rule files (default: the configured rule directories). Errors name file:line: key.

    Scopes: none."""
    dirs = list(directories) or rule_directories(builtin=app.settings.rules.include_builtin,
                                                 extra=app.settings.rules.directories)
    paths = [p for d in dirs for p in ([d] if d.is_file() else rule_files(d))]
    rules, problems = validate_paths(paths, known_detectors())
    if problems:
        raise RuleError("\n".join(str(p) for p in problems))
    click.echo(f"{len(rules)} rule(s) valid in {len(paths)} file(s)")


@rules_group.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of rule files (for editors and CI). Scopes: none."""
    click.echo(json.dumps(rule_json_schema(), indent=2))


@rules_group.command("test")
@click.option("--rule", "rule_ids", multiple=True, help="Only these rule ids.")
@format_option()
@pass_app
def rules_test(app: App, rule_ids: tuple[str, ...], fmt: str) -> None:
    """Run every rule's tests: samples through the real content pipeline (no Google access, no scopes).

    Exits 2 when a sample fails or is missing, or when --rule names a rule that does not exist."""
    loaded = load_configured_rules(app.settings)
    unknown = sorted(set(rule_ids) - {r.id for r in loaded})
    if unknown:
        raise RuleError(f"unknown rule(s): {', '.join(unknown)} (see `sharescan rules list`)")
    rules = [r for r in loaded if not rule_ids or r.id in rule_ids]
    results = run_rule_tests(rules, key_path=app.settings.evidence_key_path, nlp=app.settings.detect.nlp)
    rows = [{"rule": r.rule_id, "sample": r.sample, "expect": r.expect, "result": r.outcome,
             "detectors": r.detectors} for r in results]
    render(rows, ["rule", "sample", "expect", "result", "detectors"], fmt, title="rule tests")
    failed = [r for r in results if r.outcome == "FAIL"]
    missing = [r for r in results if r.outcome == "MISSING"]
    if failed or missing:
        parts = [f"{len(failed)} rule test(s) failed"] if failed else []
        if missing:
            parts.append(f"{len(missing)} sample(s) missing (paths are relative to the rule file), "
                         f"e.g. {missing[0].rule_id}: {missing[0].sample}")
        raise RuleError("; ".join(parts))


COMMANDS: list[click.Command] = [rules_group]
