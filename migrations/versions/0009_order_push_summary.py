"""orders.push_state: each order's Embedded Services state at a glance (worst over its pushes),
indexed so the orders lists filter on it; backfilled from the pushes and live accounts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 23:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The definition of webapp/embedded/push_summary.py, written out so the migration never
# changes when the app does.
BACKFILL = """
UPDATE orders SET push_state = CASE
  WHEN EXISTS (SELECT 1 FROM order_pushes p WHERE p.order_id = orders.id AND p.state = 'failed') THEN 'failed'
  WHEN orders.status != 'Cancelled' AND EXISTS (
       SELECT 1 FROM site_activations a
       WHERE a.site_id = orders.site_id AND a.enabled = :yes AND a.is_live = :yes
         AND NOT EXISTS (SELECT 1 FROM order_pushes p WHERE p.order_id = orders.id
                         AND p.account_id = a.account_id AND p.state != 'waiting')) THEN 'waiting'
  WHEN EXISTS (SELECT 1 FROM order_pushes p WHERE p.order_id = orders.id
               AND p.state IN ('queued', 'pushing')) THEN 'in_flight'
  WHEN EXISTS (SELECT 1 FROM order_pushes p WHERE p.order_id = orders.id AND p.state = 'pushed') THEN 'pushed'
  ELSE 'none' END
"""


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('push_state', sa.String(length=10), nullable=False, server_default='none'))
    op.get_bind().execute(sa.text(BACKFILL), {"yes": True})
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_push_placed_id_site', ['push_state', 'placed_at', 'id', 'site_id'],
                              unique=False)
        batch_op.create_index('ix_orders_site_push_placed', ['site_id', 'push_state', 'placed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_site_push_placed')
        batch_op.drop_index('ix_orders_push_placed_id_site')
        batch_op.drop_column('push_state')
