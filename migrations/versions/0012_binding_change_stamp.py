"""binding change stamp: the provider's modify stamp of a synced record, so a re-sync skips
records whose stamp has not moved before building or hashing anything (bench/RESULTS.md)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 23:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stamp', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.drop_column('stamp')
