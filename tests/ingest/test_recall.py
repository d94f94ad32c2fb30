"""Recalls (撤回): a recalled text withdraws its report, a recalled photo leaves it, whatever the arrival order."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier import service as classifier_service
from classifier.models import Classification
from ingest import service
from ingest.models import RawMessage, RawStatus, Report, ReportPhoto, Unit
from ingest.schemas import IncomingMessage
from tests.ingest.builders import T0, message, photo
from wenming.audit import AuditEntry
from wenming.settings import Settings


def feed(session: Session, settings: Settings, *messages: IncomingMessage) -> list[Report]:
    for msg in messages:
        service.receive(session, settings, msg)
    service.assemble_pending(session, settings)
    return list(session.scalars(select(Report).order_by(Report.first_message_at, Report.id)))


def recall(target: IncomingMessage, after: timedelta = timedelta(minutes=1), **extra: object) -> IncomingMessage:
    """The recall of ``target`` as an adapter hands it over: its own id, naming the recalled id."""
    assert target.message_id is not None
    fields: dict[str, object] = {"message_id": f"{target.message_id}#recall", "text": "撤回了一条消息"}
    return message(kind="recall", at=target.sent_at + after, recalls_message_id=target.message_id, **fields | extra)


def corrections(session: Session, report_id: int) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.report_id == report_id).order_by(AuditEntry.id)))


def test_recalled_text_withdraws_its_report_with_its_photos(
    session: Session, settings: Settings, units: dict[str, Unit]
) -> None:
    text = message(text="县市场监管局开展文明劝导志愿服务", at=T0)
    [report] = feed(session, settings, text, message(image=photo(1), at=T0 + timedelta(seconds=20)))
    assert report.status == "unclassified" and report.photo_count == 1
    [after] = feed(session, settings, recall(text))
    assert after.id == report.id and after.status == "withdrawn"
    assert after.text == "县市场监管局开展文明劝导志愿服务"  # kept for staff to read
    [audit] = corrections(session, report.id)
    assert audit.kind == "report_withdrawn" and audit.actor == "群内撤回"
    assert audit.before == {"status": "unclassified"} and audit.after["status"] == "withdrawn"
    raws = session.scalars(select(RawMessage).order_by(RawMessage.id)).all()
    assert [r.status for r in raws] == [RawStatus.ASSEMBLED, RawStatus.ASSEMBLED, RawStatus.IGNORED]  # all kept
    assert raws[2].recalls_message_id == text.message_id


def test_recall_before_the_original_still_ends_withdrawn(session: Session, settings: Settings) -> None:
    text = message(text="长兴中学开展垃圾分类宣传", at=T0)
    assert feed(session, settings, recall(text)) == []  # nothing to withdraw yet: kept, waiting
    [report] = feed(session, settings, text, message(image=photo(2), at=T0 + timedelta(seconds=30)))
    assert report.status == "withdrawn" and report.photo_count == 1
    assert [c.kind for c in corrections(session, report.id)] == ["report_withdrawn"]


def test_recall_stored_first_in_the_same_batch_is_order_independent(session: Session, settings: Settings) -> None:
    text = message(text="教育局志愿者开展交通劝导", at=T0)
    [report] = feed(session, settings, recall(text), text)
    assert report.status == "withdrawn"


def test_recalled_photo_leaves_the_report_and_the_last_one_withdraws_a_photo_only_report(
    session: Session, settings: Settings
) -> None:
    text = message(text="城东村结对共建", at=T0)
    first = message(image=photo(1), at=T0 + timedelta(seconds=10))
    second = message(image=photo(2), at=T0 + timedelta(seconds=20))
    [report] = feed(session, settings, text, first, second)
    assert report.photo_count == 2
    [report] = feed(session, settings, recall(first))
    assert report.status == "unclassified" and report.photo_count == 1
    assert session.scalars(select(ReportPhoto.raw_message_id).where(ReportPhoto.report_id == report.id)).all() == [
        session.scalar(select(RawMessage.id).where(RawMessage.platform_message_id == second.message_id))
    ]
    [audit] = corrections(session, report.id)
    assert audit.kind == "report_photo_withdrawn" and audit.before["photo_count"] == 2
    assert audit.after["photo_count"] == 1 and audit.after["status"] == "unclassified"

    lone = message(image=photo(3), at=T0 + timedelta(hours=3))
    reports = feed(session, settings, recall(lone, after=timedelta(seconds=-30)), lone)  # recall stored first
    photo_only = next(r for r in reports if r.text is None)
    assert photo_only.status == "withdrawn" and photo_only.photo_count == 0


def test_a_photo_after_a_fully_recalled_photo_starts_afresh(session: Session, settings: Settings) -> None:
    lone = message(image=photo(4), at=T0)
    feed(session, settings, lone, recall(lone, after=timedelta(seconds=5)))
    reports = feed(session, settings, message(image=photo(5), at=T0 + timedelta(seconds=40)))
    assert [(r.status, r.photo_count) for r in reports] == [("withdrawn", 0), ("unclassified", 1)]


def test_redelivered_recall_is_idempotent(session: Session, settings: Settings) -> None:
    text = message(text="县人民医院义诊", at=T0)
    feed(session, settings, text, recall(text))
    again = service.receive(session, settings, recall(text))
    assert again.duplicate
    # the same recall under another id (an import of what was captured live) changes nothing more either
    [report] = feed(session, settings, recall(text, message_id="other-key"))
    assert report.status == "withdrawn" and len(corrections(session, report.id)) == 1


def test_id_less_recalls_of_two_messages_are_two_recalls(session: Session, settings: Settings) -> None:
    one, two = message(text="第一条", at=T0), message(text="第二条", at=T0 + timedelta(minutes=20))
    at = T0 + timedelta(hours=1)
    feed(session, settings, one, two)
    reports = feed(
        session,
        settings,
        message(kind="recall", at=at, message_id=None, recalls_message_id=one.message_id),
        message(kind="recall", at=at, message_id=None, recalls_message_id=two.message_id),
    )
    assert [r.status for r in reports] == ["withdrawn", "withdrawn"]


def test_staff_corrected_report_is_withdrawn_with_its_trail_kept(
    session: Session, settings: Settings, units: dict[str, Unit]
) -> None:
    text = message(text="开展理论宣讲", at=T0)
    [report] = feed(session, settings, text)
    classifier_service.correct_classification(
        session, report.id, label="practice", actor="郑书洋", reason="是文明实践活动"
    )
    [report] = feed(session, settings, recall(text))
    assert report.status == "withdrawn" and report.label == "practice"
    assert [c.kind for c in corrections(session, report.id)] == ["classification", "report_withdrawn"]
    assert corrections(session, report.id)[1].before == {"status": "corrected"}
    staff = session.scalar(select(Classification).where(Classification.report_id == report.id))
    assert staff is not None and staff.source == "staff" and staff.is_current
    classifier_service.correct_classification(session, report.id, label="volunteer", actor="郑书洋", reason=None)
    assert report.status == "withdrawn"  # relabelling does not bring a recalled report back


def test_a_new_text_after_a_recall_is_a_report_of_its_own(session: Session, settings: Settings) -> None:
    typo = message(text="县市场监管局开展文明劝到", at=T0)
    reports = feed(
        session,
        settings,
        typo,
        recall(typo, after=timedelta(seconds=30)),
        message(text="县市场监管局开展文明劝导", at=T0 + timedelta(seconds=40)),
        message(image=photo(6), at=T0 + timedelta(seconds=60)),
    )
    assert [(r.text, r.status, r.photo_count) for r in reports] == [
        ("县市场监管局开展文明劝到", "withdrawn", 0),
        ("县市场监管局开展文明劝导", "unclassified", 1),
    ]


def test_recall_of_an_unknown_or_other_groups_message_changes_nothing(session: Session, settings: Settings) -> None:
    text = message(text="活动报送", at=T0)
    feed(session, settings, text, recall(text, group="g2"), recall(message(text="x", message_id="never-seen")))
    [report] = session.scalars(select(Report)).all()
    assert report.status == "unclassified"
