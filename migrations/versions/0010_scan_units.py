"""scan_file_outcomes: per run and candidate file, what its analysis came to (run state in the database)

Revision ID: 0010_scan_units
Revises: 0009_posture_labels
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_scan_units"
down_revision: str | None = "0009_posture_labels"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scan_file_outcomes",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("scan_runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("file_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("evaluated", sa.Boolean(), nullable=False),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=True),
        sa.Column("target_key", sa.String(length=320), nullable=True),
        sa.Column("nlp_mode", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "file_id"),
    )


def downgrade() -> None:
    op.drop_table("scan_file_outcomes")
