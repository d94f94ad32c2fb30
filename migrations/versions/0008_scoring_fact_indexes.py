"""scoring: partial indexes on the classification facts scoring reads

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Declared in scoring/models.py; the JSON paths are written exactly as scoring.repository.fact() writes them,
# so that both databases see that a scoring query implies the index predicate.
FACTS = {
    'ix_classifications_outlet_level': 'outlet_level',
    'ix_classifications_volunteer_hours': 'volunteer_hours',
}


def upgrade() -> None:
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        for name, key in FACTS.items():
            batch_op.create_index(
                name,
                ['report_id', 'is_current'],
                unique=False,
                sqlite_where=sa.text(f"is_current = 1 AND json_extract(facts, '$.{key}') IS NOT NULL"),
                postgresql_where=sa.text(f"is_current AND (facts ->> '{key}') IS NOT NULL"),
                postgresql_include=['facts'],
            )


def downgrade() -> None:
    with op.batch_alter_table('classifications', schema=None) as batch_op:
        for name in FACTS:
            batch_op.drop_index(name)
