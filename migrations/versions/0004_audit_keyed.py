"""keyed audit chain: chain_version per event; baseline state events for existing rows; acted_as

Events already in the log stay version 1 (unkeyed SHA-256 links) and keep verifying; new events
are version 2 (HMAC under the audit key). remediation_actions.acted_as records the Google identity
a change was made as. Every finding, remediation action and exemption that
exists gets one baseline state event, so the state of every row is provable from the chain.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_version', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('remediation_actions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acted_as', sa.String(length=320), nullable=True))
    _baseline()


def downgrade() -> None:
    with op.batch_alter_table('remediation_actions', schema=None) as batch_op:
        batch_op.drop_column('acted_as')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('chain_version')


def _baseline() -> None:
    """One unkeyed ``*.state`` event per existing covered row (the migration has no audit key; these
    events are part of the log's legacy prefix)."""
    from scanner.store import audit, statechain
    from scanner.store.models import AuditEvent, utcnow

    conn = op.get_bind()
    events = AuditEvent.__table__
    head = conn.execute(sa.select(events.c.seq, events.c.hash).order_by(events.c.seq.desc()).limit(1)).first()
    seq, prev = (head[0], head[1]) if head else (0, audit.GENESIS)
    now = utcnow()
    for cov in statechain.COVERAGE:
        table = cov.model.__table__
        if not sa.inspect(conn).has_table(table.name):
            continue  # covered by a later revision: no rows yet
        # only the columns this database has at this revision (a later revision may cover more)
        present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
        columns = [table.c.id, *(table.c[name] for name in cov.columns() if name in present)]
        for row in conn.execute(sa.select(*columns).order_by(table.c.id)).all():
            state = statechain.state_of(cov, row._mapping.get)
            data = {"change": "baseline", "digest": statechain.state_digest(state), "state": state}
            seq += 1
            digest = audit.event_hash(prev, seq=seq, ts=now, actor="sharescan-migration", event_type=cov.event_type,
                                      subject_type=cov.subject_type, subject_id=str(row.id), data=data)
            conn.execute(events.insert().values(
                seq=seq, ts=now, actor="sharescan-migration", event_type=cov.event_type,
                subject_type=cov.subject_type, subject_id=str(row.id), data=data, prev_hash=prev, hash=digest,
                chain_version=audit.LEGACY_VERSION))
            prev = digest
