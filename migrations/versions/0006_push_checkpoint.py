"""push checkpoint: remote ids of a multi-call push, committed as each is created

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 19:40:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('order_pushes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkpoint', sa.JSON(), nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('order_pushes', schema=None) as batch_op:
        batch_op.drop_column('checkpoint')
