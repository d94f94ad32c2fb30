"""The durable job table: background work survives restarts and crashed workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wenming.db import Base, JSONType, UTCDateTime, utcnow
from wenming.names import ZhEnum


class JobStatus(ZhEnum):
    """Where a job is; ``dead`` jobs wait for staff to look at them and retry."""

    QUEUED = "queued", "排队中"
    RUNNING = "running", "执行中"
    DONE = "done", "已完成"
    DEAD = "dead", "已失败"


class JobKind(ZhEnum):
    """Every kind of background work, with what staff read for it; the handlers are wired in ``wiring.handlers``.

    The queue itself runs any kind it is given a handler for; the names live here so that every door (console,
    API, ``wenming status``) shows the same words without importing the packages that do the work.
    """

    OCR_REPORT = "ocr.report", "报送照片文字识别"
    CLASSIFIER_TRAIN = "classifier.train", "用人工更正重新训练分类模型"
    CLASSIFIER_RECLASSIFY = "classifier.reclassify", "用当前模型重新分类报送"


class Job(Base):
    """One unit of background work, claimed under a lease that a live worker keeps renewing."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "status", "run_after", "priority"),
        Index("ix_jobs_status_locked_until", "status", "locked_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED.value)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(200))
    lease_token: Mapped[str | None] = mapped_column(String(40))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
