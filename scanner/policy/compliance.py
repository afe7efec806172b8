"""Compliance frameworks and the controls a rule may say it evidences.

The catalogue is data (``rules/compliance/controls.yaml``); a rule names controls by id under
``compliance:`` (``{framework: [control id, …]}``) and the rule schema refuses ids the catalogue
does not know. Exports carry the ids with every finding and summarise findings per control.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from scanner.core.errors import RuleError
from scanner.core.resources import builtin_rules_dir

CATALOGUE = "compliance/controls.yaml"


@dataclass(frozen=True)
class Control:
    framework: str
    id: str
    title: str

    @property
    def ref(self) -> str:
        """``framework:id``, e.g. ``iso27001:A.8.12``."""
        return f"{self.framework}:{self.id}"


@dataclass(frozen=True)
class Framework:
    id: str
    title: str
    controls: tuple[Control, ...]

    def control(self, control_id: str) -> Control | None:
        return next((c for c in self.controls if c.id == control_id), None)


@cache
def frameworks() -> dict[str, Framework]:
    """Every framework of the catalogue, by id (in catalogue order)."""
    path = builtin_rules_dir() / CATALOGUE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out: dict[str, Framework] = {}
        for fid, body in (data.get("frameworks") or {}).items():
            controls = tuple(Control(str(fid), str(cid), str(title)) for cid, title in (body["controls"]).items())
            out[str(fid)] = Framework(str(fid), str(body["title"]), controls)
        return out
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise RuleError(f"{path}: not a compliance catalogue ({exc})") from None


def framework(framework_id: str) -> Framework:
    found = frameworks().get(framework_id)
    if found is None:
        raise RuleError(f"unknown compliance framework {framework_id!r} (known: {', '.join(frameworks())})")
    return found


def problems(mapping: dict[str, list[str]]) -> list[str]:
    """What is wrong with a rule's ``compliance`` mapping (empty when every id is in the catalogue)."""
    out = []
    known = frameworks()
    for fid, ids in mapping.items():
        fw = known.get(fid)
        if fw is None:
            out.append(f"unknown framework {fid!r} (expected one of {', '.join(known)})")
            continue
        for cid in ids:
            if fw.control(cid) is None:
                out.append(f"{fid}: unknown control {cid!r} (expected one of {', '.join(c.id for c in fw.controls)})")
    return out
