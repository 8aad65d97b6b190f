"""admin session version: logging out (or any revocation) ends the admin's sessions server-side

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 19:30:00

"""
import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('admins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('admins', schema=None) as batch_op:
        batch_op.drop_column('session_version')
