"""Key files: installation keys (evidence HMAC, export signing) and their owner-only permissions.

Installation keys are random 32 bytes in a 0600 file, outside the database: someone with a copy of
the database cannot recompute hashes of guessed values (an SSN has only 10^9 candidates) nor forge
export manifests.

Every key file sharescan reads - these two and the Google service-account keys - goes through
:func:`read_key_file`, which refuses a file the group or others may access (0600 and 0400 pass,
0640 or 0644 do not), checked on the opened file. ``[keys] loose_permissions = "warn"`` downgrades
the refusal to a warning (e.g. where a platform adds group bits that cannot be removed).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from enum import StrEnum
from pathlib import Path

from scanner.core.errors import ConfigError

log = logging.getLogger(__name__)

KEY_BYTES = 32
#: Permission bits a key file may not have: anything for the group or others.
LOOSE_BITS = 0o077


class LoosePermissions(StrEnum):
    """What to do with a key file the group or others may access (``[keys] loose_permissions``)."""

    REFUSE = "refuse"
    WARN = "warn"


def read_key_file(path: str | os.PathLike[str], *, loose: str = LoosePermissions.REFUSE,
                  what: str = "key file") -> bytes:
    """The bytes of a key file readable by its owner only (see the module's docstring)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        mode = stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
        if mode & LOOSE_BITS:
            who = " and ".join(w for w, bits in (("the group", 0o070), ("others", 0o007)) if mode & bits)
            problem = (f"{path}: {what} is accessible to {who} (mode {mode:04o}); make it owner-only: "
                       f"chmod 600 {path}")
            if LoosePermissions(loose) is LoosePermissions.REFUSE:
                raise ConfigError(problem + ' (or set [keys] loose_permissions = "warn")')
            log.warning("%s", problem, extra={"key_file": str(path), "mode": f"{mode:04o}"})
        return fh.read()


def ensure_key(path: Path, *, loose: str = LoosePermissions.REFUSE) -> bytes:
    """Return the key at ``path``, creating it (mode 0600) if it does not exist."""
    path = Path(path)
    if path.exists():
        return load_key(path, loose=loose)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.hex().encode() + b"\n")
    return key


def load_key(path: Path, *, loose: str = LoosePermissions.REFUSE) -> bytes:
    raw = read_key_file(path, loose=loose)
    try:
        key = bytes.fromhex(raw.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: not a sharescan key file ({exc})") from None
    if len(key) < 16:
        raise ConfigError(f"{path}: key too short ({len(key)} bytes, expected {KEY_BYTES})")
    return key
