"""``sharescan init`` and ``sharescan db upgrade|downgrade|current|check``: Alembic, wrapped."""

from __future__ import annotations

import click

from scanner.app import App
from scanner.cli.context import pass_app
from scanner.cli.render import format_option, render_record
from scanner.store import migrate


@click.command()
@format_option(choices=("table", "json"))
@pass_app
def init(app: App, fmt: str) -> None:
    """Create the database (or bring it to the latest schema) and the installation keys."""
    from scanner.keys import ensure_key

    revision = app.init_database()
    loose = app.settings.keys.loose_permissions
    ensure_key(app.settings.evidence_key_path, loose=loose)
    ensure_key(app.settings.signing_key_path, loose=loose)
    render_record(
        {
            "database": app.engine.url.render_as_string(hide_password=True),
            "revision": revision,
            "evidence_key": str(app.settings.evidence_key_path),
            "signing_key": str(app.settings.signing_key_path),
            "config": app.settings.source or "(defaults)",
        },
        fmt,
        title="sharescan initialised",
    )


@click.group("db")
def db_group() -> None:
    """Database schema: upgrade, downgrade, current revision, check models against migrations."""


@db_group.command()
@click.argument("revision", default="head")
@pass_app
def upgrade(app: App, revision: str) -> None:
    """Upgrade the schema to REVISION (default: head)."""
    migrate.upgrade(app.settings.database_url, revision)
    click.echo(f"database at {migrate.current_revision(app.engine)}")


@db_group.command()
@click.argument("revision")
@pass_app
def downgrade(app: App, revision: str) -> None:
    """Downgrade the schema to REVISION (e.g. base). Data in dropped tables is lost."""
    migrate.downgrade(app.settings.database_url, revision)
    click.echo(f"database at {migrate.current_revision(app.engine) or 'base'}")


@db_group.command()
@format_option(choices=("table", "json"))
@pass_app
def current(app: App, fmt: str) -> None:
    """Show the database's schema revision and the head this sharescan expects."""
    cur = migrate.current_revision(app.engine)
    head = migrate.head_revision(app.settings.database_url)
    render_record({"current": cur, "head": head, "up_to_date": cur == head}, fmt)


@db_group.command()
@pass_app
def check(app: App) -> None:
    """Fail if the models and the migrations disagree (or the database is not at head)."""
    migrate.ensure_at_head(app.engine, app.settings.database_url)
    migrate.check(app.settings.database_url)
    click.echo("models and migrations agree; database at head")


COMMANDS: list[click.Command] = [init, db_group]
