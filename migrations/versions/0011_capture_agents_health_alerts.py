"""capture agents, health and alerts; adapter send and logout state

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:17:12
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('capture_agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key_salt', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_batch_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('messages_stored', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capture_agents')),
    sa.UniqueConstraint('name', name=op.f('uq_capture_agents_name'))
    )
    op.create_table('capture_cursors',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_capture_cursors'))
    )
    op.create_table('capture_agent_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['capture_agents.id'], name=op.f('fk_capture_agent_requests_agent_id_capture_agents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capture_agent_requests')),
    sa.UniqueConstraint('agent_id', 'signature', name=op.f('uq_capture_agent_requests_agent_id_signature'))
    )
    with op.batch_alter_table('capture_agent_requests', schema=None) as batch_op:
        batch_op.create_index('ix_capture_agent_requests_seen_at', ['seen_at'], unique=False)

    op.create_table('capture_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=120), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('adapter', sa.String(length=40), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('gap_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('gap_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('backfill', sa.Text(), nullable=True),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notify_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['chat_groups.id'], name=op.f('fk_capture_alerts_group_id_chat_groups'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_capture_alerts'))
    )
    with op.batch_alter_table('capture_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_capture_alerts_opened_at', ['opened_at'], unique=False)
        batch_op.create_index('ix_capture_alerts_subject_closed', ['subject', 'closed_at'], unique=False)

    op.create_table('capture_group_watch',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('usual_gap_seconds', sa.Integer(), nullable=True),
    sa.Column('learned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expected_gap_minutes', sa.Integer(), nullable=True),
    sa.Column('watched', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['chat_groups.id'], name=op.f('fk_capture_group_watch_group_id_chat_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_capture_group_watch'))
    )
    with op.batch_alter_table('bot_adapter_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('problem', sa.String(length=20), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('send_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_send_error', sa.Text(), nullable=False, server_default=''))



def downgrade() -> None:
    with op.batch_alter_table('bot_adapter_state', schema=None) as batch_op:
        batch_op.drop_column('last_send_error')
        batch_op.drop_column('send_failures')
        batch_op.drop_column('problem')
        batch_op.drop_column('changed_at')

    op.drop_table('capture_group_watch')
    with op.batch_alter_table('capture_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_capture_alerts_subject_closed')
        batch_op.drop_index('ix_capture_alerts_opened_at')

    op.drop_table('capture_alerts')
    with op.batch_alter_table('capture_agent_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_capture_agent_requests_seen_at')

    op.drop_table('capture_agent_requests')
    op.drop_table('capture_cursors')
    op.drop_table('capture_agents')
