"""The scan tests use the run tests' emulator-backed Apps."""

from tests.run.conftest import make_app, make_sqlite_app  # noqa: F401
