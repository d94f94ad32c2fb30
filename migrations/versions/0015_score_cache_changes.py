"""score_cache and score_changes: per-unit table parts kept between requests, invalidated by database triggers

Every write that can change a unit's scores (its reports, their tags and classifications, its staff records,
its coverage) appends the unit to ``score_changes`` from a trigger, so no write path (ORM, Core, another
process, hand-written SQL) can leave a cached score stale. The cache consumes those rows (scoring.score_cache).

Revision ID: 0015_score_cache_changes
Revises: 0014_throughput_cache_versions
Create Date: 2026-12-03 17:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015_score_cache_changes'
down_revision: str | None = '0014_throughput_cache_versions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns of reports that scoring reads; a change of any other (text, last message time) changes no score.
REPORT_COLUMNS = ('unit_id', 'status', 'label', 'post_date', 'activity_date', 'photo_count', 'possible_repost')
UNIT_COLUMNS = ('scoring_start', 'honour_level', 'headcount', 'active')
RECORD_TABLES = (
    'scoring_criticisms',
    'scoring_media_adoptions',
    'scoring_pairing_sheets',
    'scoring_volunteer_stats',
    'scoring_checks',
    'scoring_adjustments',
)
REPORT_CHILD_TABLES = ('report_tags', 'classifications')


def _sqlite_triggers() -> list[str]:
    """Row triggers (cheap in SQLite's C code); UPDATE only when a read column really changed."""
    changed = ' OR '.join(f'NEW.{c} IS NOT OLD.{c}' for c in REPORT_COLUMNS)
    unit_changed = ' OR '.join(f'NEW.{c} IS NOT OLD.{c}' for c in UNIT_COLUMNS)
    both = (
        'INSERT INTO score_changes (unit_id) SELECT NEW.unit_id WHERE NEW.unit_id IS NOT NULL '
        'UNION SELECT OLD.unit_id WHERE OLD.unit_id IS NOT NULL;'
    )
    statements = [
        'CREATE TRIGGER trg_reports_score_insert AFTER INSERT ON reports WHEN NEW.unit_id IS NOT NULL '
        'BEGIN INSERT INTO score_changes (unit_id) VALUES (NEW.unit_id); END',
        f'CREATE TRIGGER trg_reports_score_update AFTER UPDATE OF {", ".join(REPORT_COLUMNS)} ON reports '
        f'WHEN {changed} BEGIN {both} END',
        'CREATE TRIGGER trg_reports_score_delete AFTER DELETE ON reports WHEN OLD.unit_id IS NOT NULL '
        'BEGIN INSERT INTO score_changes (unit_id) VALUES (OLD.unit_id); END',
        f'CREATE TRIGGER trg_units_score_update AFTER UPDATE OF {", ".join(UNIT_COLUMNS)} ON units '
        f'WHEN {unit_changed} BEGIN INSERT INTO score_changes (unit_id) VALUES (NEW.id); END',
    ]
    for table in REPORT_CHILD_TABLES:
        for event, row in (('INSERT', 'NEW'), ('DELETE', 'OLD'), ('UPDATE', 'NEW')):
            statements.append(
                f'CREATE TRIGGER trg_{table}_score_{event.lower()} AFTER {event} ON {table} BEGIN '
                f'INSERT INTO score_changes (unit_id) SELECT unit_id FROM reports '
                f'WHERE id = {row}.report_id AND unit_id IS NOT NULL; END'
            )
    for table in RECORD_TABLES:
        statements += [
            f'CREATE TRIGGER trg_{table}_score_insert AFTER INSERT ON {table} '
            f'BEGIN INSERT INTO score_changes (unit_id) VALUES (NEW.unit_id); END',
            f'CREATE TRIGGER trg_{table}_score_update AFTER UPDATE ON {table} BEGIN {both} END',
            f'CREATE TRIGGER trg_{table}_score_delete AFTER DELETE ON {table} '
            f'BEGIN INSERT INTO score_changes (unit_id) VALUES (OLD.unit_id); END',
        ]
    return statements


def _pg_functions() -> list[str]:
    """Statement triggers over transition tables: one INSERT per statement, however many rows it wrote."""
    report_changed = ' OR '.join(f'n.{c} IS DISTINCT FROM o.{c}' for c in REPORT_COLUMNS)
    unit_changed = ' OR '.join(f'n.{c} IS DISTINCT FROM o.{c}' for c in UNIT_COLUMNS)
    return [
        """CREATE FUNCTION score_changes_of_unit_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO score_changes (unit_id) SELECT DISTINCT unit_id FROM new_rows WHERE unit_id IS NOT NULL;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO score_changes (unit_id) SELECT DISTINCT unit_id FROM old_rows WHERE unit_id IS NOT NULL;
  ELSE
    INSERT INTO score_changes (unit_id)
      SELECT unit_id FROM new_rows WHERE unit_id IS NOT NULL
      UNION SELECT unit_id FROM old_rows WHERE unit_id IS NOT NULL;
  END IF;
  RETURN NULL;
END $$""",
        f"""CREATE FUNCTION score_changes_of_report_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO score_changes (unit_id)
    SELECT DISTINCT v.unit_id FROM new_rows n JOIN old_rows o ON o.id = n.id
    CROSS JOIN LATERAL (VALUES (n.unit_id), (o.unit_id)) AS v(unit_id)
    WHERE v.unit_id IS NOT NULL AND ({report_changed});
  RETURN NULL;
END $$""",
        """CREATE FUNCTION score_changes_of_report_children() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO score_changes (unit_id) SELECT DISTINCT r.unit_id FROM reports r
      WHERE r.unit_id IS NOT NULL AND r.id IN (SELECT report_id FROM old_rows);
  ELSE
    INSERT INTO score_changes (unit_id) SELECT DISTINCT r.unit_id FROM reports r
      WHERE r.unit_id IS NOT NULL AND r.id IN (SELECT report_id FROM new_rows);
  END IF;
  RETURN NULL;
END $$""",
        f"""CREATE FUNCTION score_changes_of_unit_updates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO score_changes (unit_id)
    SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE {unit_changed};
  RETURN NULL;
END $$""",
    ]


def _pg_trigger(table: str, event: str, function: str) -> str:
    tables = {'INSERT': 'NEW TABLE AS new_rows', 'DELETE': 'OLD TABLE AS old_rows'}
    referencing = tables.get(event, 'NEW TABLE AS new_rows OLD TABLE AS old_rows')
    return (
        f'CREATE TRIGGER trg_{table}_score_{event.lower()} AFTER {event} ON {table} '
        f'REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()'
    )


def _pg_triggers() -> list[str]:
    statements = [
        _pg_trigger('reports', 'INSERT', 'score_changes_of_unit_rows'),
        _pg_trigger('reports', 'UPDATE', 'score_changes_of_report_updates'),
        _pg_trigger('reports', 'DELETE', 'score_changes_of_unit_rows'),
        _pg_trigger('units', 'UPDATE', 'score_changes_of_unit_updates'),
    ]
    events = ('INSERT', 'UPDATE', 'DELETE')
    for table in REPORT_CHILD_TABLES:
        statements += [_pg_trigger(table, e, 'score_changes_of_report_children') for e in events]
    for table in RECORD_TABLES:
        statements += [_pg_trigger(table, e, 'score_changes_of_unit_rows') for e in events]
    return statements


def _trigger_names() -> list[tuple[str, str]]:
    names = [('reports', e) for e in ('insert', 'update', 'delete')] + [('units', 'update')]
    for table in REPORT_CHILD_TABLES + RECORD_TABLES:
        names += [(table, e) for e in ('insert', 'update', 'delete')]
    return names


def upgrade() -> None:
    op.create_table(
        'score_changes',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_score_changes')),
    )
    op.create_table(
        'score_cache',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', 'unit_id', name=op.f('pk_score_cache')),
    )
    op.create_index('ix_score_cache_unit', 'score_cache', ['unit_id'], unique=False)
    postgres = op.get_bind().dialect.name == 'postgresql'
    for statement in (_pg_functions() + _pg_triggers()) if postgres else _sqlite_triggers():
        op.execute(statement)
    if postgres:
        # a queue: rows come and go all day, so vacuum it after a thousand dead rows, not after 20 % of a table
        # that is nearly always empty (else every DELETE reads the dead rows of the last big import)
        op.execute(
            'ALTER TABLE score_changes SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000)'
        )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    for table, event in _trigger_names():
        op.execute(f'DROP TRIGGER IF EXISTS trg_{table}_score_{event}' + (f' ON {table}' if postgres else ''))
    if postgres:
        for function in (
            'score_changes_of_unit_rows',
            'score_changes_of_report_updates',
            'score_changes_of_report_children',
            'score_changes_of_unit_updates',
        ):
            op.execute(f'DROP FUNCTION IF EXISTS {function}()')
    op.drop_index('ix_score_cache_unit', table_name='score_cache')
    op.drop_table('score_cache')
    op.drop_table('score_changes')
