"""Request and response bodies of the staff API (pydantic v2)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from accounts.models import Role
from classifier.models import Label
from ingest.models import HonourLevel, MessageKind, MessageReason, RawStatus, ReportStatus
from ingest.schemas import plain_text

T = TypeVar("T")


class Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a list; ``total`` counts every match of the filters."""

    items: list[T]
    total: int
    page: int
    page_size: int
    next_after: str | None = None  # lists with keyset paging: pass as ``after`` for the next page (None: last page)


# --- auth and users -------------------------------------------------------------------------------


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class UserOut(Orm):
    id: int
    username: str
    display_name: str | None
    role: Role
    active: bool
    created_at: datetime
    last_login_at: datetime | None


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str = Field(description="会话写操作须在 X-CSRF-Token 头中带上此值")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str = Field(min_length=8, max_length=200)
    role: Role = Role.VIEWER
    display_name: str | None = Field(None, max_length=100)


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    active: bool | None = None
    display_name: str | None = Field(None, max_length=100)
    password: str | None = Field(None, min_length=8, max_length=200)


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class TokenOut(Orm):
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="明文令牌，只显示这一次")


# --- units, groups, members ------------------------------------------------------------------------


class UnitOut(Orm):
    id: int
    name: str
    aliases: list[str]
    honour_level: HonourLevel
    honour_level_zh: str
    category: str | None
    headcount: int | None
    active: bool
    created_at: datetime


class GroupOut(Orm):
    id: int
    platform: str
    platform_id: str
    name: str | None
    created_at: datetime
    report_count: int = 0


class GroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return plain_text(value, "群名")


class MemberOut(Orm):
    id: int
    platform: str
    platform_user_id: str
    display_name: str | None
    unit_id: int | None
    unit_name: str | None = None
    unit_source: str | None
    is_staff: bool
    first_seen_at: datetime
    last_seen_at: datetime


class MemberNameOut(Orm):
    group_id: int
    name: str
    first_seen_at: datetime
    last_seen_at: datetime


class AuditEntryOut(Orm):
    """One row of the audit trail; ``subject`` names what changed, ``report_id``/``member_id`` when it is one."""

    id: int
    kind: str
    subject_type: str | None = None
    subject_id: str | None = None
    report_id: int | None
    member_id: int | None
    actor: str
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str | None
    created_at: datetime


class MemberDetail(MemberOut):
    names: list[MemberNameOut]
    unit_history: list[AuditEntryOut] = Field(description="单位归属的人工变更记录，最新在前")


class MemberAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: int | None = Field(ge=1, le=2**31 - 1, description="归属单位；null 表示取消归属")
    reason: str | None = Field(None, max_length=500)


# --- reports ---------------------------------------------------------------------------------------


class PhotoOut(BaseModel):
    media_id: int
    url: str
    thumb_url: str
    width: int
    height: int
    posted_at: datetime
    possible_repost: bool


class ReportOut(Orm):
    id: int
    unit_id: int | None
    unit_name: str | None = None
    group_id: int
    sender_id: int
    sender_name: str | None = None
    post_date: date
    activity_date: date | None
    first_message_at: datetime
    text: str | None
    photo_count: int
    status: ReportStatus
    label: Label | None
    label_zh: str | None = None
    confidence: float | None
    possible_repost: bool


class ClassificationOut(Orm):
    id: int
    label: Label
    secondary_labels: list[Any]
    confidence: float
    facts: dict[str, Any]
    evidence: list[Any]
    model_version: str | None
    source: str
    created_by: str | None
    created_at: datetime


class PhotoEvidenceOut(Orm):
    """What the photos themselves show (after OCR and the re-post check); the rubric's liveliness uses them too."""

    photo_count: int
    distinct_photos: int = Field(description="不是重复发送的照片数")
    photos_read: int = Field(description="已做文字识别的照片数")
    banner_read: bool = Field(description="是否读到横幅、标题或站牌")
    banner_lines: list[str]
    text_kind: Label | None = Field(description="文字提到的活动类型（关键词）")
    photo_kind: Label | None = Field(description="横幅提到的活动类型（关键词）")
    kinds_agree: bool | None = Field(description="两者是否一致；任一方未提到时为空")
    facts: dict[str, Any] = Field(description="横幅上的事实：结对村（partner）、横幅上的单位名（unit，供核对）")


class ReportDetail(ReportOut):
    photos: list[PhotoOut]
    photo_evidence: PhotoEvidenceOut | None = Field(description="照片证据；照片尚未识别时为空")
    classification: ClassificationOut | None
    tags: list[str]
    corrections: list[AuditEntryOut]


class ReportAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: int = Field(ge=1, le=2**31 - 1)
    remember_sender: bool = Field(False, description="同时把发送人归入该单位，以后的报送自动归属")
    reason: str | None = Field(None, max_length=500)


# --- messages that are not reports ---------------------------------------------------------------------------

MessageStatus = Literal["chatter", "ignored", "rejected"]


class MessageOut(BaseModel):
    """A stored group message that is not part of a report: why not, and whether staff can promote it."""

    id: int
    group_id: int | None
    group_name: str | None = None
    sender_id: int | None = Field(description="发送人（成员）编号")
    sender_name: str | None
    unit_id: int | None = Field(description="发送人所属单位")
    unit_name: str | None = None
    sent_at: datetime | None
    kind: MessageKind
    kind_zh: str
    text: str | None
    media_id: int | None = None
    thumb_url: str | None = None
    status: RawStatus
    status_zh: str
    reason: MessageReason | None
    reason_zh: str | None = None
    error: str | None = None
    promotable: bool = Field(description="工作人员可以把它转为报送")


class MessageAction(BaseModel):
    """Promote a message to a report, or demote a report to messages: why (kept in the audit log)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)


class DemoteOut(BaseModel):
    report_id: int
    messages: list[MessageOut]


class Health(BaseModel):
    """Ready or not; why not is written to the server log, never told to whoever asks."""

    status: Literal["ok", "unavailable"]


# --- background jobs ------------------------------------------------------------------------------


class JobKindOut(BaseModel):
    kind: str
    name: str = Field(description="任务类型的中文名")
    queued: int
    running: int
    done: int
    dead: int


class DeadJobOut(BaseModel):
    id: int
    kind: str
    name: str
    attempts: int
    error: str | None = Field(description="最后一次失败的原因（首行）")
    finished_at: datetime | None


class OcrOut(BaseModel):
    enabled: bool
    media_read: int = Field(description="已识别的图片数")
    media_refused: int = Field(description="因像素过多等原因拒绝识别的图片数")
    media_missing: int = Field(description="文件缺失的图片数")
    lines: int
    banner_reports: int = Field(description="读到横幅的报送数")
    disagreeing_reports: int = Field(description="文字与照片活动类型不一致的报送数")


class JobsOverview(BaseModel):
    """The background queue as staff see it: backlog, failures, and what photo reading has done."""

    model_version: str = Field(description="当前使用的分类模型版本")
    corrections: int = Field(description="人工更正分类的次数（重新训练时都会用上）")
    backlog: int = Field(description="排队中与执行中的任务数")
    dead: int = Field(description="已失败（死信）的任务数")
    oldest_due_at: datetime | None
    kinds: list[JobKindOut]
    dead_jobs: list[DeadJobOut]
    ocr: OcrOut


class JobRetried(BaseModel):
    id: int
    status: str


class JobQueued(BaseModel):
    id: int
    kind: str
    status: str
    duplicate: bool = Field(description="同样的任务已经排过（例如自上次训练以来没有新的人工更正）")


class ModelVersionOut(BaseModel):
    """One classifier version with its held-out metrics and the retraining gate's verdict."""

    version: str
    kind: str = Field(description="seed（随程序发布）或 trained（人工更正后训练）")
    created_at: str
    examples: int
    corrections: int
    heldout_examples: int | None
    heldout_macro_f1: float | None
    heldout_accuracy: float | None
    heldout_strict_macro_f1: float | None
    baseline_macro_f1: float | None
    per_label_f1: dict[str, float]
    per_label_recall: dict[str, float]
    review_threshold: float | None
    review_share: float | None = Field(description="留出集中置信度低于审核阈值、需人工审核的比例")
    accepted_precision: float | None = Field(description="留出集中自动通过部分的正确率")
    gate_passed: bool | None = Field(description="是否通过重新训练的门槛（种子模型为空）")
    gate_reason: str | None
    current: bool


class ModelVersionsOut(BaseModel):
    current: str
    versions: list[ModelVersionOut]


class ActivateVersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirm: bool = Field(description="必须为 true：启用或回退会重新分类所有已有报送")
    reason: str | None = Field(None, max_length=500, description="启用或回退的理由，记入审计日志")


class VersionActivated(BaseModel):
    version: str
    previous: str
    reclassify_jobs: int = Field(description="为重新分类已有报送排入的后台任务数")
