"""orders list and status-update indexes (bench/RESULTS.md: admin pages, status sync)

The orders lists scan (placed_at, id) in order and filter on the admin's site scope; with
site_id in the index the scope is checked without reading table rows, so page 1 and deep
pages of the all-sites list stay fast at 100,000 orders. Status updates (sync and webhooks)
look pushes up by idempotency key.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 23:30:00

"""
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_placed_id')
        batch_op.drop_index('ix_orders_status_placed')
        batch_op.create_index('ix_orders_placed_id_site', ['placed_at', 'id', 'site_id'], unique=False)
        batch_op.create_index('ix_orders_status_placed_id_site', ['status', 'placed_at', 'id', 'site_id'],
                              unique=False)
    with op.batch_alter_table('order_pushes', schema=None) as batch_op:
        batch_op.create_index('ix_order_pushes_account_key', ['account_id', 'idempotency_key'], unique=False)


def downgrade():
    with op.batch_alter_table('order_pushes', schema=None) as batch_op:
        batch_op.drop_index('ix_order_pushes_account_key')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_status_placed_id_site')
        batch_op.drop_index('ix_orders_placed_id_site')
        batch_op.create_index('ix_orders_status_placed', ['status', 'placed_at'], unique=False)
        batch_op.create_index('ix_orders_placed_id', ['placed_at', 'id'], unique=False)
