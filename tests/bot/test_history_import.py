"""History import into the real ingest: counts, idempotent re-import, and dedup against live capture."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bot.history.importer import import_history
from bot.onebot.adapter import OneBotAdapter
from bot.sink import IngestSink
from ingest import service as ingest_service
from ingest.models import ChatGroup, RawMessage, Report
from tests.bot import onebot_events as ev
from tests.bot.fakes import png_bytes
from tests.ingest.builders import assembly_batches
from wenming.queue.models import Job
from wenming.queue.worker import Worker
from wenming.settings import Settings
from wiring.cli.main import app
from wiring.handlers import default_handlers

FIXTURES = Path(__file__).parent / "fixtures" / "history"


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return len(list(session.scalars(select(model))))


def test_import_then_reimport_stores_each_message_once(
    committed_factory: sessionmaker[Session], live_settings: Settings
) -> None:
    first = import_history(
        committed_factory, live_settings, FIXTURES / "wechatmsg.csv", group_name="全县文明单位工作群"
    )
    assert (first.total, first.stored, first.rejected) == (5, 5, 0)
    assert first.kinds == {"text": 3, "system": 1, "other": 1}
    again = import_history(
        committed_factory, live_settings, FIXTURES / "wechatmsg.csv", group_name="全县文明单位工作群"
    )
    assert (again.stored, again.already_imported) == (0, 5)
    assert _count(committed_factory, RawMessage) == 5
    with committed_factory() as session:
        reports = list(session.scalars(select(Report)))
    assert reports and all(r.label for r in reports)  # assembled and classified after import
    with committed_factory() as session:
        [group] = session.scalars(select(ChatGroup))
    assert (group.platform, group.platform_id) == ("wechat", "全县文明单位工作群")


def test_qq_export_skips_what_the_bot_captured_live(sink: IngestSink, live_settings: Settings) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=png_bytes())))
    adapter = OneBotAdapter(live_settings, sink, http)
    adapter.group_names[str(ev.GROUP_ID)] = "全县文明单位QQ群"
    live = ev.group_message_array(
        message_id=900,
        time=1700461845,  # 2023-11-20 14:30:45 Asia/Shanghai
        user_id=87654321,
        message=[{"type": "text", "data": {"text": "县交通局开展“文明出行”志愿宣传活动\n发放宣传资料300份"}}],
        sender={"user_id": 87654321, "nickname": "刘", "card": "县交通局-刘科长"},
    )
    photo = ev.image_message(message_id=901)
    photo["time"] = 1700453400  # 12:10:00 local
    photo["sender"] = {"user_id": 87654321, "card": "县交通局-刘科长"}
    asyncio.run(adapter.handle_event(live))
    asyncio.run(adapter.handle_event(photo))

    summary = import_history(sink.factory, live_settings, FIXTURES / "qq_gb18030.txt")
    assert summary.group_name == "全县文明单位QQ群"
    assert (summary.total, summary.captured_live, summary.stored) == (5, 2, 3)
    with sink.factory() as session:
        groups = list(session.scalars(select(ChatGroup)))
        assert [g.platform_id for g in groups] == [str(ev.GROUP_ID)]  # matched the live group by name
        texts = [r.text for r in session.scalars(select(RawMessage).order_by(RawMessage.sent_at))]
    assert texts.count("县交通局开展“文明出行”志愿宣传活动\n发放宣传资料300份") == 1


def test_pywxdump_server_ids_dedup_against_itself(
    committed_factory: sessionmaker[Session], live_settings: Settings
) -> None:
    import_history(committed_factory, live_settings, FIXTURES / "pywxdump.csv", group_name="全县文明单位工作群")
    again = import_history(committed_factory, live_settings, FIXTURES / "pywxdump.csv", group_name="全县文明单位工作群")
    assert again.stored == 0 and _count(committed_factory, RawMessage) == 3


def test_cli_import_prints_a_chinese_summary(cli_env: sessionmaker[Session]) -> None:
    result = CliRunner().invoke(app, ["import", str(FIXTURES / "qce.json"), "--group-id", "55667788"])
    assert result.exit_code == 0, result.output
    assert "qq-chat-exporter JSON" in result.output and "新入库" in result.output
    with cli_env() as session:
        [group] = session.scalars(select(ChatGroup))
    assert group.platform_id == "55667788" and group.name == "全县文明单位QQ群"


def test_cli_import_rejects_an_unknown_file(cli_env: sessionmaker[Session], tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("随便写的笔记\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(bad)])
    assert result.exit_code == 1 and "无法识别导出格式" in result.output


def test_pywxdump_needs_a_group_name(committed_factory: sessionmaker[Session], live_settings: Settings) -> None:
    import pytest

    from bot.history.records import HistoryFormatError

    with pytest.raises(HistoryFormatError, match="--group"):
        import_history(committed_factory, live_settings, FIXTURES / "pywxdump.csv")


def _report_of(factory: sessionmaker[Session], text: str) -> Report:
    with factory() as session:
        return session.scalars(select(Report).where(Report.text == text)).one()


def test_qce_recalled_message_imports_as_a_withdrawn_report(
    committed_factory: sessionmaker[Session], live_settings: Settings
) -> None:
    summary = import_history(committed_factory, live_settings, FIXTURES / "qce.json", group_id="55667788")
    assert summary.kinds["recall"] == 1
    assert _report_of(committed_factory, "发错了").status == "withdrawn"
    assert _report_of(committed_factory, "县交通局组织职工参加无偿献血活动").status != "withdrawn"


def test_export_recall_withdraws_the_message_the_bot_captured_live(sink: IngestSink, live_settings: Settings) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=png_bytes())))
    adapter = OneBotAdapter(live_settings, sink, http)
    adapter.group_names[str(ev.GROUP_ID)] = "全县文明单位QQ群"
    live = ev.group_message_array(  # captured live; the bot was offline when it was recalled
        message_id=950,
        time=1700546500,
        user_id=22223333,
        message=[{"type": "text", "data": {"text": "发错了"}}],
        sender={"user_id": 22223333, "nickname": "陈", "card": "县税务局-陈"},
    )
    asyncio.run(adapter.handle_event(live))
    sink.assemble_sync()
    assert _report_of(sink.factory, "发错了").status != "withdrawn"

    summary = import_history(sink.factory, live_settings, FIXTURES / "qce.json")
    assert summary.captured_live == 1
    assert _report_of(sink.factory, "发错了").status == "withdrawn"
    with sink.factory() as session:
        recall = session.scalars(select(RawMessage).where(RawMessage.kind == "recall")).one()
    assert recall.recalls_message_id == f"{ev.SELF_ID}:950"  # the export's id translated to the live one


def test_a_big_export_can_leave_classification_to_the_worker(
    committed_factory: sessionmaker[Session], live_settings: Settings
) -> None:
    summary = import_history(
        committed_factory,
        live_settings,
        FIXTURES / "wechatmsg.csv",
        group_name="全县文明单位工作群",
        classify_later=True,
    )
    assert summary.stored == 5
    with committed_factory() as session:
        reports = list(session.scalars(select(Report)))
        [job] = session.scalars(select(Job).where(Job.kind == "classifier.reclassify"))
    assert reports and not any(r.label for r in reports)
    assert sorted(job.payload["report_ids"]) == sorted(r.id for r in reports)
    Worker(committed_factory, live_settings, default_handlers()).run(burst=True)
    with committed_factory() as session:
        assert all(r.label for r in session.scalars(select(Report)))


def test_a_big_export_is_assembled_in_bounded_transactions(
    committed_factory: sessionmaker[Session], live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction over a whole export would hold SQLite's write lock from live capture while it is assembled."""
    batches = assembly_batches(monkeypatch)
    monkeypatch.setattr(ingest_service, "BULK_ASSEMBLY", 2)
    for dry_run in (True, False):
        batches.clear()
        path = FIXTURES / "wechatmsg.csv"
        import_history(committed_factory, live_settings, path, group_name="全县文明单位工作群", dry_run=dry_run)
        assert max(batches) == 2 and sum(batches) == 4 and len(batches) == 3  # 4 of the 5 lines are assembled
    with committed_factory() as session:
        assert session.scalars(select(RawMessage.status).where(RawMessage.status == "received")).all() == []
        assert all(r.label for r in session.scalars(select(Report)))
