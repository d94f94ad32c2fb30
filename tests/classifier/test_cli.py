"""``wenming classifier`` commands and ``reclassify_command`` as staff run them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from ingest.models import ChatGroup, Member, Report
from tests.support import cli_settings
from wenming import schema
from wenming.db import create_db_engine, make_session_factory, transaction
from wenming.queue.models import Job
from wiring.cli.classifier import reclassify_command
from wiring.cli.main import app

runner = CliRunner()
LAST_LINE = re.compile(r"^macro_f1=(\d\.\d{4}) accuracy=(\d\.\d{4}) baseline_macro_f1=(\d\.\d{4})$")


@pytest.fixture
def cli_env(fresh_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    schema.upgrade(fresh_database_url)
    with cli_settings(monkeypatch, database_url=fresh_database_url, data_dir=tmp_path / "data"):
        yield fresh_database_url


def test_eval_prints_tables_and_a_machine_readable_last_line(cli_env: str) -> None:
    result = runner.invoke(app, ["classifier", "eval"])  # the shipped held-out set
    assert result.exit_code == 0, result.output
    for section in ("混淆矩阵", "关键词基线", "严格 F1", "各体裁准确率", "quote", "traditional", "最严重的错误"):
        assert section in result.output, section
    assert re.search(r"严格得分（只认主类别）：macro-F1 0\.\d{4}", result.output)
    assert re.search(r"审核阈值 0\.80：\d+\.\d% 需人工审核，自动通过的 \d+\.\d% 正确", result.output)
    found = LAST_LINE.match(result.output.strip().splitlines()[-1])
    assert found, result.output.splitlines()[-1]
    macro_f1, _, baseline = map(float, found.groups())
    assert macro_f1 >= 0.93 and macro_f1 >= baseline + 0.05


def test_eval_lists_the_surest_mistakes_first(cli_env: str, tmp_path: Path) -> None:
    mine = tmp_path / "wrong.jsonl"
    lines = [
        {"text": "收到", "label": "news", "genre": "chat", "batch": "x1"},
        {"text": "县局党员到敬老院为老人打扫房间、理发", "label": "other", "genre": "lead", "batch": "x1"},
    ]
    mine.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    result = runner.invoke(app, ["classifier", "eval", str(tmp_path)])  # a directory of files works too
    assert result.exit_code == 0, result.output
    worst = result.output[result.output.index("最严重的错误") :]
    assert "收到" in worst and "敬老院" in worst and "accuracy=0.0000" in result.output.splitlines()[-1]


def test_eval_accepts_alt_labels_and_rejects_bad_files(cli_env: str, tmp_path: Path) -> None:
    good = tmp_path / "mine.jsonl"
    lines = [
        {"text": "收到", "label": "other"},
        {"text": "县局志愿者来到结对村城南村开展清洁家园", "label": "pairing", "alt": "volunteer"},
    ]
    good.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    result = runner.invoke(app, ["classifier", "eval", str(good)])
    assert result.exit_code == 0, result.output
    assert "accuracy=1.0000" in result.output.splitlines()[-1]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "好的"}\n', encoding="utf-8")
    result = runner.invoke(app, ["classifier", "eval", str(bad)])
    assert result.exit_code == 1
    assert "错误" in result.output and "label" in result.output


def test_train_use_and_versions(cli_env: str) -> None:
    result = runner.invoke(app, ["classifier", "train"])
    assert result.exit_code == 0, result.output
    assert "v1" in result.output and "新版本已启用" in result.output

    result = runner.invoke(app, ["classifier", "versions"])
    assert result.exit_code == 0, result.output
    assert "seed-" in result.output and "v1" in result.output

    declined = runner.invoke(app, ["classifier", "use", "seed"], input="n\n")
    assert declined.exit_code == 1 and "已取消" in declined.output
    assert "●" in next(
        line for line in runner.invoke(app, ["classifier", "versions"]).output.splitlines() if "v1" in line
    )
    assert runner.invoke(app, ["classifier", "use", "seed"], input="y\n").exit_code == 0
    assert runner.invoke(app, ["classifier", "use", "v1", "--yes", "--reason", "回到新版"]).exit_code == 0
    result = runner.invoke(app, ["classifier", "use", "v7"])
    assert result.exit_code == 1
    assert "不存在" in result.output


def _add_reports(url: str, texts: list[str]) -> None:
    """Reports as ingest would leave them before classification."""
    engine = create_db_engine(url)
    with transaction(make_session_factory(engine)) as session:
        group, member = ChatGroup(platform="qq", platform_id="g1"), Member(platform="qq", platform_user_id="u1")
        session.add_all([group, member])
        session.flush()
        now = datetime(2026, 4, 25, 2, tzinfo=UTC)
        for text in texts:
            session.add(
                Report(
                    group_id=group.id,
                    sender_id=member.id,
                    first_message_at=now,
                    last_message_at=now,
                    post_date=date(2026, 4, 25),
                    text=text,
                    photo_count=1,
                )
            )
    engine.dispose()


def test_reclassify_command_shows_progress_and_keeps_corrections(cli_env: str) -> None:
    _add_reports(cli_env, ["收到", "县局志愿者开展文明劝导", "我局稿件被湖州日报录用"])
    cli = typer.Typer()
    cli.command("reclassify")(reclassify_command)
    cli.command("noop")(lambda: None)
    result = runner.invoke(cli, ["reclassify"])
    assert result.exit_code == 0, result.output
    assert "共 3 条报告，重新分类 3 条" in result.output
    engine = create_db_engine(cli_env)
    with transaction(make_session_factory(engine)) as session:
        labels = sorted(r.label for r in session.query(Report))
    engine.dispose()
    assert labels == ["news", "other", "volunteer"]


def test_background_flags_queue_jobs_instead_of_working_in_the_terminal(cli_env: str) -> None:
    _add_reports(cli_env, ["县局志愿者开展文明劝导"])
    cli = typer.Typer()
    cli.command("reclassify")(reclassify_command)
    cli.command("noop")(lambda: None)
    queued = runner.invoke(cli, ["reclassify", "--background"])
    assert queued.exit_code == 0 and "已排入后台任务 1 个" in queued.output, queued.output
    trained = runner.invoke(app, ["classifier", "train", "--background"])
    assert trained.exit_code == 0 and "已排入后台任务" in trained.output, trained.output
    engine = create_db_engine(cli_env)
    with transaction(make_session_factory(engine)) as session:
        kinds = sorted(session.scalars(select(Job.kind)))
        report = session.scalars(select(Report)).one()
    engine.dispose()
    assert kinds == ["classifier.reclassify", "classifier.train"]
    assert report.label is None  # nothing was done in the terminal: the worker will
