"""exposure dating from the Drive audit log, and the watch cursor

exposure_dating: per file, when its current exposure began (audit_log / before_retention / first_seen),
who made it (domain + keyed hash), and the anonymous/outside/insider accesses since.
watch_cursors: how far `sharescan watch` has read the audit log, and the events it handled.

Revision ID: 0007_exposure_dating
Revises: 0006_provider_column
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_exposure_dating"
down_revision: str | None = "0006_provider_column"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exposure_dating",
        sa.Column("file_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("exposed_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visibility", sa.String(length=40), nullable=True),
        sa.Column("exposed_by_kind", sa.String(length=16), nullable=True),
        sa.Column("exposed_by_domain", sa.String(length=255), nullable=True),
        sa.Column("exposed_by_hash", sa.String(length=64), nullable=True),
        sa.Column("exposed_by_email", sa.String(length=320), nullable=True),
        sa.Column("access", sa.JSON(), nullable=False),
        sa.Column("outside_total", sa.Integer(), nullable=False),
        sa.Column("outside_domains", sa.JSON(), nullable=False),
        sa.Column("outside_actors", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("events_read", sa.Integer(), nullable=False),
        sa.Column("truncated", sa.Boolean(), nullable=False),
        sa.Column("skipped_reason", sa.Text(), nullable=True),
        sa.Column("dated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name=op.f("fk_exposure_dating_file_id_files"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_exposure_dating")),
    )
    op.create_table(
        "watch_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.DateTime(timezone=True), nullable=True),
        sa.Column("seen", sa.JSON(), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("last_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_watch_cursors")),
    )


def downgrade() -> None:
    op.drop_table("watch_cursors")
    op.drop_table("exposure_dating")
