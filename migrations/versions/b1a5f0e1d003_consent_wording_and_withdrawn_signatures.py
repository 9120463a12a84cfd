"""consent wording and withdrawn signatures

Revision ID: b1a5f0e1d003
Revises: b1a5f0e1d002
Create Date: 2026-12-03 10:40:00

"""
import sqlalchemy as sa
from alembic import op

import campaign.models.types

# revision identifiers, used by Alembic.
revision = 'b1a5f0e1d003'
down_revision = 'b1a5f0e1d002'
branch_labels = None
depends_on = None


def upgrade():
    # The sign form's consent wording, shared by every signature that saw the same words.
    # Withdrawn signatures are deleted (services.privacy.withdraw), so they need no column.
    op.create_table('consent_wordings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('created_at', campaign.models.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_wordings')),
    sa.UniqueConstraint('digest', name=op.f('uq_consent_wordings_digest'))
    )
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_wording_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_signatures_consent_wording_id_consent_wordings'),
            'consent_wordings',
            ['consent_wording_id'],
            ['id'],
            ondelete='RESTRICT',
        )


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_signatures_consent_wording_id_consent_wordings'), type_='foreignkey'
        )
        batch_op.drop_column('consent_wording_id')
    op.drop_table('consent_wordings')
