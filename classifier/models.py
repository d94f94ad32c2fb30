"""Tables for classifications and the effective label set per report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from wenming.db import Base, JSONType, UTCDateTime, utcnow
from wenming.names import ZhEnum


class Label(ZhEnum):
    PRACTICE = "practice", "文明实践"
    PAIRING = "pairing", "结对共建"
    NEWS = "news", "新闻通讯"
    VOLUNTEER = "volunteer", "志愿服务"
    OTHER = "other", "其他"


class Fact(ZhEnum):
    """Facts the classifier reads from a report (``Classification.facts`` keys), named as staff read them."""

    ACTIVITY_DATE = "activity_date", "活动日期"
    PARTNER = "partner", "结对村（社区）"
    PARTICIPANTS = "participants", "参与人数"
    VOLUNTEER_HOURS = "volunteer_hours", "志愿服务时长（小时）"
    OUTLET = "outlet", "刊发媒体"
    OUTLET_LEVEL = "outlet_level", "媒体级别"
    ARTICLE_TITLE = "article_title", "稿件标题"
    UNIT = "unit", "横幅上的单位"
    UNIT_ID = "unit_id", "横幅单位编号"


class ClassificationSource(ZhEnum):
    MODEL = "model", "模型"
    STAFF = "staff", "人工"


class OutletLevel(ZhEnum):
    """Level of a medium (the ``outlet_level`` fact), a visiting research group or a leader's instruction."""

    COUNTY = "county", "县级"
    CITY = "city", "市级"
    PROVINCE = "province", "省级"
    CENTRAL = "central", "中央"  # as the notices write it: 中央媒体, 中央领导

    @property
    def rank(self) -> int:
        return ["county", "city", "province", "central"].index(self.value)

    @classmethod
    def parse(cls, value: str) -> OutletLevel:
        """Accept the code or the Chinese form (县/县级/市/市级/省/省级/中央/国家/国家级)."""
        text = value.strip().removesuffix("级")
        aliases = {"县": "county", "市": "city", "省": "province", "中央": "central", "国家": "central"}
        text = aliases.get(text, text)
        for level in cls:
            if text == level.value:
                return level
        raise ValueError(f"未知的级别：{value!r}（应为 {'/'.join(level.zh for level in cls)}）")


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


# Secondary labels are the minority: a partial index finds them without probing every report's tags (scoring).
Index(
    "ix_report_tags_secondary_label",
    ReportTag.label,
    ReportTag.report_id,
    sqlite_where=ReportTag.is_primary == false(),
    postgresql_where=ReportTag.is_primary == false(),
)
Index(
    "ix_report_tags_secondary",
    ReportTag.report_id,
    ReportTag.label,
    sqlite_where=ReportTag.is_primary == false(),
    postgresql_where=ReportTag.is_primary == false(),
)


# Adoption notices and stated volunteer hours are the few facts scoring reads: partial indexes on the current
# classifications that state them, so that a quarter probes them instead of reading every news report's JSON.
# The paths are written as ``scoring.repository.fact`` writes them, so that the planners match the predicate.
# Facts are a handful of short validated keys (classifier.service.FACT_KEYS), small enough to carry in the index.
def _fact_index(name: str, key: str) -> Index:
    return Index(
        name,
        Classification.report_id,
        Classification.is_current,  # as in ix_classifications_report_current, so that SQLite prefers this one
        sqlite_where=text(f"is_current = 1 AND json_extract(facts, '$.{key}') IS NOT NULL"),
        postgresql_where=text(f"is_current AND (facts ->> '{key}') IS NOT NULL"),
        postgresql_include=["facts"],  # index-only: PostgreSQL would rather scan every classification's JSON
    )


_fact_index("ix_classifications_outlet_level", "outlet_level")
_fact_index("ix_classifications_volunteer_hours", "volunteer_hours")
