"""scoring periods and snapshots, appeals, unit links, historic annual scores, units.scoring_start

Revision ID: 0012_scores_periods
Revises: 0011
Create Date: 2026-12-03 07:34:22.854237
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0012_scores_periods'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('scoring_periods',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rubric', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('closed_by', sa.String(length=100), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by', sa.String(length=100), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('snapshot_id', sa.Integer(), nullable=True),
    sa.Column('published_snapshot_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_periods')),
    sa.UniqueConstraint('rubric', 'kind', 'year', 'number', name=op.f('uq_scoring_periods_rubric_kind_year_number'))
    )
    op.create_table('scoring_annual_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('document', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('voided_by', sa.String(length=100), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_scoring_annual_scores_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_annual_scores'))
    )
    with op.batch_alter_table('scoring_annual_scores', schema=None) as batch_op:
        batch_op.create_index('ix_scoring_annual_scores_unit_year', ['unit_id', 'year'], unique=False)

    op.create_table('scoring_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['period_id'], ['scoring_periods.id'], name=op.f('fk_scoring_snapshots_period_id_scoring_periods'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_snapshots'))
    )
    with op.batch_alter_table('scoring_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_scoring_snapshots_period', ['period_id'], unique=False)

    op.create_table('scoring_unit_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_scoring_unit_links_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_unit_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_scoring_unit_links_token_hash'))
    )
    with op.batch_alter_table('scoring_unit_links', schema=None) as batch_op:
        batch_op.create_index('ix_scoring_unit_links_unit', ['unit_id'], unique=False)

    op.create_table('scoring_appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('target', sa.String(length=10), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('record_kind', sa.String(length=30), nullable=True),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('wanted_label', sa.String(length=20), nullable=True),
    sa.Column('happened_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('filed_by', sa.String(length=100), nullable=False),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_by', sa.String(length=100), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_scoring_appeals_report_id_reports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_scoring_appeals_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scoring_appeals'))
    )
    with op.batch_alter_table('scoring_appeals', schema=None) as batch_op:
        batch_op.create_index('ix_scoring_appeals_status', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_scoring_appeals_unit', ['unit_id', 'created_at'], unique=False)

    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scoring_start', sa.String(length=7), nullable=True))




def downgrade() -> None:
    
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('scoring_start')

    with op.batch_alter_table('scoring_appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_scoring_appeals_unit')
        batch_op.drop_index('ix_scoring_appeals_status')

    op.drop_table('scoring_appeals')
    with op.batch_alter_table('scoring_unit_links', schema=None) as batch_op:
        batch_op.drop_index('ix_scoring_unit_links_unit')

    op.drop_table('scoring_unit_links')
    with op.batch_alter_table('scoring_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_scoring_snapshots_period')

    op.drop_table('scoring_snapshots')
    with op.batch_alter_table('scoring_annual_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_scoring_annual_scores_unit_year')

    op.drop_table('scoring_annual_scores')
    op.drop_table('scoring_periods')

