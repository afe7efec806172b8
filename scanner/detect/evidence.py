"""Masked previews and keyed hashes: what may leave the detector instead of a raw value.

How a value is normalised and masked is the entity's (``scanner.detect.entities``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

from scanner.detect.entities import DOT, kind

__all__ = ["DOT", "load_or_create_key", "mask", "normalise", "value_hash"]


def normalise(entity_type: str, value: str) -> str:
    """Canonical form so the same value hashes the same wherever and however it is written."""
    return kind(entity_type).normalise(value)


def value_hash(key: bytes, entity_type: str, value: str) -> str:
    msg = f"{entity_type}\x00{normalise(entity_type, value)}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def mask(entity_type: str, value: str) -> str:
    """``j•••@a•••.com``, ``•••-••-6789``, ``J••• S•••``; never the full value."""
    return kind(entity_type).mask(value)


def load_or_create_key(path: str | os.PathLike[str]) -> bytes:
    """Deprecated alias of :func:`scanner.keys.ensure_key` (the installation evidence key)."""
    from scanner.keys import ensure_key

    return ensure_key(Path(path))
