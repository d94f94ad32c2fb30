"""Only activity candidates become reports; every other message is kept, findable, and staff can move it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import service
from ingest.models import Member, MessageReason, RawMessage, RawStatus, Report, ReportPhoto, Unit
from ingest.schemas import IncomingMessage
from tests.ingest.builders import T0, message, photo
from wenming.audit import AuditEntry
from wenming.errors import DomainError
from wenming.settings import Settings


def feed(session: Session, settings: Settings, *messages: IncomingMessage) -> list[Report]:
    for msg in messages:
        service.receive(session, settings, msg)
    service.assemble_pending(session, settings)
    return list(session.scalars(select(Report).order_by(Report.first_message_at, Report.id)))


def kept(session: Session) -> list[tuple[str | None, str, str | None]]:
    rows = session.execute(
        select(RawMessage.text, RawMessage.status, RawMessage.reason)
        .where(RawMessage.report_id.is_(None))
        .order_by(RawMessage.sent_at, RawMessage.id)
    )
    return [tuple(row) for row in rows]


def test_chatter_is_kept_as_messages_and_opens_no_report(
    session: Session, settings: Settings, units: dict[str, Unit]
) -> None:
    reports = feed(
        session,
        settings,
        message(text="10月12日，我局在金陵社区开展食品安全宣传", at=T0),
        message(text="收到", sender="u2", name="长兴县人民医院-李四", at=T0 + timedelta(minutes=1)),
        message(text="好的👍", sender="u3", name="长兴中学-王五", at=T0 + timedelta(minutes=2)),
        message(text="请问本月材料几号截止？", sender="u3", name="长兴中学-王五", at=T0 + timedelta(minutes=3)),
        message(text="谢谢", at=T0 + timedelta(minutes=4)),
    )
    assert [(r.text, r.unit_id) for r in reports] == [("10月12日，我局在金陵社区开展食品安全宣传", units["market"].id)]
    assert kept(session) == [
        ("收到", "chatter", "ack"),
        ("好的👍", "chatter", "ack"),
        ("请问本月材料几号截止？", "chatter", "question"),
        ("谢谢", "chatter", "thanks"),
    ]


def test_anonymous_and_sticker_messages_stay_messages(
    session: Session, settings: Settings, units: dict[str, Unit]
) -> None:
    reports = feed(
        session,
        settings,
        message(text="我局今天开展了垃圾分类宣传", sender="anonymous:黄金鲨", name="匿名：黄金鲨", at=T0),
        message(kind="sticker", text="[动画表情]", at=T0 + timedelta(minutes=1)),
    )
    assert reports == []
    assert kept(session) == [
        ("我局今天开展了垃圾分类宣传", "chatter", "anonymous"),
        ("[动画表情]", "chatter", "sticker"),
    ]


def test_a_sticker_after_a_report_is_not_one_of_its_photos(
    session: Session, settings: Settings, units: dict[str, Unit]
) -> None:
    reports = feed(
        session,
        settings,
        message(text="县市场监管局开展文明劝导", at=T0),
        message(image=photo(1), at=T0 + timedelta(minutes=1)),
        message(kind="sticker", text="[表情]", at=T0 + timedelta(minutes=2)),
    )
    assert [(r.text, r.photo_count) for r in reports] == [("县市场监管局开展文明劝导", 1)]
    assert session.scalar(select(func.count()).select_from(ReportPhoto)) == 1


def test_photos_around_a_chatter_line_join_the_activity_text(session: Session, settings: Settings) -> None:
    """A "收到" inside a photo window neither opens a report nor takes the photos."""
    reports = feed(
        session,
        settings,
        message(image=photo(1), at=T0),
        message(text="收到", at=T0 + timedelta(minutes=1)),
        message(image=photo(2), at=T0 + timedelta(minutes=2)),
        message(text="以上是我局今天的理论宣讲", at=T0 + timedelta(minutes=4)),
    )
    assert [(r.text, r.photo_count) for r in reports] == [("以上是我局今天的理论宣讲", 2)]
    assert kept(session) == [("收到", "chatter", "ack")]


def test_photos_next_to_chatter_alone_form_a_photo_group(session: Session, settings: Settings) -> None:
    reports = feed(
        session,
        settings,
        message(text="好的", at=T0),
        message(image=photo(1), at=T0 + timedelta(minutes=1)),
        message(image=photo(2), at=T0 + timedelta(minutes=2)),
        message(text="谢谢提醒", at=T0 + timedelta(minutes=3)),
    )
    assert [(r.text, r.photo_count) for r in reports] == [(None, 2)]


def test_every_name_of_the_sender_is_tried(session: Session, settings: Settings, units: dict[str, Unit]) -> None:
    reports = feed(session, settings, message(text="我局开展宪法宣传", name="张三", other_names=["县人民医院-张三"]))
    assert [r.unit_id for r in reports] == [units["hospital"].id]
    member = session.scalars(select(Member)).one()
    names = session.execute(select(RawMessage.sender_name, RawMessage.other_names)).one()
    assert (member.unit_id, tuple(names)) == (units["hospital"].id, ("张三", ["县人民医院-张三"]))


def test_names_that_disagree_leave_the_report_for_staff(
    session: Session, settings: Settings, units: dict[str, Unit]
) -> None:
    feed(session, settings, message(text="九月活动", name="长兴县人民医院-王五", sender="w5", at=T0))
    reports = feed(
        session,
        settings,
        message(
            text="十月活动",
            name="长兴中学-王五",
            other_names=["县人民医院 王五"],
            sender="w5",
            at=T0 + timedelta(days=9),
        ),
    )
    assert [r.unit_id for r in reports] == [units["hospital"].id, None]
    member = session.scalars(select(Member)).one()
    assert member.unit_id == units["hospital"].id  # what was learnt stays; the conflict waits for staff


def test_staff_promote_a_kept_message_and_it_collects_its_photos(
    session: Session, settings: Settings, units: dict[str, Unit]
) -> None:
    feed(
        session,
        settings,
        message(image=photo(1), at=T0),
        message(image=photo(2), at=T0 + timedelta(minutes=1)),
        message(text="请问这样报送可以吗？", at=T0 + timedelta(minutes=2)),
    )
    question = session.scalars(select(RawMessage).where(RawMessage.status == RawStatus.CHATTER.value)).one()
    report = service.promote_message(session, settings, question.id, actor="reviewer1", reason="其实是活动报送")
    reports = session.scalars(select(Report)).all()
    assert [(r.id, r.text, r.photo_count, r.unit_id) for r in reports] == [
        (report.id, "请问这样报送可以吗？", 2, units["market"].id)
    ]
    assert (question.status, question.reason, question.report_id) == ("assembled", None, report.id)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.kind == "message_promoted")).one()
    assert (audit.actor, audit.report_id, audit.before["reason"]) == ("reviewer1", report.id, "question")


@pytest.mark.parametrize(
    ("msg", "error"),
    [
        (message(kind="sticker", text="[表情]"), "文字或图片"),
        (message(text="请各单位本周五前报送", name="县文明办-刘"), "留作消息"),
    ],
)
def test_what_cannot_be_promoted_is_refused_in_chinese(
    session: Session, settings: Settings, msg: IncomingMessage, error: str
) -> None:
    feed(session, settings, msg)
    raw = session.scalars(select(RawMessage)).one()
    with pytest.raises(DomainError, match=error):
        service.promote_message(session, settings, raw.id, actor="reviewer1")


def test_staff_demote_a_report_to_chatter(session: Session, settings: Settings, units: dict[str, Unit]) -> None:
    reports = feed(
        session,
        settings,
        message(text="明天下午开会别忘了带材料", at=T0),
        message(image=photo(3), at=T0 + timedelta(minutes=1)),
    )
    report = reports[0]
    raw_ids = service.demote_report(session, report.id, actor="reviewer1", reason="不是活动")
    assert session.scalars(select(Report)).all() == []
    assert session.scalar(select(func.count()).select_from(ReportPhoto)) == 0
    rows = session.execute(select(RawMessage.id, RawMessage.status, RawMessage.reason).order_by(RawMessage.id)).all()
    assert [tuple(r) for r in rows] == [(i, "chatter", MessageReason.DEMOTED.value) for i in raw_ids]
    audit = session.scalars(select(AuditEntry).where(AuditEntry.kind == "report_demoted")).one()
    assert audit.actor == "reviewer1" and audit.reason == "不是活动"
    assert audit.before["text"] == "明天下午开会别忘了带材料" and audit.before["unit_id"] == units["market"].id
    assert audit.before["photo_count"] == 1 and audit.before["raw_message_ids"] == raw_ids
    # and the message can be promoted back
    again = service.promote_message(session, settings, raw_ids[0], actor="reviewer2")
    assert again.text == "明天下午开会别忘了带材料"


def test_reports_stored_before_triage_are_demoted_once_when_they_are_chatter(
    session: Session, settings: Settings, units: dict[str, Unit]
) -> None:
    """An upgraded database: chatter that became reports under the old rule, and one staff kept on purpose."""
    from ingest.assembly import Assembler
    from ingest.repository import pending_one

    feed(
        session,
        settings,
        message(text="我局开展宪法宣传", at=T0),
        message(text="收到", at=T0 + timedelta(minutes=20)),
        message(text="好的👍", at=T0 + timedelta(minutes=40)),
        message(text="谢谢", at=T0 + timedelta(minutes=60)),
    )
    legacy = Assembler(session, settings)  # what the old rule did: every text a report
    for raw in session.scalars(select(RawMessage).where(RawMessage.status == "chatter").order_by(RawMessage.id)):
        pending = pending_one(session, raw.id)
        assert pending is not None
        legacy.promote(pending)
    legacy.finish()
    kept = session.scalars(select(Report).where(Report.text == "谢谢")).one()
    service.assign_report_unit(session, kept.id, units["school"].id, actor="reviewer1")  # staff touched it
    assert session.scalar(select(func.count()).select_from(Report)) == 4
    preview = service.retriage_reports(session, settings, actor="系统升级", dry_run=True)
    assert len(preview) == 2 and session.scalar(select(func.count()).select_from(Report)) == 4
    assert service.retriage_reports(session, settings, actor="系统升级") == preview
    assert sorted(session.scalars(select(Report.text))) == ["我局开展宪法宣传", "谢谢"]
    assert service.retriage_reports(session, settings, actor="系统升级") == []
    audits = session.scalars(select(AuditEntry).where(AuditEntry.kind == "report_demoted")).all()
    assert [a.reason for a in audits] == ["按分诊规则不是报送：应答（收到、好的、👍）"] * 2
