"""``wenming reports stats``: per-unit counts, the unassigned queue and the silent units."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ingest.models import Report
from tests.wenming.clikit import UNITS_CSV, Cli, cli, jpeg, line, write_jsonl
from wenming.cli import common

__all__ = ["cli"]


def table_row(output: str, name: str) -> list[str]:
    for row in output.splitlines():
        cells = [c.strip() for c in row.split("│")]
        if name in cells:
            return [c for c in cells if c]
    raise AssertionError(f"no row for {name} in:\n{output}")


def load(cli: Cli) -> None:
    cli.ok("db", "upgrade")
    roster = cli.root / "units.csv"
    roster.write_text(UNITS_CSV, encoding="utf-8")
    cli.ok("units", "import", str(roster))
    folder = cli.root / "feed"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.jpg").write_bytes(jpeg(1))
    (folder / "images" / "b.jpg").write_bytes(jpeg(2))
    write_jsonl(
        folder / "m.jsonl",
        [
            line("1", "03T09:00:00", "wx1", "县市场监管局-张三", text="9月3日，我局开展诚信教育主题活动。"),
            line("2", "03T09:00:30", "wx1", "县市场监管局-张三", "image", image="images/a.jpg"),
            line("3", "20T15:00:00", "wx1", "县市场监管局-张三", text="9月20日，我局志愿者开展清洁家园活动。"),
            line("4", "21T10:00:00", "wx2", "县医院 李四", "image", image="images/b.jpg"),
            line("5", "22T10:00:00", "wx3", "县医院/县应急局 王五", text="今天参加了联合演练"),
        ],
    )
    cli.ok("ingest", "replay", str(folder / "m.jsonl"))


def test_stats_counts_reports_per_unit_and_the_unassigned_queue(cli: Cli) -> None:
    load(cli)
    output = cli.ok("reports", "stats")
    market = table_row(output, "长兴县市场监督管理局")
    assert market[:6] == [
        "1",
        "长兴县市场监督管理局",
        "省",
        "2",
        "1",
        "2",
    ]  # rank, name, level, reports, photos, 未分类
    assert table_row(output, "长兴县人民医院")[3:5] == ["1", "1"]
    assert table_row(output, "长兴县应急管理局")[3] == "0"
    assert table_row(output, "（未归属单位）")[1] == "1"  # the card naming two units is never guessed
    assert "共 4 条报送，其中未归属单位 1 条" in output
    assert "无任何报送的单位（1 个）：长兴县应急管理局" in output


def test_date_filter_uses_post_dates_inclusive(cli: Cli) -> None:
    load(cli)
    output = cli.ok("reports", "stats", "--from", "2026-09-20", "--to", "2026-09-21")
    assert "2026-09-20 至 2026-09-21" in output
    assert table_row(output, "长兴县市场监督管理局")[3] == "1"
    assert "共 2 条报送，其中未归属单位 0 条" in output


def test_bad_dates_are_explained(cli: Cli, tmp_path: Path) -> None:
    cli.ok("db", "upgrade")
    result = cli("reports", "stats", "--from", "9月1日")
    assert result.exit_code == 1 and "格式不对，应为 YYYY-MM-DD" in result.output
    result = cli("reports", "stats", "--from", "2026-10-01", "--to", "2026-09-01")
    assert result.exit_code == 1 and "--from 不能晚于 --to" in result.output


def test_label_and_status_columns_appear_once_reports_are_classified(cli: Cli) -> None:
    load(cli)
    assert "志愿服务" not in cli.ok("reports", "stats")
    with common.unit_of_work() as session:
        report = session.scalars(select(Report).where(Report.text.like("%清洁家园%"))).one()
        report.label, report.status = "volunteer", "classified"
    output = cli.ok("reports", "stats")
    header = next(row for row in output.splitlines() if "排名" in row)
    assert "已分类" in header and "志愿服务" in header and "未分类" in header
    assert "文明实践" not in header  # only labels that occur get a column
    assert table_row(output, "长兴县市场监督管理局")[5:8] == ["1", "1", "1"]  # 未分类, 已分类, 志愿服务
