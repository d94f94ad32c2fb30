"""``wenming score``: both rubrics through the command line against a migrated database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from rich.console import Console
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ingest.models import ChatGroup
from tests.scoring.conftest import World
from tests.support import cli_settings
from wenming import schema
from wenming.db import create_db_engine
from wenming.settings import get_settings
from wiring.cli import score as score_cli
from wiring.cli import score_periods
from wiring.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli_db(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated database with two units and a few reports, wired into the CLI's settings."""
    schema.upgrade(fresh_database_url)
    engine = create_db_engine(fresh_database_url)
    with Session(engine) as session:
        group = ChatGroup(platform="wechat", platform_id="g", name="群")
        session.add(group)
        session.flush()
        world = World(session, group)
        edu = world.unit("县教育局", "provincial")
        health = world.unit("县卫健局")
        for day in (3, 9, 16):
            world.report(edu, date(2025, 10, day), photos=2)
        world.report(health, date(2025, 10, 5))
        world.report(health, date(2025, 10, 6), ("news",))
        session.commit()
    engine.dispose()
    monkeypatch.setattr(score_cli, "console", Console(width=200))  # a staff terminal, not 80 columns
    with cli_settings(monkeypatch, database_url=fresh_database_url):
        yield fresh_database_url


def _run(*args: str) -> str:
    result = runner.invoke(app, ["score", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_month_quarter_year_and_explain(cli_db: str) -> None:
    month = _run("month", "2025-10")
    assert "2025年10月 文明实践活动活跃度排名" in month
    assert month.index("县教育局") < month.index("县卫健局")
    quarter = _run("quarter", "2025Q4")
    assert "季度排名" in quarter and "常态化开展文明实践活动" in quarter and "合计" in quarter
    year = _run("year", "2025", "--rubric", "xixiang-2022")
    assert "县教育局" in year and "西乡县" in year
    explain = _run("explain", "县卫健局", "2025")
    assert "10月：1 次实践活动" in explain and "县卫健局" in explain


def test_entering_a_criticism_changes_the_quarter_table(cli_db: str) -> None:
    before = _run("quarter", "2025Q4")
    out = _run("criticism", "县卫健局", "2025-11-02", "创建任务落实不到位", "--by", "郑书洋")
    assert "已录入通报批评 criticism:1（郑书洋）" in out
    after = _run("quarter", "2025Q4")
    assert before != after
    explain = _run("explain", "县卫健局", "2025")
    assert "2025-11-02 通报批评：创建任务落实不到位 → −5" in explain
    voided = _run("void", "criticism", "1", "--reason", "通报撤回", "--by", "李科长")
    assert "已作废通报批评 criticism:1（李科长，原因：通报撤回）" in voided
    assert _run("quarter", "2025Q4") == before
    listing = _run("records", "县卫健局", "2025")
    assert "criticism:1" in listing and "已作废" in listing and "郑书洋" in listing


def test_errors_are_one_chinese_line(cli_db: str) -> None:
    result = runner.invoke(app, ["score", "month", "2025-13"])
    assert result.exit_code == 1 and "月份超出范围" in result.output
    result = runner.invoke(app, ["score", "year", "2025", "--rubric", "nowhere-2030"])
    assert result.exit_code == 1 and "没有名为 'nowhere-2030' 的评分标准" in result.output
    result = runner.invoke(app, ["score", "explain", "气象局", "2025"])
    assert result.exit_code == 1 and "找不到单位" in result.output


def test_year_as_of_shows_coverage_running_total_and_projection(cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WENMING_SCORING_START", "2025-09")
    get_settings.cache_clear()
    year = _run("year", "2025", "--as-of", "2025-10-31")
    assert "截至 2025年10月，预计" in year and "2025年9—12月" in year
    assert "截至累计" in year and "全年预计" in year and "预计预警" in year
    assert "年度尚未关账" in year


def test_close_publish_result_and_history(cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(score_periods, "console", Console(width=200))
    early = runner.invoke(app, ["score", "close", "2025-10", "--as-of", "2025-10-20"])
    assert early.exit_code == 1 and "尚未结束" in early.output
    assert "已关账" in _run("close", "2025-10", "--as-of", "2025-11-03", "--by", "郑书洋")
    assert "已公布" in _run("publish", "2025-10", "--by", "郑书洋")
    result = _run("result", "2025-10")
    assert "已公布" in result and result.index("县教育局") < result.index("县卫健局")
    assert "已关账 → 已公布" in _run("history", "2025-10")
    assert "2025年10月" in _run("periods")
    links = runner.invoke(app, ["units", "link", "县教育局"])
    assert links.exit_code == 1 and "WENMING_UNIT_LINK_SECRET" in links.output
