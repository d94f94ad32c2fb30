"""Tables for units, chat groups, members, raw messages, media and assembled reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wenming.db import Base, JSONType, UTCDateTime, utcnow
from wenming.names import ZhEnum


class HonourLevel(ZhEnum):
    """文明单位 honour level; the Chinese name is what staff see."""

    NATIONAL = "national", "全国"
    PROVINCIAL = "provincial", "省"
    CITY = "city", "市"
    COUNTY = "county", "县"

    @classmethod
    def parse(cls, value: str) -> HonourLevel:
        """Accept the code or the Chinese form (全国/省/省级/市/市级/县/县级)."""
        text = value.strip().removesuffix("级").removesuffix("文明单位")
        for level in cls:
            if text in (level.value, level.zh):
                return level
        raise ValueError(f"未知的文明单位级别：{value!r}（应为 全国/省/市/县）")


class Platform(ZhEnum):
    WECHAT = "wechat", "微信"
    QQ = "qq", "QQ"


class MessageKind(ZhEnum):
    TEXT = "text", "文字"
    IMAGE = "image", "图片"
    STICKER = "sticker", "表情包"  # 表情包 / 动画表情: never a photo, never a report
    SYSTEM = "system", "系统消息"
    RECALL = "recall", "撤回"
    OTHER = "other", "其他"  # voice, video, files, untitled cards, photo placeholders of exports


class RawStatus(ZhEnum):
    """Where a raw message is in the pipeline."""

    RECEIVED = "received", "待处理"  # stored, not yet assembled
    ASSEMBLED = "assembled", "组成报送"  # part of a report
    CHATTER = "chatter", "留作消息"  # a member's message that is not an activity (收到, 👍, stickers…); can be promoted
    IGNORED = "ignored", "不成报送"  # kept, never a report (system lines, office staff, the bot, recalls, empty texts)
    REJECTED = "rejected", "有误"  # bad input, kept for inspection with an error


class MessageReason(ZhEnum):
    """Why a raw message is not part of a report; shown in the 消息 view and filterable."""

    ACK = "ack", "应答（收到、好的、👍）"
    THANKS = "thanks", "致谢"
    QUESTION = "question", "提问"
    GREETING = "greeting", "问候、祝福"
    EMOJI = "emoji", "只有表情符号"
    STICKER = "sticker", "表情包"
    ANONYMOUS = "anonymous", "匿名消息"
    NOT_TEXT = "not_text", "语音、视频、文件等"  # voice, video, file, location, cards without a title…
    NO_PHOTO = "no_photo", "图片（导出中没有图片文件）"  # an exported photo whose file the export did not provide
    DEMOTED = "demoted", "工作人员认定不是报送"  # staff judged the report chatter
    EMPTY = "empty", "空消息"
    SYSTEM = "system", "系统消息"
    RECALL = "recall", "撤回"
    BOT = "bot", "机器人自己的消息"
    STAFF = "staff", "文明办工作人员"


class ReportStatus(ZhEnum):
    UNCLASSIFIED = "unclassified", "未分类"
    CLASSIFIED = "classified", "已分类"
    NEEDS_REVIEW = "needs_review", "待审核"  # the model is unsure: staff look at it
    CORRECTED = "corrected", "已更正"  # staff set the labels; the model never overrides them
    WITHDRAWN = "withdrawn", "已撤回"  # the sender recalled (撤回) its text, or every photo of a photo-only report


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    aliases: Mapped[list[str]] = mapped_column(JSONType, default=list)
    honour_level: Mapped[str] = mapped_column(String(20), default=HonourLevel.COUNTY.value)
    category: Mapped[str | None] = mapped_column(String(50))
    headcount: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scoring_start: Mapped[str | None] = mapped_column(String(7))  # "2026-09": joined mid-year; earlier = 无数据


class ChatGroup(Base):
    __tablename__ = "chat_groups"
    __table_args__ = (UniqueConstraint("platform", "platform_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    platform_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Member(Base):
    """A sender, identified by the platform's stable user id; names are history, not identity."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("platform", "platform_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    platform_user_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str | None] = mapped_column(String(200))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    unit_source: Mapped[str | None] = mapped_column(String(20))  # "staff" | "nickname"
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="raise")


class MemberName(Base):
    """Every nickname or group card a member has been seen with, per group."""

    __tablename__ = "member_names"
    __table_args__ = (UniqueConstraint("member_id", "group_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Media(Base):
    """A stored image, content-addressed by sha256 under the media directory."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    phash: Mapped[str | None] = mapped_column(String(16), index=True)
    path: Mapped[str] = mapped_column(String(300))
    mime: Mapped[str] = mapped_column(String(50))
    bytes: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Report(Base):
    """One activity report: a member's text and the photos posted around it."""

    __tablename__ = "reports"
    __table_args__ = (
        # Near-report lookups (ingest.repository) are time ranges inside one sender's reports in one group: the
        # time column inside the index bounds them, so their cost does not grow with the sender's history.
        Index("ix_reports_group_sender_text_at", "group_id", "sender_id", "text_message_at"),
        Index("ix_reports_group_sender_last_at", "group_id", "sender_id", "last_message_at"),
        Index("ix_reports_unit_post_date", "unit_id", "post_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("chat_groups.id"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    first_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    text_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    post_date: Mapped[date] = mapped_column(Date)  # local (office time zone) date of the first message
    activity_date: Mapped[date | None] = mapped_column(Date)  # stated in the text, when found
    text: Mapped[str | None] = mapped_column(Text)
    photo_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default=ReportStatus.UNCLASSIFIED.value, index=True)
    label: Mapped[str | None] = mapped_column(String(20), index=True)
    confidence: Mapped[float | None]
    possible_repost: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit | None] = relationship(lazy="raise")
    sender: Mapped[Member] = relationship(lazy="raise")
    group: Mapped[ChatGroup] = relationship(lazy="raise")


# The report list is newest first; this index lets the database read the first page without sorting all reports.
Index("ix_reports_first_message_at_id", Report.first_message_at, Report.id)
# Covering indexes for scoring's windows (scoring.repository): counted statuses, then the month/quarter/year
# range on the counting day, then the columns the GROUP BY reads, so that a month reads a twelfth of one index.
Index(
    "ix_reports_scoring_effective_day",
    Report.status,
    func.coalesce(Report.activity_date, Report.post_date),
    Report.unit_id,
    Report.label,
    Report.photo_count,
    Report.possible_repost,
    Report.activity_date,
    Report.post_date,
    Report.id,
)
Index(
    "ix_reports_scoring_post_day",
    Report.status,
    Report.post_date,
    Report.unit_id,
    Report.label,
    Report.photo_count,
    Report.possible_repost,
    Report.id,
)
# One unit's year (a score explanation) reads its own slice instead of the whole window.
Index(
    "ix_reports_scoring_unit_day",
    Report.unit_id,
    Report.status,
    func.coalesce(Report.activity_date, Report.post_date),
    Report.label,
    Report.photo_count,
    Report.possible_repost,
    Report.activity_date,
    Report.post_date,
    Report.id,
)


class ReportPhoto(Base):
    """A photo attached to a report; ``repost_of`` points at the earlier near-identical photo."""

    __tablename__ = "report_photos"
    __table_args__ = (UniqueConstraint("report_id", "raw_message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"), index=True)
    raw_message_id: Mapped[int] = mapped_column(ForeignKey("raw_messages.id"))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    repost_of_media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    repost_distance: Mapped[int | None] = mapped_column(Integer)

    media: Mapped[Media] = relationship(lazy="raise", foreign_keys=[media_id])


class RawMessage(Base):
    """Every message exactly as it arrived; stored before anything else happens to it."""

    __tablename__ = "raw_messages"
    __table_args__ = (
        UniqueConstraint("platform", "group_id", "platform_message_id"),
        Index("ix_raw_messages_status_sent_at", "status", "sent_at"),
        Index("ix_raw_messages_recalls_message_id", "recalls_message_id"),
        Index("ix_raw_messages_status_reason", "status", "reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(40))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("chat_groups.id"))
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    sender_name: Mapped[str | None] = mapped_column(String(200))  # group card or nickname at the time
    other_names: Mapped[list[str] | None] = mapped_column(JSONType)  # remark, nickname…: unit resolution tries all
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    recalls_message_id: Mapped[str | None] = mapped_column(String(200))  # a recall: the platform id it withdraws
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str | None] = mapped_column(Text)
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    media_ref: Mapped[str | None] = mapped_column(String(500))  # sender-supplied name/url: data, never a path
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default=RawStatus.RECEIVED.value)
    reason: Mapped[str | None] = mapped_column(String(20))  # MessageReason: why it is not part of a report
    error: Mapped[str | None] = mapped_column(Text)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"), index=True)
