"""``wenming ingest replay``: every line kept, photos read only from inside the file's folder, re-runs add nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ingest.models import Media, RawMessage, RawStatus, Report
from tests.wiring.clikit import UNITS_CSV, Cli, cli, cli_data_dir, jpeg, line, summary_value, write_jsonl
from wenming.queue.models import Job
from wiring.cli import common

__all__ = ["cli", "cli_data_dir"]


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    """A small recorded day: a report with a photo, a photo-only report, a stray sender, staff, and bad lines."""
    folder = tmp_path / "feed"
    (folder / "images").mkdir(parents=True)
    for index, name in enumerate(["a.jpg", "b.jpg", "c.jpg"]):
        (folder / "images" / name).write_bytes(jpeg(index))
    (tmp_path / "secret.jpg").write_bytes(jpeg(99))  # exists, but outside the feed's folder
    return write_jsonl(
        folder / "day.jsonl",
        [
            line(
                "m1", "10T09:00:00", "wx1", "县市场监管局-张三", text="9月10日上午，我局志愿者在金陵路口开展文明劝导。"
            ),
            line("m2", "10T09:01:10", "wx1", "县市场监管局-张三", "image", image="images/a.jpg"),
            line(
                "m3", "10T10:00:00", "wx2", "【县医院】李四", "image", image="images/b.jpg", image_name="mmexport1.jpg"
            ),
            line("m4", "10T10:00:40", "wx2", "【县医院】李四", "image", image="images/c.jpg"),
            line("m5", "10T11:00:00", "wx3", "阳光明媚", text="今天去敬老院看望了老人"),
            line("m6", "10T11:30:00", "wx9", "县文明办-小郑", text="请各单位于9月15日前报送8月志愿服务情况"),
            "{broken json",
            line("m8", "10T12:00:00", "wx1", "县市场监管局-张三", "image", image="../secret.jpg"),
            line("m9", "10T12:00:05", "wx1", "县市场监管局-张三", "image", image="/etc/passwd"),
            line("m10", "10T12:00:09", "wx1", "县市场监管局-张三", "image", image="images/none.jpg"),
            line("m11", "10T12:30:00", None, None, "system", text='"王五"通过扫描二维码加入群聊'),
        ],
    )


def counts() -> dict[str, int]:
    with common.unit_of_work() as session:
        raw = dict(session.execute(select(RawMessage.status, func.count()).group_by(RawMessage.status)).all())
        raw["reports"] = session.scalar(select(func.count()).select_from(Report)) or 0
        raw["media"] = session.scalar(select(func.count()).select_from(Media)) or 0
    return raw


def test_replay_stores_everything_assembles_reports_and_explains_bad_lines(cli: Cli, feed: Path) -> None:
    cli.ok("db", "upgrade")
    cli.ok("units", "import", str(write_jsonl(cli.root / "units.csv", [UNITS_CSV.strip()])))
    output = cli.ok("ingest", "replay", str(feed))
    assert re.search(r"分类模型 seed-\w+ 已就绪\n.*回放", output, re.S)  # ready before the replay clock starts
    assert summary_value(output, "读取消息") == 11
    assert summary_value(output, "新存入") == 7
    assert summary_value(output, "有误") == 4
    assert summary_value(output, "新建报送") == 3
    assert summary_value(output, "未归属单位的报送") == 1
    assert "第 7 行不是合法的 JSON" in output
    assert "第 8 行：图片路径「../secret.jpg」指向 JSONL 文件所在目录之外，拒绝读取" in output
    assert "第 9 行：图片路径「/etc/passwd」必须是相对于 JSONL 文件所在目录的路径" in output
    assert "第 10 行：找不到图片文件「images/none.jpg」" in output
    state = counts()
    assert state[RawStatus.REJECTED.value] == 4
    assert state[RawStatus.ASSEMBLED.value] == 5
    assert state[RawStatus.IGNORED.value] == 2  # the office notice and the system line
    assert state["reports"] == 3
    assert state["media"] == 3  # the secret file outside the folder was never read into the store
    with common.unit_of_work() as session:
        rejected = session.scalars(select(RawMessage).where(RawMessage.status == RawStatus.REJECTED.value)).all()
        assert {r.payload.get("image") for r in rejected} >= {"../secret.jpg", "/etc/passwd", "images/none.jpg"}
        assert all(r.error for r in rejected)


def test_replaying_the_same_file_again_adds_no_messages_or_reports(cli: Cli, feed: Path) -> None:
    cli.ok("db", "upgrade")
    cli.ok("ingest", "replay", str(feed))
    before = counts()
    output = cli.ok("ingest", "replay", str(feed), "--batch", "3")
    after = counts()
    assert after["reports"] == before["reports"] == 3
    assert after[RawStatus.ASSEMBLED.value] == before[RawStatus.ASSEMBLED.value]
    assert after["media"] == before["media"]
    assert summary_value(output, "重复（已存在，跳过）") == 7
    assert summary_value(output, "新建报送") == 0


def test_photo_batches_split_across_commits_still_join_their_report(cli: Cli, feed: Path) -> None:
    cli.ok("db", "upgrade")
    cli.ok("ingest", "replay", str(feed), "--batch", "1")
    state = counts()
    assert state["reports"] == 3
    with common.unit_of_work() as session:
        photos = sorted(session.scalars(select(Report.photo_count)).all())
    assert photos == [0, 1, 2]


def test_missing_file_and_unmigrated_database_give_clear_errors(cli: Cli, feed: Path) -> None:
    result = cli("ingest", "replay", str(feed))
    assert result.exit_code == 1
    assert "wenming db upgrade" in result.output
    cli.ok("db", "upgrade")
    result = cli("ingest", "replay", str(cli.root / "nothing.jsonl"))
    assert result.exit_code == 1
    assert "找不到文件" in result.output


def test_replay_classifies_every_new_report(cli: Cli, feed: Path) -> None:
    cli.ok("db", "upgrade")
    cli.ok("ingest", "replay", str(feed))
    with common.unit_of_work() as session:
        reports = session.scalars(select(Report)).all()
        assert reports and all(r.label is not None for r in reports)
        assert {r.status for r in reports} <= {"classified", "needs_review"}


def test_classify_later_stores_now_and_leaves_classification_to_the_worker(cli: Cli, feed: Path) -> None:
    cli.ok("db", "upgrade")
    output = cli.ok("ingest", "replay", "--classify-later", str(feed))
    assert "分类已排入后台任务" in output
    with common.unit_of_work() as session:
        reports = session.scalars(select(Report).order_by(Report.id)).all()
        assert reports and all(r.label is None for r in reports)
        chunks = session.scalars(select(Job).where(Job.kind == "classifier.reclassify")).all()
        assert [i for job in chunks for i in job.payload["report_ids"]] == [r.id for r in reports]
    cli.ok("worker", "--burst", "--kind", "classifier.reclassify")
    with common.unit_of_work() as session:
        assert all(r.label is not None for r in session.scalars(select(Report)))
