"""paper signatures

Revision ID: b1a5f0e1d004
Revises: b1a5f0e1d003
Create Date: 2026-12-03 10:40:00

"""
from alembic import op
import sqlalchemy as sa

import campaign.models.types


# revision identifiers, used by Alembic.
revision = 'b1a5f0e1d004'
down_revision = 'b1a5f0e1d003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paper_signature_count', sa.Integer(), server_default='0', nullable=False))

    op.create_table('paper_signature_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('collected_on', sa.Date(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), server_default='', nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', campaign.models.types.UTCDateTime(), nullable=False),
    sa.CheckConstraint('count > 0', name=op.f('ck_paper_signature_batches_count_positive')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_paper_signature_batches_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['entered_by_id'], ['organizers.id'], name=op.f('fk_paper_signature_batches_entered_by_id_organizers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_paper_signature_batches_event_id_events'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_signature_batches'))
    )
    with op.batch_alter_table('paper_signature_batches', schema=None) as batch_op:
        batch_op.create_index('ix_paper_signature_batches_campaign_collected', ['campaign_id', 'collected_on'], unique=False)


def downgrade():
    with op.batch_alter_table('paper_signature_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_paper_signature_batches_campaign_collected')

    op.drop_table('paper_signature_batches')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('paper_signature_count')
