"""`sharescan classify PATH...`: run the content pipeline on local files (no Google, no database).

Settings (``[detect] nlp``, ``[rules]`` dictionaries, ``[limits]``) and the evidence HMAC key
(``settings.evidence_key_path``) come from the App, like a scan, so hashes match the scan's.
Files that cannot be read are reported as "not analysed: <reason>" rows; only usage errors
exit non-zero. Output never holds a raw value: masked previews and keyed hashes only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import yaml

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render
from scanner.detect.analyzer import AnalyzerBuildError
from scanner.detect.models import ContentResult
from scanner.detect.pipeline import ContentPipeline, DetectConfig
from scanner.errors import ConfigError
from scanner.keys import ensure_key

COLUMNS = ("file", "status", "detectors", "entities")


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
@format_option(choices=("table", "json"))
@click.option("--rules-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
              help="Detector configuration directory (presidio/, detectors/, dictionaries/).")
@click.option("--nlp", "nlp_mode", type=click.Choice(["auto", "spacy", "pattern-only"]), default=None,
              help="NLP engine for names (default: [detect] nlp from the settings).")
@click.option("--dictionary", "dictionaries", multiple=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Extra client-name/codename dictionary (one term per line); repeatable.")
@pass_app
def classify(app: App, paths: tuple[Path, ...], fmt: str, rules_dir: Path | None, nlp_mode: str | None,
             dictionaries: tuple[Path, ...]) -> None:
    """Detect contractor PII, client data and credentials in local files. Never prints raw values."""
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
    rows = [_row(f, pipeline.analyze_path(f)) for f in _files(paths)]
    if fmt == "json":
        render(rows, COLUMNS, fmt)
        return
    render([_table_row(r) for r in rows], COLUMNS, fmt, title=f"sharescan classify ({pipeline.nlp_mode})")


COMMANDS: list[click.Command] = [classify]
