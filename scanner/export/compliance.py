"""Per-control summaries (``compliance/<framework>.csv`` and ``.json``): for every control of a chosen
framework, the rules that evidence it and their findings by workflow status."""

from __future__ import annotations

import json
from pathlib import Path

from scanner.export.collect import ExportData
from scanner.export.values import to_jsonable
from scanner.export.writers import write_csv_rows

CONTROL_COLUMNS = ["framework", "framework_title", "control", "title", "state", "rules", "findings", "open",
                   "open_critical_high", "accepted", "remediated", "resolved"]


def write_control_summaries(data: ExportData, out_dir: Path) -> list[str]:
    """One CSV and one JSON file per framework of the export's mapping; returns their relative paths."""
    written: list[str] = []
    frameworks = [fw.id for fw in data.mapping.frameworks]
    if not frameworks:
        return written
    (out_dir / "compliance").mkdir(exist_ok=True)
    for fid in frameworks:
        rows = [c.as_dict() for c in data.controls if c.framework == fid]
        write_csv_rows(out_dir / "compliance" / f"{fid}.csv", CONTROL_COLUMNS, rows)
        (out_dir / "compliance" / f"{fid}.json").write_text(
            json.dumps(to_jsonable(rows), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        written += [f"compliance/{fid}.csv", f"compliance/{fid}.json"]
    return written
