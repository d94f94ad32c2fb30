"""message recalls: raw_messages.recalls_message_id

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('raw_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recalls_message_id', sa.String(length=200), nullable=True))
        batch_op.create_index('ix_raw_messages_recalls_message_id', ['recalls_message_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('raw_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_messages_recalls_message_id')
        batch_op.drop_column('recalls_message_id')
