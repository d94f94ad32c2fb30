"""messages that are not reports: raw_messages.reason and raw_messages.other_names

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('raw_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column(
                'other_names',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                nullable=True,
            )
        )
        batch_op.create_index('ix_raw_messages_status_reason', ['status', 'reason'], unique=False)
    # Rows kept before this revision say why they were kept as far as the old status tells.
    raw = sa.table('raw_messages', sa.column('status', sa.String), sa.column('kind', sa.String),
                   sa.column('text', sa.Text), sa.column('reason', sa.String))
    ignored = raw.c.status == 'ignored'
    op.execute(raw.update().where(ignored, raw.c.kind == 'other', raw.c.text == '[图片]').values(reason='no_photo'))
    for kind, reason in (('system', 'system'), ('recall', 'recall'), ('other', 'not_text')):
        op.execute(raw.update().where(ignored, raw.c.kind == kind, raw.c.reason.is_(None)).values(reason=reason))


def downgrade() -> None:
    raw = sa.table('raw_messages', sa.column('status', sa.String))
    op.execute(raw.update().where(raw.c.status == 'chatter').values(status='ignored'))
    with op.batch_alter_table('raw_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_messages_status_reason')
        batch_op.drop_column('other_names')
        batch_op.drop_column('reason')
