"""Alembic environment: target metadata is scanner.store.models."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from scanner.store.db import make_engine
from scanner.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    # SQLite changes a table by copying it into a new one and dropping the old ("batch" mode); with
    # foreign keys enforced, dropping a table that other rows reference fails. Enforcement is switched
    # off for the migration (it can only be switched outside a transaction, on the driver's connection)
    # and every reference is checked before it is switched on again.
    raw = connection.connection.driver_connection if connection.dialect.name == "sqlite" else None
    if raw is not None and not connection.in_transaction():
        raw.execute("PRAGMA foreign_keys = OFF")
    try:
        with context.begin_transaction():
            context.run_migrations()
            if raw is not None:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left {len(broken)} broken foreign key reference(s): {broken[:5]}")
    finally:
        if raw is not None:
            raw.execute("PRAGMA foreign_keys = ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
