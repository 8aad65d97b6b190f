"""webhook events: due_at (retry not before / processing lease) and a (state, id) index for batch claims

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 23:00:00

"""
import sqlalchemy as sa
from alembic import op

import webapp.models.base  # noqa: F401  (custom column types)

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', webapp.models.base.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_webhook_events_state_id', ['state', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_events_state_id')
        batch_op.drop_column('due_at')
