"""sharescan: find over-shared Google Drive documents that hold sensitive data, fix them, prove it."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sharescan")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"
