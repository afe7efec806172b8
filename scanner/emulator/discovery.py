"""Discovery documents bundled with googleapiclient: the schemas (to validate field masks) and the
documents the emulator serves, with their root URL pointed at it."""

from __future__ import annotations

import copy
import functools
import json
from importlib import resources
from typing import Any

#: (api, version) as ``googleapiclient.discovery.build`` names them -> bundled document
SERVED: dict[tuple[str, str], str] = {
    ("drive", "v3"): "drive.v3",
    ("admin", "directory_v1"): "admin.directory_v1",
    ("admin", "reports_v1"): "admin.reports_v1",
    ("cloudidentity", "v1"): "cloudidentity.v1",
    ("drivelabels", "v2"): "drivelabels.v2",
}


@functools.cache
def _document(api: str) -> dict[str, Any]:
    try:
        ref = resources.files("googleapiclient").joinpath(f"discovery_cache/documents/{api}.json")
        doc: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    except (FileNotFoundError, ModuleNotFoundError, OSError, ValueError):
        return {}
    return doc


def schemas(api: str) -> dict[str, Any]:
    """`api` is a document name such as ``drive.v3`` or ``admin.directory_v1``; {} if unavailable."""
    result: dict[str, Any] = _document(api).get("schemas", {})
    return result


def document(api: str, root_url: str) -> dict[str, Any] | None:
    """The bundled document with every root URL at ``root_url`` (base, batch and uploads alike)."""
    doc = _document(api)
    if not doc:
        return None
    out = copy.deepcopy(doc)
    root = root_url.rstrip("/") + "/"
    out["rootUrl"] = out["mtlsRootUrl"] = root
    out["baseUrl"] = root + out.get("servicePath", "")
    return out
