"""OneBot ``group_recall`` notices through the adapter into the real ingest: what was recalled stops counting."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from bot.onebot.adapter import OneBotAdapter
from bot.sink import IngestSink
from classifier import service as classifier_service
from ingest.models import RawMessage, Report, Unit
from scoring import service as scoring_service
from tests.bot import onebot_events as ev
from tests.bot.fakes import png_bytes
from wenming.audit import AuditEntry
from wenming.settings import Settings

COLOURS = {"a": "red", "b": "green", "c": "blue"}


def _adapter(sink: IngestSink, settings: Settings) -> OneBotAdapter:
    """A QQ adapter whose image urls answer distinct pictures (``https://img.example.test/<a|b|c>.png``)."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=png_bytes(COLOURS[request.url.path.strip("/")[0]]))

    return OneBotAdapter(settings, sink, httpx.AsyncClient(transport=httpx.MockTransport(answer)))


def _image(name: str) -> dict[str, Any]:
    return {"type": "image", "data": {"file": f"{name}.image", "url": f"https://img.example.test/{name}.png"}}


def _push(adapter: OneBotAdapter, sink: IngestSink, *events: dict[str, Any]) -> None:
    for event in events:
        asyncio.run(adapter.handle_event(event))
    sink.assemble_sync()


def _report(sink: IngestSink) -> Report:
    with sink.factory() as session:
        return session.scalars(select(Report)).one()


def _hospital_month(sink: IngestSink, settings: Settings) -> tuple[int, int]:
    """The hospital's counted practice reports and photos in November 2023 (the events' month)."""
    rubric = scoring_service.load_rubric("changxing-2020")
    with sink.factory() as session:
        ranking = scoring_service.monthly_ranking(session, settings, rubric, 2023, 11)
    [row] = ranking.rows
    return row.practice_count, row.photos


def test_group_recall_withdraws_the_report_and_the_monthly_count_drops(
    sink: IngestSink, live_settings: Settings
) -> None:
    with sink.factory() as session, session.begin():
        session.add(Unit(name="长兴县人民医院", aliases=["县人民医院"], honour_level="county"))
    adapter = _adapter(sink, live_settings)
    text = {"type": "text", "data": {"text": "县人民医院开展义诊志愿服务活动，服务群众150人次"}}
    post = ev.group_message_array(300, message=[text, _image("a"), _image("b")])
    extra_photo = ev.group_message_array(301, time=1700000020, message=[_image("c")])
    _push(adapter, sink, post, extra_photo)
    report = _report(sink)
    assert report.photo_count == 3 and report.unit_id is not None
    with sink.factory() as session, session.begin():  # staff confirm it: it counts
        classifier_service.correct_classification(session, report.id, label="practice", actor="郑书洋", reason=None)
    assert _hospital_month(sink, live_settings) == (1, 3)

    _push(adapter, sink, ev.group_recall(301) | {"time": 1700000060})  # the separate photo is recalled
    assert _report(sink).status == "corrected" and _report(sink).photo_count == 2
    assert _hospital_month(sink, live_settings) == (1, 2)

    _push(adapter, sink, ev.group_recall(300))  # the post itself: its text and both its photos
    report = _report(sink)
    assert report.status == "withdrawn" and report.label == "practice" and report.photo_count == 0
    assert _hospital_month(sink, live_settings) == (0, 0)

    _push(_adapter(sink, live_settings), sink, ev.group_recall(300))  # redelivered after a restart
    with sink.factory() as session:
        kinds = session.scalars(select(AuditEntry.kind).order_by(AuditEntry.id)).all()
        raws = session.scalars(select(RawMessage.kind)).all()
    assert kinds == [
        "classification",
        "report_photo_withdrawn",  # 301
        "report_withdrawn",  # 300: its text …
        "report_photo_withdrawn",  # … and its two images (``<key>#img0``, ``<key>#img1``)
        "report_photo_withdrawn",
    ]
    assert sorted(raws) == ["image", "image", "image", "recall", "recall", "text"]  # nothing deleted, nothing twice


def test_recall_delivered_before_the_message_still_withdraws_it(sink: IngestSink, live_settings: Settings) -> None:
    adapter = _adapter(sink, live_settings)
    _push(adapter, sink, ev.group_recall(400))
    _push(adapter, sink, ev.group_message_array(400, message=[_image("a")]))  # a redelivered original
    report = _report(sink)
    assert report.status == "withdrawn" and report.photo_count == 0
