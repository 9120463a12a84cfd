"""organizer login lockout

Revision ID: b1a5f0e1d002
Revises: b1a5f0e1d001
Create Date: 2026-12-03 10:40:00

"""
from alembic import op
import sqlalchemy as sa

import campaign.models.types


# revision identifiers, used by Alembic.
revision = 'b1a5f0e1d002'
down_revision = 'b1a5f0e1d001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_throttles',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', campaign.models.types.UTCDateTime(), nullable=False),
        sa.Column('locked_until', campaign.models.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles')),
    )


def downgrade():
    op.drop_table('login_throttles')
