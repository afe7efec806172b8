"""targets, files and findings: provider (the connector an item comes from), 'google' for every existing row

Findings keep their fingerprints: for google it stays sha256(rule_id, file_id[, principal]).

Revision ID: 0006_provider_column
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_provider_column"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("crawl_targets", "files", "findings")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("provider", sa.String(length=32), nullable=False, server_default="google"))


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("provider")
