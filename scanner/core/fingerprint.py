"""Stable finding identifiers (docs/ARCHITECTURE.md, "Findings").

``sha256(rule_id, file_id[, principal])`` — no timestamps, offsets, names or content hashes, so an
edit or a rename updates the finding instead of creating a new one. The parts are length-prefixed
so ("ab", "c") and ("a", "bc") never collide. Items of a provider other than Google put the provider
first (``sha256(provider, rule_id, file_id[, principal])``), so two providers' ids never collide and
every Google fingerprint stays what it was before providers existed.
"""

from __future__ import annotations

import hashlib

GOOGLE = "google"


def finding_fingerprint(rule_id: str, file_id: str, principal: str | None = None, *, provider: str = GOOGLE) -> str:
    parts = ["v1", rule_id, file_id] if provider == GOOGLE else ["v1", provider, rule_id, file_id]
    if principal is not None:
        parts.append(principal.lower())
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(4, "big"))
        h.update(data)
    return h.hexdigest()
