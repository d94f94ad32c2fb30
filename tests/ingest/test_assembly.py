"""Report assembly: texts open reports, nearby photos join them, the window is exact."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import service
from ingest.models import RawMessage, RawStatus, Report, ReportPhoto, Unit
from ingest.schemas import IncomingMessage
from tests.ingest.builders import T0, message, photo, reencoded
from wenming.settings import Settings


def feed(session: Session, settings: Settings, *messages: IncomingMessage) -> list[Report]:
    for msg in messages:
        service.receive(session, settings, msg)
    service.assemble_pending(session, settings)
    return list(session.scalars(select(Report).order_by(Report.first_message_at, Report.id)))


def test_text_then_photos_make_one_report(session: Session, settings: Settings, units: dict[str, Unit]) -> None:
    reports = feed(
        session,
        settings,
        message(text="县市场监管局开展文明劝导志愿服务", at=T0),
        message(image=photo(1), at=T0 + timedelta(minutes=1)),
        message(image=photo(2), at=T0 + timedelta(minutes=2)),
    )
    assert len(reports) == 1
    report = reports[0]
    assert report.text == "县市场监管局开展文明劝导志愿服务"
    assert report.photo_count == 2
    assert report.unit_id == units["market"].id
    assert report.status == "unclassified"
    assert report.post_date.isoformat() == "2026-10-12"


def test_photos_before_text_join_the_text(session: Session, settings: Settings, units: dict[str, Unit]) -> None:
    reports = feed(
        session,
        settings,
        message(image=photo(1), at=T0),
        message(image=photo(2), at=T0 + timedelta(minutes=3)),
        message(text="以上是我局今天的理论宣讲活动", at=T0 + timedelta(minutes=5)),
    )
    assert len(reports) == 1
    assert reports[0].photo_count == 2 and reports[0].text == "以上是我局今天的理论宣讲活动"
    assert reports[0].first_message_at == T0


def test_photos_before_text_join_even_when_assembled_in_an_earlier_batch(session: Session, settings: Settings) -> None:
    feed(session, settings, message(image=photo(1), at=T0))
    reports = feed(session, settings, message(text="活动照片如上", at=T0 + timedelta(minutes=4)))
    assert len(reports) == 1 and reports[0].photo_count == 1 and reports[0].text == "活动照片如上"
    raws = session.scalars(select(RawMessage)).all()
    assert {r.report_id for r in raws} == {reports[0].id}


def test_window_boundary_is_inclusive_at_ten_minutes(session: Session, settings: Settings) -> None:
    reports = feed(
        session,
        settings,
        message(text="活动", at=T0),
        message(image=photo(1), at=T0 + timedelta(minutes=10)),
        message(image=photo(2), at=T0 + timedelta(minutes=20, seconds=1)),
    )
    assert [(r.text, r.photo_count) for r in reports] == [("活动", 1), (None, 1)]


def test_photo_just_outside_window_before_text_stays_photo_only(session: Session, settings: Settings) -> None:
    reports = feed(
        session,
        settings,
        message(image=photo(1), at=T0),
        message(text="活动", at=T0 + timedelta(minutes=10, seconds=1)),
    )
    assert [(r.text, r.photo_count) for r in reports] == [(None, 1), ("活动", 0)]


def test_photos_with_no_text_form_a_photo_only_report(session: Session, settings: Settings) -> None:
    reports = feed(
        session,
        settings,
        message(image=photo(1), at=T0),
        message(image=photo(2), at=T0 + timedelta(minutes=8)),
        message(image=photo(3), at=T0 + timedelta(minutes=16)),
    )
    assert len(reports) == 1 and reports[0].text is None and reports[0].photo_count == 3


def test_two_members_of_one_unit_posting_at_once(session: Session, settings: Settings, units: dict[str, Unit]) -> None:
    a = {"sender": "u-a", "name": "县市场监管局-张三"}
    b = {"sender": "u-b", "name": "【市场监管局】李四"}
    reports = feed(
        session,
        settings,
        message(text="张三：城东村结对共建", at=T0, **a),
        message(text="李四：消费者权益宣传", at=T0 + timedelta(seconds=20), **b),
        message(image=photo(1), at=T0 + timedelta(minutes=1), **a),
        message(image=photo(2), at=T0 + timedelta(minutes=1, seconds=5), **b),
        message(image=photo(3), at=T0 + timedelta(minutes=2), **b),
    )
    by_text = {r.text: r for r in reports}
    assert by_text["张三：城东村结对共建"].photo_count == 1
    assert by_text["李四：消费者权益宣传"].photo_count == 2
    assert {r.unit_id for r in reports} == {units["market"].id}


def test_nearest_text_wins_for_a_photo_between_two_texts(session: Session, settings: Settings) -> None:
    reports = feed(
        session,
        settings,
        message(text="第一条", at=T0),
        message(text="第二条", at=T0 + timedelta(minutes=6)),
        message(image=photo(1), at=T0 + timedelta(minutes=7)),
    )
    assert {r.text: r.photo_count for r in reports} == {"第一条": 0, "第二条": 1}


def test_chatter_staff_system_recall_and_bot_messages_are_kept_but_not_reports(
    session: Session, settings: Settings
) -> None:
    reports = feed(
        session,
        settings,
        message(text="请各单位本周五前报送材料", sender="staff", name="县文明办-小郑"),
        message(text="张三 撤回了一条消息", sender=None, name=None, kind="system"),
        message(text=None, kind="recall", at=T0 + timedelta(seconds=5)),
        message(text="本月排行榜", sender="bot", name="文明小助手", from_self=True),
        message(text="   ", at=T0 + timedelta(seconds=9)),
    )
    assert reports == []
    statuses = session.scalars(select(RawMessage.status)).all()
    assert len(statuses) == 5 and set(statuses) == {RawStatus.IGNORED}


def test_reposted_photo_is_flagged_not_dropped(session: Session, settings: Settings, units: dict[str, Unit]) -> None:
    original = photo(7)
    feed(session, settings, message(text="九月志愿服务", image=None, at=T0), message(image=original, at=T0))
    month_later = T0 + timedelta(days=30)
    reports = feed(
        session,
        settings,
        message(text="十月志愿服务", at=month_later, sender="u9", name="长兴县人民医院-王五"),
        message(
            image=reencoded(original), at=month_later + timedelta(minutes=1), sender="u9", name="长兴县人民医院-王五"
        ),
    )
    later = next(r for r in reports if r.text == "十月志愿服务")
    assert later.possible_repost is True and later.photo_count == 1
    first = next(r for r in reports if r.text == "九月志愿服务")
    assert first.possible_repost is False
    photo_row = session.scalar(select(ReportPhoto).where(ReportPhoto.report_id == later.id))
    assert photo_row is not None and photo_row.repost_of_media_id is not None


def test_distinct_photos_are_not_flagged(session: Session, settings: Settings) -> None:
    reports = feed(session, settings, *(message(image=photo(i), at=T0 + timedelta(days=i)) for i in range(5)))
    assert len(reports) == 5 and not any(r.possible_repost for r in reports)


def test_assembly_is_idempotent(session: Session, settings: Settings) -> None:
    feed(session, settings, message(text="活动", at=T0), message(image=photo(1), at=T0))
    again = service.assemble_pending(session, settings)
    assert again.processed == 0
    assert session.scalar(select(func.count()).select_from(Report)) == 1


def test_on_report_hook_sees_each_changed_report_once(session: Session, settings: Settings) -> None:
    seen: list[int] = []
    for msg in (message(text="活动", at=T0), message(image=photo(1), at=T0), message(image=photo(2), at=T0)):
        service.receive(session, settings, msg)
    service.assemble_pending(session, settings, on_report=lambda _s, r: seen.append(r.id))
    assert len(seen) == 1
