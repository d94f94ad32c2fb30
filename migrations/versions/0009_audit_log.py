"""audit: corrections becomes the core audit_log, with a (subject_type, subject_id) instead of foreign keys

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 10:00:00.000000

Every existing row is kept with its id. Rows that pointed at a report or a member get that as their subject;
unit and job rows get the unit or job named in their snapshot. The downgrade copies every row back (subjects
that are reports or members become the old foreign keys again, when that report or member still exists).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def _json_text(column: str, key: str) -> str:
    """A top-level key of a JSON snapshot as text, in the dialect's own words."""
    if op.get_bind().dialect.name == 'postgresql':
        return f"({column} ->> '{key}')"
    return f"CAST(json_extract({column}, '$.{key}') AS TEXT)"


def _reset_sequence(table: str) -> None:
    """Rows were copied with their ids: PostgreSQL's id sequence must continue after the largest."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) "
            f"FROM {table}"
        )


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('subject_type', sa.String(length=30), nullable=True),
    sa.Column('subject_id', sa.String(length=100), nullable=True),
    sa.Column('before', JSON, nullable=False),
    sa.Column('after', JSON, nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_audit_log_kind_created_at', ['kind', 'created_at'], unique=False)
        batch_op.create_index('ix_audit_log_subject', ['subject_type', 'subject_id'], unique=False)

    unit = f"COALESCE({_json_text('after', 'unit_id')}, {_json_text('before', 'unit_id')})"
    job = f"COALESCE({_json_text('after', 'job')}, {_json_text('before', 'job')})"
    op.execute(
        "INSERT INTO audit_log (id, kind, actor, subject_type, subject_id, before, after, reason, created_at) "
        "SELECT id, kind, actor, "
        "CASE WHEN report_id IS NOT NULL THEN 'report' WHEN member_id IS NOT NULL THEN 'member' "
        f"WHEN kind = 'unit' AND {unit} IS NOT NULL THEN 'unit' WHEN kind = 'job' AND {job} IS NOT NULL THEN 'job' END, "
        "CASE WHEN report_id IS NOT NULL THEN CAST(report_id AS VARCHAR(100)) "
        "WHEN member_id IS NOT NULL THEN CAST(member_id AS VARCHAR(100)) "
        f"WHEN kind = 'unit' THEN {unit} WHEN kind = 'job' THEN {job} END, "
        "before, after, reason, created_at FROM corrections"
    )
    _reset_sequence('audit_log')

    with op.batch_alter_table('corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_corrections_report_id'))
        batch_op.drop_index(batch_op.f('ix_corrections_member_id'))
        batch_op.drop_index(batch_op.f('ix_corrections_created_at'))
    op.drop_table('corrections')


def downgrade() -> None:
    op.create_table('corrections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('before', JSON, nullable=False),
    sa.Column('after', JSON, nullable=False),
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

    op.execute(
        "INSERT INTO corrections (id, kind, report_id, member_id, actor, before, after, reason, created_at) "
        "SELECT a.id, a.kind, "
        "CASE WHEN a.subject_type = 'report' "
        "THEN (SELECT r.id FROM reports r WHERE r.id = CAST(a.subject_id AS INTEGER)) END, "
        "CASE WHEN a.subject_type = 'member' "
        "THEN (SELECT m.id FROM members m WHERE m.id = CAST(a.subject_id AS INTEGER)) END, "
        "a.actor, a.before, a.after, a.reason, a.created_at FROM audit_log a"
    )
    _reset_sequence('corrections')

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_subject')
        batch_op.drop_index('ix_audit_log_kind_created_at')
        batch_op.drop_index(batch_op.f('ix_audit_log_created_at'))
    op.drop_table('audit_log')
