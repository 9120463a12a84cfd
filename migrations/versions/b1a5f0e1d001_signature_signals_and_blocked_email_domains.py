"""signature signals and blocked email domains

Revision ID: b1a5f0e1d001
Revises: 5d6e2def1ae4
Create Date: 2026-12-03 10:40:00

"""
from alembic import op
import sqlalchemy as sa

import campaign.models.types


# revision identifiers, used by Alembic.
revision = 'b1a5f0e1d001'
down_revision = '5d6e2def1ae4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scheduled_runs',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('last_run_at', campaign.models.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduled_runs'))
    )
    op.create_table('signature_invalidations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('invalidated_by_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('signatures', sa.Integer(), nullable=False),
    sa.Column('confirmed_signatures', sa.Integer(), nullable=False),
    sa.Column('created_at', campaign.models.types.UTCDateTime(), nullable=False),
    sa.Column('restored_at', campaign.models.types.UTCDateTime(), nullable=True),
    sa.Column('restored_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_signature_invalidations_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invalidated_by_id'], ['organizers.id'], name=op.f('fk_signature_invalidations_invalidated_by_id_organizers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['restored_by_id'], ['organizers.id'], name=op.f('fk_signature_invalidations_restored_by_id_organizers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signature_invalidations'))
    )
    with op.batch_alter_table('signature_invalidations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signature_invalidations_campaign_id'), ['campaign_id'], unique=False)

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blocks_disposable_email', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('blocked_email_domains', sa.Text(), server_default='', nullable=False))

    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ip_hash', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('ip_range_hash', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('user_agent_class', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('seconds_on_form', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('email_domain', sa.String(length=253), nullable=True))
        batch_op.add_column(sa.Column('invalidated_at', campaign.models.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('invalidation_reason', sa.String(length=200), server_default='', nullable=False))

    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invalidated_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('invalidation_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_signatures_invalidated_by_id_organizers'), 'organizers', ['invalidated_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_signatures_invalidation_id_signature_invalidations'), 'signature_invalidations', ['invalidation_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.create_index('ix_signatures_campaign_email_domain', ['campaign_id', 'email_domain', 'created_at'], unique=False)
        batch_op.create_index('ix_signatures_campaign_ip_range', ['campaign_id', 'ip_range_hash', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signatures_invalidation_id'), ['invalidation_id'], unique=False)

    # Existing signatures get their email domain, so that bursts by domain include them.
    op.execute(
        "UPDATE signatures SET email_domain = lower(substr(email, instr(email, '@') + 1))"
        if op.get_bind().dialect.name == 'sqlite'
        else "UPDATE signatures SET email_domain = lower(split_part(email, '@', 2))"
    )


def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_signatures_invalidation_id_signature_invalidations'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_signatures_invalidated_by_id_organizers'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_signatures_invalidation_id'))
        batch_op.drop_index('ix_signatures_campaign_ip_range')
        batch_op.drop_index('ix_signatures_campaign_email_domain')
        batch_op.drop_column('invalidation_id')
        batch_op.drop_column('invalidation_reason')
        batch_op.drop_column('invalidated_by_id')
        batch_op.drop_column('invalidated_at')
        batch_op.drop_column('email_domain')
        batch_op.drop_column('seconds_on_form')
        batch_op.drop_column('user_agent_class')
        batch_op.drop_column('ip_range_hash')
        batch_op.drop_column('ip_hash')

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('blocked_email_domains')
        batch_op.drop_column('blocks_disposable_email')

    with op.batch_alter_table('signature_invalidations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signature_invalidations_campaign_id'))

    op.drop_table('signature_invalidations')
    op.drop_table('scheduled_runs')
