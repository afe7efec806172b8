"""sharescan: find over-shared Google Drive documents that hold sensitive data, fix them, prove it."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # ``__version__`` is looked up when first asked for: importlib.metadata is slow to import, and
    # ``sharescan --help`` should not pay for it.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("sharescan")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
            return "0.0.0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
