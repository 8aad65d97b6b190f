"""resumable sync runs (checkpoint, slices, rate-limit pauses, weighted progress) and
bindings per (account, site)

Existing bindings get the site of their local record (product or category). A binding whose
record no longer exists keeps a NULL site: it is never matched again, and is kept as data.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 19:45:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress_percent', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('checkpoint', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('slice_no', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('pauses', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('resume_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('site_id', sa.Integer(), nullable=True))
    op.execute("UPDATE bindings SET site_id = (SELECT products.site_id FROM products "
               "WHERE products.id = bindings.local_id) WHERE kind = 'product'")
    op.execute("UPDATE bindings SET site_id = (SELECT categories.site_id FROM categories "
               "WHERE categories.id = bindings.local_id) WHERE kind = 'category'")
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_bindings_site_id_sites'), 'sites', ['site_id'], ['id'],
                                    ondelete='CASCADE')
        batch_op.drop_constraint('uq_bindings_account_id_kind_external_id', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_bindings_account_id_site_id_kind_external_id'),
                                          ['account_id', 'site_id', 'kind', 'external_id'])


def downgrade():
    # Going back to one binding per account: the lowest-id binding of each external id stays.
    op.execute("DELETE FROM bindings WHERE id NOT IN (SELECT MIN(id) FROM bindings "
               "GROUP BY account_id, kind, external_id)")
    with op.batch_alter_table('bindings', schema=None) as batch_op:
        batch_op.drop_constraint('uq_bindings_account_id_site_id_kind_external_id', type_='unique')
        batch_op.create_unique_constraint('uq_bindings_account_id_kind_external_id',
                                          ['account_id', 'kind', 'external_id'])
        batch_op.drop_constraint('fk_bindings_site_id_sites', type_='foreignkey')
        batch_op.drop_column('site_id')
    with op.batch_alter_table('sync_runs', schema=None) as batch_op:
        for column in ('resume_at', 'pauses', 'slice_no', 'checkpoint', 'progress_percent'):
            batch_op.drop_column(column)
