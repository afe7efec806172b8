"""The application context shared by CLI commands and services: settings, database, keys.

Built once per command invocation and passed down; nothing is cached at module level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from scanner.config import Settings
from scanner.keys import ensure_key
from scanner.store import migrate
from scanner.store.db import make_engine, make_sessionmaker


@dataclass
class App:
    settings: Settings
    actor: str = field(default="sharescan")

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions on a database that is known to be at the head revision."""
        migrate.ensure_at_head(self.engine, self.settings.database_url)
        return make_sessionmaker(self.engine, audit_key=ensure_key(self.settings.audit_key_path), actor=self.actor)

    def init_database(self) -> str | None:
        migrate.upgrade(self.settings.database_url)
        return migrate.current_revision(self.engine)

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
