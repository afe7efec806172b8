"""Where the data that ships inside the package lives (works from a wheel and a source tree)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def builtin_rules_dir() -> Path:
    """The built-in ``rules/`` directory (``scanner.rules`` when installed)."""
    return Path(str(files("scanner.rules")))


def migrations_dir() -> Path:
    return Path(str(files("scanner.migrations")))
