"""near-report indexes bounded by time: (group, sender, text time) and (group, sender, last message time)

Revision ID: 0013_throughput_near_reports
Revises: 0012_scores_periods
Create Date: 2026-12-03 08:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0013_throughput_near_reports'
down_revision: str | None = '0012_scores_periods'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_reports_group_sender_text_at', 'reports', ['group_id', 'sender_id', 'text_message_at'])
    op.create_index('ix_reports_group_sender_last_at', 'reports', ['group_id', 'sender_id', 'last_message_at'])
    op.drop_index('ix_reports_group_sender_time', table_name='reports')


def downgrade() -> None:
    op.create_index('ix_reports_group_sender_time', 'reports', ['group_id', 'sender_id', 'first_message_at'])
    op.drop_index('ix_reports_group_sender_last_at', table_name='reports')
    op.drop_index('ix_reports_group_sender_text_at', table_name='reports')
