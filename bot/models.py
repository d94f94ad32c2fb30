"""Tables the bot edge owns: per-group post policy and the post log (adapter state lives in capture)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import Float, Unicode

from wenming.db import Base, UTCDateTime, utcnow
from wenming.names import ZhEnum


class PostPolicy(ZhEnum):
    """What a group may see of a ranking; public bottom places can embarrass units."""

    HIGHLIGHTS = "highlights", "达标与优秀（不排名）"  # tiers and counts, no ranking: the default for groups
    TOP_N = "top_n", "仅前 N 名"  # only the first N places
    FULL = "full", "完整排名"  # the whole table
    STAFF_ONLY = "staff_only", "仅工作人员"  # staff group: full table plus warnings and reminders
    NONE = "none", "不发布"  # nothing is posted here


class GroupPostPolicy(Base):
    """Per-group choice of what scheduled posts may say there."""

    __tablename__ = "bot_group_policies"
    __table_args__ = (UniqueConstraint("platform", "group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    group_id: Mapped[str] = mapped_column(String(200))  # platform id (QQ) or group name (WeChat)
    policy: Mapped[str] = mapped_column(String(20), default=PostPolicy.HIGHLIGHTS.value)
    top_n: Mapped[int] = mapped_column(Integer, default=10)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PostRecord(Base):
    """Every scheduled post sent (or attempted); the unique key stops a restart from posting twice."""

    __tablename__ = "bot_posts"
    __table_args__ = (UniqueConstraint("kind", "period", "platform", "group_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # monthly_ranking | quarterly_summary | reminder | year_warning
    period: Mapped[str] = mapped_column(String(20))  # 2026-10, 2026Q3, 2026
    platform: Mapped[str] = mapped_column(String(20))
    group_id: Mapped[str] = mapped_column(String(200))
    policy: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # sending | sent | failed
    text: Mapped[str] = mapped_column(Text)
    image_path: Mapped[str | None] = mapped_column(String(500))
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SchedulerJob(Base):
    """APScheduler's SQLAlchemyJobStore table, declared here so Alembic owns it too."""

    __tablename__ = "apscheduler_jobs"

    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)
