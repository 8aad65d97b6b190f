"""account status: one status per account (verified / failing with its reason / not verified,
or not verified since its credentials changed), set by tests and real calls

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 23:00:00

"""
import sqlalchemy as sa
from alembic import op

import webapp.models.base  # noqa: F401  (custom column types)


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('provider_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_code', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('auth_message', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('auth_at', webapp.models.base.UTCDateTime(), nullable=True))
    op.execute("UPDATE provider_accounts SET auth_state = 'failing', auth_code = 'invalid_credentials', "
               "auth_message = 'The provider refused the credentials.' WHERE auth_state = 'needs_reauth'")


def downgrade():
    op.execute("UPDATE provider_accounts SET auth_state = CASE WHEN auth_code = 'invalid_credentials' "
               "THEN 'needs_reauth' ELSE 'untested' END WHERE auth_state IN ('failing', 'changed')")
    with op.batch_alter_table('provider_accounts', schema=None) as batch_op:
        batch_op.drop_column('auth_at')
        batch_op.drop_column('auth_message')
        batch_op.drop_column('auth_code')
