"""cache_versions: database-held counters that invalidate the leaderboard caches of every API process

Revision ID: 0014_throughput_cache_versions
Revises: 0013_throughput_near_reports
Create Date: 2026-12-03 09:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014_throughput_cache_versions'
down_revision: str | None = '0013_throughput_near_reports'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        'cache_versions',
        sa.Column('scope', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_cache_versions')),
    )
    op.bulk_insert(table, [{'scope': 'rankings', 'version': 0}])


def downgrade() -> None:
    op.drop_table('cache_versions')
