"""order_pushes, item_pushes: drop the single-column indexes their unique keys already cover

``ix_order_pushes_order_id`` (order_id) repeats the lead column of the unique (order_id,
account_id), and ``ix_item_pushes_push_id`` (push_id) that of the unique (push_id, item_id):
every lookup by order or by push uses the unique key as well. Each was one more index entry
to write per row inserted, and per row of a push's state change (the state is indexed, so
such an UPDATE is never HOT on PostgreSQL): a bulk chunk of 100 orders wrote both for every
row (bench/status_sync).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 16:30:00

"""
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_order_pushes_order_id', table_name='order_pushes')
    op.drop_index('ix_item_pushes_push_id', table_name='item_pushes')


def downgrade():
    op.create_index('ix_item_pushes_push_id', 'item_pushes', ['push_id'], unique=False)
    op.create_index('ix_order_pushes_order_id', 'order_pushes', ['order_id'], unique=False)
