"""Schemas from the discovery documents bundled with googleapiclient (used to validate field masks)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def schemas(api: str) -> dict[str, Any]:
    """`api` is a document name such as ``drive.v3`` or ``admin.directory_v1``; {} if unavailable."""
    try:
        ref = resources.files("googleapiclient").joinpath(f"discovery_cache/documents/{api}.json")
        doc = json.loads(ref.read_text(encoding="utf-8"))
    except (FileNotFoundError, ModuleNotFoundError, OSError, ValueError):
        return {}
    result: dict[str, Any] = doc.get("schemas", {})
    return result
