"""The demo workspace's emulator and Apps pointed at it (tests/demo_apps.py)."""

from tests.demo_apps import MakeApp, make_app, make_sqlite_app

__all__ = ["MakeApp", "make_app", "make_sqlite_app"]
