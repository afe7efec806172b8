"""files.item_kind and permissions.view / deleted / inherited_only: what the core reads, stored neutrally

The kind of an item (file, document, folder, shortcut, form) was derived from Google's MIME types and
a grant's view, deletion and "every grant inherited" from Drive's permission JSON; the connector now
fills them and the store keeps them as columns. Existing rows are filled from what they hold.

Revision ID: 0011_neutral_items
Revises: 0010_scan_units
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0011_neutral_items"
down_revision: str | None = "0010_scan_units"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = {
    "application/vnd.google-apps.folder": "folder",
    "application/vnd.google-apps.shortcut": "shortcut",
    "application/vnd.google-apps.form": "form",
    "application/vnd.google-apps.document": "document",
    "application/vnd.google-apps.spreadsheet": "document",
    "application/vnd.google-apps.presentation": "document",
}


def _raw(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value or "{}")
    return value if isinstance(value, dict) else {}


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("item_kind", sa.String(length=16), nullable=False, server_default="file"))
    with op.batch_alter_table("permissions") as batch:
        batch.add_column(sa.Column("view", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("deleted", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("inherited_only", sa.Boolean(), nullable=False, server_default=sa.false()))
    conn = op.get_bind()
    files = sa.table("files", sa.column("mime_type", sa.String), sa.column("item_kind", sa.String))
    for mime, kind in _KINDS.items():
        conn.execute(files.update().where(files.c.mime_type == mime).values(item_kind=kind))
    perms = sa.table("permissions", sa.column("id", sa.Integer), sa.column("raw", sa.JSON),
                     sa.column("inherited", sa.Boolean), sa.column("view", sa.String),
                     sa.column("deleted", sa.Boolean), sa.column("inherited_only", sa.Boolean))
    updates = []
    for pid, raw, inherited in conn.execute(sa.select(perms.c.id, perms.c.raw, perms.c.inherited)):
        data = _raw(raw)
        details = data.get("permissionDetails") or []
        only = all(d.get("inherited") for d in details) if details else bool(inherited)
        view = data.get("view") or None
        deleted = bool(data.get("deleted", False))
        if view or deleted or only:
            updates.append({"pid": pid, "v": view, "d": deleted, "o": only})
    if updates:
        conn.execute(perms.update().where(perms.c.id == sa.bindparam("pid"))
                     .values(view=sa.bindparam("v"), deleted=sa.bindparam("d"), inherited_only=sa.bindparam("o")),
                     updates)


def downgrade() -> None:
    with op.batch_alter_table("permissions") as batch:
        batch.drop_column("inherited_only")
        batch.drop_column("deleted")
        batch.drop_column("view")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("item_kind")
