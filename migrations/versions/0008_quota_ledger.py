"""quota_ledger: API calls and quota units per run and method; files.publish_checked_at

Revision ID: 0008_quota_ledger
Revises: 0007_exposure_dating
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_quota_ledger"
down_revision: str | None = "0007_exposure_dating"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quota_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=128), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["scan_runs.id"], name=op.f("fk_quota_ledger_run_id_scan_runs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_ledger")),
        sa.UniqueConstraint("run_id", "method", name=op.f("uq_quota_ledger_run_id")),
    )
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("publish_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("publish_checked_revision", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("publish_checked_revision")
        batch.drop_column("publish_checked_at")
    op.drop_table("quota_ledger")
