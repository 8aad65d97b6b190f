"""order_days: orders placed per UTC day, kept by triggers on orders

The unfiltered orders list of every site finds where page N starts by adding up days
instead of skipping N × 50 index entries (?page=10000 of 1M orders: an OFFSET walk of
500,000 entries, ~75 ms on PostgreSQL), and shows an exact total instead of the planner's
estimate. The triggers keep the counts in the same transaction as the orders they count,
whatever writes the orders (the ORM, a bulk INSERT … SELECT, psql).

PostgreSQL counts INSERT and DELETE per statement (transition tables: one upsert per day
a statement touches, not one per order — a row-level upsert of the same day row, thousands
of times in one transaction, walks an ever longer chain of row versions). A moved order
(placed_at changed to another day) is counted per row. SQLite has row triggers only.

A later migration that rebuilds the orders table on SQLite (batch mode "recreate") drops
these triggers with the old table and must create them again (``create_triggers``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 13:00:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION order_days_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO order_days AS d (day, orders)
      SELECT placed_at::date, count(*) FROM added GROUP BY 1 ORDER BY 1
      ON CONFLICT (day) DO UPDATE SET orders = d.orders + EXCLUDED.orders;
      RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION order_days_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE order_days AS d SET orders = d.orders - r.n
      FROM (SELECT placed_at::date AS day, count(*) AS n FROM removed GROUP BY 1) AS r
      WHERE d.day = r.day;
      RETURN NULL;
    END $$""",
    """CREATE OR REPLACE FUNCTION order_days_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE order_days SET orders = orders - 1 WHERE day = OLD.placed_at::date;
      INSERT INTO order_days AS d (day, orders) VALUES (NEW.placed_at::date, 1)
      ON CONFLICT (day) DO UPDATE SET orders = d.orders + 1;
      RETURN NULL;
    END $$""",
    "CREATE TRIGGER orders_days_added AFTER INSERT ON orders REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION order_days_added()",
    "CREATE TRIGGER orders_days_removed AFTER DELETE ON orders REFERENCING OLD TABLE AS removed "
    "FOR EACH STATEMENT EXECUTE FUNCTION order_days_removed()",
    "CREATE TRIGGER orders_days_moved AFTER UPDATE OF placed_at ON orders FOR EACH ROW "
    "WHEN (OLD.placed_at::date IS DISTINCT FROM NEW.placed_at::date) EXECUTE FUNCTION order_days_moved()",
]

SQLITE = [
    """CREATE TRIGGER orders_days_added AFTER INSERT ON orders BEGIN
      INSERT INTO order_days (day, orders) VALUES (date(NEW.placed_at), 1)
      ON CONFLICT (day) DO UPDATE SET orders = orders + 1;
    END""",
    """CREATE TRIGGER orders_days_removed AFTER DELETE ON orders BEGIN
      UPDATE order_days SET orders = orders - 1 WHERE day = date(OLD.placed_at);
    END""",
    """CREATE TRIGGER orders_days_moved AFTER UPDATE OF placed_at ON orders
    WHEN date(OLD.placed_at) IS NOT date(NEW.placed_at) BEGIN
      UPDATE order_days SET orders = orders - 1 WHERE day = date(OLD.placed_at);
      INSERT INTO order_days (day, orders) VALUES (date(NEW.placed_at), 1)
      ON CONFLICT (day) DO UPDATE SET orders = orders + 1;
    END""",
]


def create_triggers():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRESQL if postgresql else SQLITE:
        op.execute(statement)


def upgrade():
    op.create_table(
        'order_days',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('orders', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_order_days')),
    )
    create_triggers()
    # In the same transaction as the triggers (PostgreSQL: CREATE TRIGGER locks out order
    # writes until commit), so no order is counted twice or missed.
    day = "placed_at::date" if op.get_bind().dialect.name == "postgresql" else "date(placed_at)"
    op.execute(f"INSERT INTO order_days (day, orders) SELECT {day}, count(*) FROM orders GROUP BY 1")


def downgrade():
    for trigger in ("orders_days_added", "orders_days_removed", "orders_days_moved"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}" + (" ON orders" if op.get_bind().dialect.name == "postgresql"
                                                          else ""))
    if op.get_bind().dialect.name == "postgresql":
        for function in ("order_days_added", "order_days_removed", "order_days_moved"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    op.drop_table('order_days')
