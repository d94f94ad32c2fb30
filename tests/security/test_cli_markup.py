"""Hardening finding 11: names from chat are data, never Rich markup (``测试[/]单位`` crashed the CLI's tables)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
from rich.console import Console
from sqlalchemy.orm import Session

from tests.api.conftest import Data
from tests.wiring.clikit import Cli, cli, cli_data_dir  # noqa: F401
from wenming.db import create_db_engine
from wenming.settings import Settings
from wiring.cli import tables

HOSTILE = "测试[/]单位[bold red]"


@pytest.fixture
def hostile_world(cli: Cli, fresh_database_url: str) -> Cli:  # noqa: F811
    """A unit and a sender whose names are broken markup, with reports in October 2026."""
    cli.ok("db", "upgrade")
    engine = create_db_engine(fresh_database_url)
    with Session(engine) as session:
        d = Data(session, Settings(database_url=fresh_database_url, _env_file=None))  # type: ignore[call-arg]
        unit = d.unit(HOSTILE, aliases=["[link=http://x]别名[/link]"])
        sender = d.member("[/]小王", unit)
        for day in (3, 9, 16):
            d.report("开展文明实践活动 [/] [red]", unit=unit, sender=sender, day=date(2026, 10, day))
        session.commit()
    engine.dispose()
    return cli


@pytest.mark.parametrize(
    "args",
    [
        ("units", "list"),
        ("reports", "stats"),
        ("score", "month", "2026-10"),
        ("score", "quarter", "2026Q4"),
        ("score", "year", "2026"),
        ("bot", "post", "monthly_ranking", "--period", "2026-10", "--dry-run"),
    ],
)
def test_table_commands_print_markup_in_names_as_text(hostile_world: Cli, args: tuple[str, ...]) -> None:
    out = hostile_world.ok(*args)
    assert HOSTILE in out, out


def test_csv_and_json_carry_the_name_unchanged(hostile_world: Cli) -> None:
    rows = list(csv.reader(io.StringIO(hostile_world.ok("score", "month", "2026-10", "--format", "csv"))))
    assert rows[0][:2] == ["名次", "单位"] and rows[1][1] == HOSTILE
    stats = list(csv.reader(io.StringIO(hostile_world.ok("reports", "stats", "--format", "csv"))))
    assert stats[1][1] == HOSTILE and stats[1][3] == "3" and stats[-1][1] == "（未归属单位）"
    units = json.loads(hostile_world.ok("units", "list", "--format", "json"))
    assert units[0]["单位名称"] == HOSTILE and units[0]["别名"] == "[link=http://x]别名[/link]"


def test_narrow_terminals_keep_every_column() -> None:
    """At 120 columns the quarterly table kept 季度排名…合计; at 80 it switches to blocks, never drops a column."""
    headers = ["季度排名", "单位", "常态化开展文明实践活动（30分）", "开展结对共建活动（20分）"]
    headers += ["信息材料报送（30分）", "重点工作配合（20分）", "合计"]
    columns = [tables.Column(h, "right") for h in headers]
    columns[1] = tables.Column("单位", wrap=True)
    data = tables.TableData("2026年第3季度 汇总表", columns)
    data.add_row("1", "国网浙江长兴县供电有限公司", "20", "20", "16.83", "20", "76.83")
    data.add_row("2", HOSTILE, "15", "0", "7.17", "20", "42.17")
    for width, expected in ((200, "table"), (120, "folded"), (80, "folded"), (40, "vertical")):
        console = Console(width=width, record=True, file=io.StringIO())
        tables.render(data, console)
        text = console.export_text()
        assert tables.layout(data, width) == expected, (width, tables.layout(data, width))
        for needed in ("76.83", "42.17", "7.17", HOSTILE, "国网浙江长兴县供电有限公司"):
            assert needed in text, (width, needed)
        if expected == "vertical":
            assert all(f"{h}：" in text for h in headers[2:]), text
        else:
            assert text.count("┳") == len(headers) - 1, text  # every column has a place, none collapsed
            assert "┳┳" not in text
        assert "…" not in text, (width, text)


def test_post_preview_defaults_to_the_latest_month_with_reports(hostile_world: Cli) -> None:
    out = hostile_world.ok("bot", "post", "monthly_ranking", "--dry-run")
    assert "2026年10月 文明单位活跃度排行" in out and HOSTILE in out
