"""`sharescan classify PATH...`: run the content pipeline on local files (no Google, no database).

Settings (``[detect] nlp``, ``[rules]`` dictionaries, ``[limits]``) and the evidence HMAC key
(``settings.evidence_key_path``) come from the App, like a scan, so hashes match the scan's.
Every path gets a row (nothing is dropped). Exit codes: 0 when every file was read (a file refused
for what it is - encrypted, unsupported, too large - is a "not analysed" row, not an error);
6 (``ExitCode.NOT_FOUND``) when a named path does not exist; 1 when one exists but cannot be read;
9 (``ExitCode.PARTIAL``) when a file was only partly analysed (a pattern hit the regex time bound);
2 for usage and configuration errors. Output never holds a raw value: masked previews and keyed
hashes only; ``--format json`` and ``--format csv`` carry the same fields (in CSV, lists of plain
values joined with ``; ``, lists of records as one JSON array).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render
from scanner.core.errors import ConfigError, ExitCode
from scanner.detect.analyzer import AnalyzerBuildError
from scanner.detect.models import ContentResult, InputError
from scanner.detect.pipeline import ContentPipeline, DetectConfig
from scanner.keys import ensure_key

COLUMNS = ("file", "status", "detectors", "entities")
FIELDS = ("path", "analysed", "reason", "partial", "truncated", "nlp_mode", "detectors")


def _files(paths: tuple[Path, ...]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(x for x in p.rglob("*") if x.is_file()) if p.is_dir() else [p])
    return out


def _row(path: Path, r: ContentResult) -> dict[str, Any]:
    return {
        "path": str(path),
        "analysed": r.analysed,
        "reason": r.skip_reason,
        "partial": [str(p) for p in r.partial],
        "truncated": r.truncated,
        "nlp_mode": r.nlp_mode,
        "detectors": [
            {"detector": h.detector, "categories": list(h.categories), "count": h.count,
             "best_score": h.best_score,
             "evidence": [{"entity": e.entity_type, "count": e.count, "best_score": e.best_score,
                           "location": e.first_location, "preview": e.masked_preview,
                           "value_hash": e.value_hash} for e in h.evidence]}
            for h in r.hits
        ],
    }


def _table_row(row: dict[str, Any]) -> dict[str, Any]:
    status = "analysed" if row["analysed"] else str(row["reason"])
    if row["partial"]:
        status += " (partial: " + "; ".join(row["partial"]) + ")"
    if row["truncated"]:
        status += " (truncated)"
    entities: dict[str, str] = {}
    for d in row["detectors"]:
        for e in d["evidence"]:
            entities.setdefault(e["entity"], f"{e['entity']}×{e['count']} {e['preview']}")
    return {"file": row["path"], "status": status,
            "detectors": ", ".join(d["detector"] for d in row["detectors"]) or "-",
            "entities": "\n".join(entities.values()) or "-"}


@click.command("classify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option()
@click.option("--rules-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Detector configuration directory (presidio/, detectors/, dictionaries/).")
@click.option("--nlp", "nlp_mode", type=click.Choice(["auto", "spacy", "pattern-only"]), default=None,
              help="NLP engine for names (default: [detect] nlp from the settings).")
@click.option("--dictionary", "dictionaries", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Extra client-name/codename dictionary (one term per line); repeatable.")
@pass_app
def classify(app: App, paths: tuple[Path, ...], fmt: str, rules_dir: Path | None,
             nlp_mode: str | None, dictionaries: tuple[Path, ...]) -> None:
    """Detect contractor PII, client data and credentials in local files. Never prints raw values.

    Exit codes: 0 every file read; 6 a path does not exist; 1 a file cannot be read; 9 a file was
    only partly analysed (regex time bound); 2 usage or configuration error.
    """
    config = DetectConfig.from_settings(app.settings)
    if rules_dir is not None:
        config.rules_dir = rules_dir
        config.dictionary_paths = None  # that directory's own dictionaries
    if nlp_mode is not None:
        config.nlp_mode = nlp_mode  # type: ignore[assignment]
    config.dictionary_paths = config.dictionaries() + list(dictionaries)
    try:
        pipeline = ContentPipeline(config, ensure_key(app.settings.evidence_key_path,
                                                      loose=app.settings.keys.loose_permissions))
    except (AnalyzerBuildError, OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot build the detector: {exc}") from None
    results = [(f, pipeline.analyze_path(f)) for f in _files(paths)]
    rows = [_row(f, r) for f, r in results]
    if fmt in ("json", "csv"):
        render(rows, FIELDS, fmt)
    else:
        render([_table_row(r) for r in rows], COLUMNS, fmt, title=f"sharescan classify ({pipeline.nlp_mode})")
    code = exit_code([r for _, r in results])
    if code is not ExitCode.OK:
        click.echo(f"error: {_summary([r for _, r in results])}", err=True)
        click.get_current_context().exit(int(code))


def exit_code(results: list[ContentResult]) -> ExitCode:
    """The command's exit code: a missing path, then an unreadable one, then a partial analysis."""
    errors = {r.input_error for r in results}
    if InputError.NOT_FOUND in errors:
        return ExitCode.NOT_FOUND
    if InputError.UNREADABLE in errors:
        return ExitCode.ERROR
    if any(r.is_partial for r in results):
        return ExitCode.PARTIAL
    return ExitCode.OK


def _summary(results: list[ContentResult]) -> str:
    missing = sum(r.input_error is InputError.NOT_FOUND for r in results)
    unreadable = sum(r.input_error is InputError.UNREADABLE for r in results)
    partial = sum(r.is_partial for r in results)
    bits = [f"{n} {what}" for n, what in ((missing, "not found"), (unreadable, "unreadable"),
                                          (partial, "partly analysed")) if n]
    return f"{', '.join(bits)} of {len(results)} file{'s' if len(results) != 1 else ''}"


COMMANDS: list[click.Command] = [classify]
