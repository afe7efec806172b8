"""Stable finding identifiers (DESIGN.md §5).

``sha256(rule_id, file_id[, principal])`` — no timestamps, offsets, names or content hashes, so an
edit or a rename updates the finding instead of creating a new one. The parts are length-prefixed
so ("ab", "c") and ("a", "bc") never collide.
"""

from __future__ import annotations

import hashlib


def finding_fingerprint(rule_id: str, file_id: str, principal: str | None = None) -> str:
    parts = ["v1", rule_id, file_id]
    if principal is not None:
        parts.append(principal.lower())
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(4, "big"))
        h.update(data)
    return h.hexdigest()
