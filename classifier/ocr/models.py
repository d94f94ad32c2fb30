"""Tables for text read from photos (per media item) and the photo evidence signals of each report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from wenming.db import Base, JSONType, UTCDateTime, utcnow
from wenming.names import ZhEnum


class MediaTextStatus(ZhEnum):
    READ = "read", "已识别"  # OCR ran; the image may still have no text (zero lines)
    REFUSED = "refused", "拒绝识别"  # over the limits or undecodable: never retried
    MISSING = "missing", "文件缺失"  # the stored file is gone


class MediaText(Base):
    """One OCR pass over one stored image; its presence means the image is never read again."""

    __tablename__ = "media_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    engine: Mapped[str | None] = mapped_column(String(60))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    detected: Mapped[int] = mapped_column(Integer, default=0)
    elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MediaTextLine(Base):
    """A recognised line with its box (four corner points, image pixels) and confidence."""

    __tablename__ = "media_text_lines"
    __table_args__ = (UniqueConstraint("media_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    box: Mapped[list[list[float]]] = mapped_column(JSONType)
    line_height: Mapped[float] = mapped_column(Float)
    is_banner: Mapped[bool] = mapped_column(Boolean, default=False)


class ReportPhotoEvidence(Base):
    """Evidence quality of a report's photos, for staff and for the rubric's liveliness rules."""

    __tablename__ = "report_photo_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), unique=True)
    photo_count: Mapped[int] = mapped_column(Integer, default=0)
    distinct_photos: Mapped[int] = mapped_column(Integer, default=0)  # after the re-post check
    photos_read: Mapped[int] = mapped_column(Integer, default=0)
    banner_read: Mapped[bool] = mapped_column(Boolean, default=False)
    banner_lines: Mapped[list[str]] = mapped_column(JSONType, default=list)
    text_kind: Mapped[str | None] = mapped_column(String(20))
    photo_kind: Mapped[str | None] = mapped_column(String(20))
    kinds_agree: Mapped[bool | None] = mapped_column(Boolean)
    facts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
