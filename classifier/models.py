"""Tables for classifications and the effective label set per report."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wenming.db import Base, JSONType, UTCDateTime, utcnow


class Label(StrEnum):
    PRACTICE = "practice"
    PAIRING = "pairing"
    NEWS = "news"
    VOLUNTEER = "volunteer"
    OTHER = "other"

    @property
    def zh(self) -> str:
        return {
            "practice": "文明实践",
            "pairing": "结对共建",
            "news": "新闻通讯",
            "volunteer": "志愿服务",
            "other": "其他",
        }[self.value]


class ClassificationSource(StrEnum):
    MODEL = "model"
    STAFF = "staff"


class Classification(Base):
    """One classification of a report, by the model or by staff; the newest current one wins."""

    __tablename__ = "classifications"
    __table_args__ = (Index("ix_classifications_report_current", "report_id", "is_current"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(20))
    secondary_labels: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    confidence: Mapped[float] = mapped_column(Float)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    evidence: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    model_version: Mapped[str | None] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(10), default=ClassificationSource.MODEL.value)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportTag(Base):
    """The effective labels of a report (primary and secondary), kept flat for SQL aggregation."""

    __tablename__ = "report_tags"
    __table_args__ = (
        UniqueConstraint("report_id", "label"),
        Index("ix_report_tags_label_report", "label", "report_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(20))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=True)
    score: Mapped[float] = mapped_column(Float, default=1.0)
