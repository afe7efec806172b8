"""Installation keys (evidence HMAC, export signing): random 32 bytes in a 0600 file.

Keys live outside the database: someone with a copy of the database cannot recompute
hashes of guessed values (an SSN has only 10^9 candidates) nor forge export manifests.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from scanner.errors import ConfigError

KEY_BYTES = 32


def ensure_key(path: Path) -> bytes:
    """Return the key at ``path``, creating it (mode 0600) if it does not exist."""
    path = Path(path)
    if path.exists():
        return load_key(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.hex().encode() + b"\n")
    return key


def load_key(path: Path) -> bytes:
    try:
        text = Path(path).read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a sharescan key file ({exc})") from None
    if len(key) < 16:
        raise ConfigError(f"{path}: key too short ({len(key)} bytes, expected {KEY_BYTES})")
    return key
