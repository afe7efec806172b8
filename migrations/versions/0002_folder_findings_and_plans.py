"""folder findings, limited access, plan keys

Files remember whether a folder has limited access; findings point at the folder finding that covers
them and folder findings carry their blast radius; remediation actions carry the key of the plan they
were recorded for (an unchanged plan is not recorded again).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inherited_permissions_disabled", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("folder_finding_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("blast_radius", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_findings_folder_finding_id"), ["folder_finding_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_findings_folder_finding_id_findings"), "findings",
                                    ["folder_finding_id"], ["id"])
    with op.batch_alter_table("remediation_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_remediation_actions_plan_key"), ["plan_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("remediation_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_remediation_actions_plan_key"))
        batch_op.drop_column("plan_key")
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_findings_folder_finding_id_findings"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_findings_folder_finding_id"))
        batch_op.drop_column("blast_radius")
        batch_op.drop_column("folder_finding_id")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("inherited_permissions_disabled")
