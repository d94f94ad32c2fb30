"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('chat_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('platform_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_groups')),
    sa.UniqueConstraint('platform', 'platform_id', name=op.f('uq_chat_groups_platform_platform_id'))
    )
    op.create_table('media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('phash', sa.String(length=16), nullable=True),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('mime', sa.String(length=50), nullable=False),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media')),
    sa.UniqueConstraint('sha256', name=op.f('uq_media_sha256'))
    )
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_phash'), ['phash'], unique=False)

    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('aliases', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('honour_level', sa.String(length=20), nullable=False),
    sa.Column('category', sa.String(length=50), nullable=True),
    sa.Column('headcount', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('name', name=op.f('uq_units_name'))
    )
    op.create_table('members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=20), nullable=False),
    sa.Column('platform_user_id', sa.String(length=200), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('unit_source', sa.String(length=20), nullable=True),
    sa.Column('is_staff', sa.Boolean(), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_members_unit_id_units'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('platform', 'platform_user_id', name=op.f('uq_members_platform_platform_user_id'))
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_members_unit_id'), ['unit_id'], unique=False)

    op.create_table('member_names',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['chat_groups.id'], name=op.f('fk_member_names_group_id_chat_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_names_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_names')),
    sa.UniqueConstraint('member_id', 'group_id', 'name', name=op.f('uq_member_names_member_id_group_id_name'))
    )
    with op.batch_alter_table('member_names', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_names_member_id'), ['member_id'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=False),
    sa.Column('first_message_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('text_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('post_date', sa.Date(), nullable=False),
    sa.Column('activity_date', sa.Date(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('photo_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=20), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('possible_repost', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['chat_groups.id'], name=op.f('fk_reports_group_id_chat_groups')),
    sa.ForeignKeyConstraint(['sender_id'], ['members.id'], name=op.f('fk_reports_sender_id_members')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_reports_unit_id_units'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_group_sender_time', ['group_id', 'sender_id', 'first_message_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_label'), ['label'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_unit_id'), ['unit_id'], unique=False)
        batch_op.create_index('ix_reports_unit_post_date', ['unit_id', 'post_date'], unique=False)

    op.create_table('classifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=20), nullable=False),
    sa.Column('secondary_labels', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('facts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('evidence', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('model_version', sa.String(length=50), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_classifications_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classifications'))
    )
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.create_index('ix_classifications_report_current', ['report_id', 'is_current'], unique=False)

    op.create_table('corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('after', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_corrections_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_corrections_report_id_reports'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corrections'))
    )
    with op.batch_alter_table('corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_corrections_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrections_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrections_report_id'), ['report_id'], unique=False)

    op.create_table('raw_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=40), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('sender_id', sa.Integer(), nullable=True),
    sa.Column('sender_name', sa.String(length=200), nullable=True),
    sa.Column('platform_message_id', sa.String(length=200), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('media_id', sa.Integer(), nullable=True),
    sa.Column('media_ref', sa.String(length=500), nullable=True),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['chat_groups.id'], name=op.f('fk_raw_messages_group_id_chat_groups')),
    sa.ForeignKeyConstraint(['media_id'], ['media.id'], name=op.f('fk_raw_messages_media_id_media')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_raw_messages_report_id_reports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sender_id'], ['members.id'], name=op.f('fk_raw_messages_sender_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_raw_messages')),
    sa.UniqueConstraint('platform', 'group_id', 'platform_message_id', name=op.f('uq_raw_messages_platform_group_id_platform_message_id'))
    )
    with op.batch_alter_table('raw_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_messages_report_id'), ['report_id'], unique=False)
        batch_op.create_index('ix_raw_messages_status_sent_at', ['status', 'sent_at'], unique=False)

    op.create_table('report_tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=20), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_tags_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_tags')),
    sa.UniqueConstraint('report_id', 'label', name=op.f('uq_report_tags_report_id_label'))
    )
    with op.batch_alter_table('report_tags', schema=None) as batch_op:
        batch_op.create_index('ix_report_tags_label_report', ['label', 'report_id'], unique=False)

    op.create_table('report_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('media_id', sa.Integer(), nullable=False),
    sa.Column('raw_message_id', sa.Integer(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('repost_of_media_id', sa.Integer(), nullable=True),
    sa.Column('repost_distance', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['media_id'], ['media.id'], name=op.f('fk_report_photos_media_id_media')),
    sa.ForeignKeyConstraint(['raw_message_id'], ['raw_messages.id'], name=op.f('fk_report_photos_raw_message_id_raw_messages')),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_photos_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['repost_of_media_id'], ['media.id'], name=op.f('fk_report_photos_repost_of_media_id_media')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_photos')),
    sa.UniqueConstraint('report_id', 'raw_message_id', name=op.f('uq_report_photos_report_id_raw_message_id'))
    )
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_photos_media_id'), ['media_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_photos_report_id'), ['report_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_photos_report_id'))
        batch_op.drop_index(batch_op.f('ix_report_photos_media_id'))

    op.drop_table('report_photos')
    with op.batch_alter_table('report_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_report_tags_label_report')

    op.drop_table('report_tags')
    with op.batch_alter_table('raw_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_messages_status_sent_at')
        batch_op.drop_index(batch_op.f('ix_raw_messages_report_id'))

    op.drop_table('raw_messages')
    with op.batch_alter_table('corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_corrections_report_id'))
        batch_op.drop_index(batch_op.f('ix_corrections_member_id'))
        batch_op.drop_index(batch_op.f('ix_corrections_created_at'))

    op.drop_table('corrections')
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        batch_op.drop_index('ix_classifications_report_current')

    op.drop_table('classifications')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_unit_post_date')
        batch_op.drop_index(batch_op.f('ix_reports_unit_id'))
        batch_op.drop_index(batch_op.f('ix_reports_status'))
        batch_op.drop_index(batch_op.f('ix_reports_label'))
        batch_op.drop_index('ix_reports_group_sender_time')

    op.drop_table('reports')
    with op.batch_alter_table('member_names', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_names_member_id'))

    op.drop_table('member_names')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_unit_id'))

    op.drop_table('members')
    op.drop_table('units')
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_phash'))

    op.drop_table('media')
    op.drop_table('chat_groups')

