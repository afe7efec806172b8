"""Drive sharing posture per org unit, and Drive labels read: posture_findings, findings.org_unit, files.labels

Revision ID: 0009_posture_labels
Revises: 0008_quota_ledger
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_posture_labels"
down_revision: str | None = "0008_quota_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "posture_findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("check_id", sa.String(length=128), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("org_unit_id", sa.String(length=64), nullable=False),
        sa.Column("org_unit", sa.String(length=512), nullable=False),
        sa.Column("applies_to", sa.JSON(), nullable=False),
        sa.Column("setting_type", sa.String(length=128), nullable=False),
        sa.Column("observed", sa.JSON(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("allows", sa.JSON(), nullable=False),
        sa.Column("setting_label", sa.Text(), nullable=False),
        sa.Column("compliance", sa.JSON(), nullable=False),
        sa.Column("recommendation", sa.Text(), nullable=False),
        sa.Column("detection_state", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recurrence_count", sa.Integer(), nullable=False),
        sa.Column("first_run_id", sa.Integer(), nullable=True),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["first_run_id"], ["scan_runs.id"],
                                name=op.f("fk_posture_findings_first_run_id_scan_runs")),
        sa.ForeignKeyConstraint(["last_run_id"], ["scan_runs.id"],
                                name=op.f("fk_posture_findings_last_run_id_scan_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posture_findings")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_posture_findings_fingerprint")),
    )
    op.create_index(op.f("ix_posture_findings_check_id"), "posture_findings", ["check_id"])
    op.create_index(op.f("ix_posture_findings_org_unit"), "posture_findings", ["org_unit"])
    with op.batch_alter_table("findings") as batch:
        batch.add_column(sa.Column("org_unit", sa.String(length=512), nullable=True))
        batch.create_index(batch.f("ix_findings_org_unit"), ["org_unit"])
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("labels", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("labels")
    with op.batch_alter_table("findings") as batch:
        batch.drop_index(batch.f("ix_findings_org_unit"))
        batch.drop_column("org_unit")
    op.drop_index(op.f("ix_posture_findings_org_unit"), table_name="posture_findings")
    op.drop_index(op.f("ix_posture_findings_check_id"), table_name="posture_findings")
    op.drop_table("posture_findings")
