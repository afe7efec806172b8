"""verdicts only on evidence (pending reads) and crash-consistent remediation (steps, intents)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Reasons the scanner used to store for content reads that failed for a passing cause; since this
#: revision such failures are pending reads, so rows left with one of them are read again.
TRANSIENT_SKIP_REASONS = ("%download failed%", "%export failed%", "%no identity could read%")


def upgrade() -> None:
    op.create_table(
        "pending_reads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_id", sa.String(length=128), nullable=False),
        sa.Column("aspect", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("owner_email", sa.String(length=320), nullable=True),
        sa.Column("drive_id", sa.String(length=128), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("unreadable", sa.Boolean(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["last_run_id"], ["scan_runs.id"],
                                name=op.f("fk_pending_reads_last_run_id_scan_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_reads")),
        sa.UniqueConstraint("file_id", "aspect", name=op.f("uq_pending_reads_file_id")),
    )
    with op.batch_alter_table("pending_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_reads_file_id"), ["file_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pending_reads_owner_email"), ["owner_email"], unique=False)
        batch_op.create_index(batch_op.f("ix_pending_reads_drive_id"), ["drive_id"], unique=False)

    op.create_table(
        "remediation_steps",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch", sa.String(length=128), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["finding_id"], ["findings.id"],
                                name=op.f("fk_remediation_steps_finding_id_findings")),
        sa.ForeignKeyConstraint(["run_id"], ["scan_runs.id"], name=op.f("fk_remediation_steps_run_id_scan_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remediation_steps")),
    )
    with op.batch_alter_table("remediation_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_remediation_steps_batch"), ["batch"], unique=False)
        batch_op.create_index(batch_op.f("ix_remediation_steps_finding_id"), ["finding_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_remediation_steps_status"), ["status"], unique=False)

    with op.batch_alter_table("remediation_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("step_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("intent", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_remediation_actions_step_id"), ["step_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_remediation_actions_step_id_remediation_steps"),
                                    "remediation_steps", ["step_id"], ["id"])

    with op.batch_alter_table("scan_coverage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("files_pending", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("files_unreadable", sa.Integer(), nullable=False, server_default="0"))

    files = sa.table("files", sa.column("content_status", sa.String), sa.column("content_skip_reason", sa.Text))
    op.execute(files.update()
               .where(files.c.content_status == "not_analysed",
                      sa.or_(*(files.c.content_skip_reason.like(p) for p in TRANSIENT_SKIP_REASONS)))
               .values(content_status="pending"))


def downgrade() -> None:
    with op.batch_alter_table("scan_coverage", schema=None) as batch_op:
        batch_op.drop_column("files_unreadable")
        batch_op.drop_column("files_pending")

    with op.batch_alter_table("remediation_actions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_remediation_actions_step_id_remediation_steps"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_remediation_actions_step_id"))
        batch_op.drop_column("intent")
        batch_op.drop_column("step_id")

    with op.batch_alter_table("remediation_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remediation_steps_status"))
        batch_op.drop_index(batch_op.f("ix_remediation_steps_finding_id"))
        batch_op.drop_index(batch_op.f("ix_remediation_steps_batch"))
    op.drop_table("remediation_steps")

    with op.batch_alter_table("pending_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_reads_drive_id"))
        batch_op.drop_index(batch_op.f("ix_pending_reads_owner_email"))
        batch_op.drop_index(batch_op.f("ix_pending_reads_file_id"))
    op.drop_table("pending_reads")
