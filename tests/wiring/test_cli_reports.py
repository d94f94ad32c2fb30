"""``wenming reports stats``: per-unit counts, the unassigned queue and the silent units."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from ingest.models import Report
from tests.wiring.clikit import UNITS_CSV, Cli, cli, cli_data_dir, jpeg, line, write_jsonl
from wiring.cli import common

__all__ = ["cli", "cli_data_dir"]


def table_row(output: str, name: str) -> dict[str, str]:
    """The stats-table row of ``name``, keyed by column header (cells are separated by spaces)."""
    lines = output.splitlines()
    header = next(row.split() for row in lines if row.split()[:2] == ["排名", "单位"])
    for row in lines:
        cells = row.split()
        if name in cells:
            return dict(zip(header, cells, strict=True))
    raise AssertionError(f"no row for {name} in:\n{output}")


def with_units(cli: Cli) -> None:
    cli.ok("db", "upgrade")
    roster = cli.root / "units.csv"
    roster.write_text(UNITS_CSV, encoding="utf-8")
    cli.ok("units", "import", str(roster))


def load(cli: Cli) -> None:
    with_units(cli)
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
    assert (market["排名"], market["级别"], market["报送"], market["图片"]) == ("1", "省", "2", "1")
    hospital = table_row(output, "长兴县人民医院")
    assert (hospital["报送"], hospital["图片"]) == ("1", "1")
    assert table_row(output, "长兴县应急管理局")["报送"] == "0"
    assert table_row(output, "（未归属单位）")["报送"] == "1"  # the card naming two units is never guessed
    assert "共 4 条报送，其中未归属单位 1 条" in output
    assert "无任何报送的单位（1 个）：长兴县应急管理局" in output


def test_date_filter_uses_post_dates_inclusive(cli: Cli) -> None:
    load(cli)
    output = cli.ok("reports", "stats", "--from", "2026-09-20", "--to", "2026-09-21")
    assert "2026-09-20 至 2026-09-21" in output
    assert table_row(output, "长兴县市场监督管理局")["报送"] == "1"
    assert "共 2 条报送，其中未归属单位 0 条" in output


def test_bad_dates_are_explained(cli: Cli, tmp_path: Path) -> None:
    cli.ok("db", "upgrade")
    result = cli("reports", "stats", "--from", "9月1日")
    assert result.exit_code == 1 and "格式不对，应为 YYYY-MM-DD" in result.output
    result = cli("reports", "stats", "--from", "2026-10-01", "--to", "2026-09-01")
    assert result.exit_code == 1 and "--from 不能晚于 --to" in result.output


def test_status_and_label_columns_show_only_what_occurs(cli: Cli) -> None:
    load(cli)
    with common.unit_of_work() as session:  # whatever the classifier did, start from unclassified reports
        session.execute(update(Report).values(label=None, status="unclassified"))
    header = table_row(cli.ok("reports", "stats"), "长兴县人民医院")
    assert "未分类" in header and "已分类" not in header and "志愿" not in header
    with common.unit_of_work() as session:
        report = session.scalars(select(Report).where(Report.text.like("%清洁家园%"))).one()
        report.label, report.status = "volunteer", "classified"
    market = table_row(cli.ok("reports", "stats"), "长兴县市场监督管理局")
    assert (market["未分类"], market["已分类"], market["志愿"]) == ("1", "1", "1")
    assert "实践" not in market and "待审核" not in market


def test_acknowledgements_and_stickers_count_as_messages_never_as_reports(cli: Cli) -> None:
    with_units(cli)
    folder = cli.root / "feed"
    folder.mkdir()
    market, hospital = ("wx1", "县市场监管局-张三"), ("wx2", "县医院 李四")
    write_jsonl(
        folder / "m.jsonl",
        [
            line("1", "03T09:00:00", *market, text="9月3日，我局开展诚信教育主题活动。"),
            line("2", "04T09:00:00", *market, text="9月4日，我局志愿者开展文明劝导。"),
            line("3", "05T09:00:00", *hospital, text="9月5日，我院开展义诊。"),
            line("4", "05T10:00:00", *hospital, text="收到"),
            line("5", "06T10:00:00", *hospital, text="好的👍"),
            line("6", "07T10:00:00", *hospital, text="谢谢提醒"),
            line("7", "07T10:01:00", *hospital, "sticker", text="[动画表情]"),
        ],
    )
    replay = cli.ok("ingest", "replay", str(folder / "m.jsonl"))
    assert "留作消息" in replay
    output = cli.ok("reports", "stats")
    first, second = table_row(output, "长兴县市场监督管理局"), table_row(output, "长兴县人民医院")
    assert (first["排名"], first["报送"], first["消息"]) == ("1", "2", "·")
    assert (second["排名"], second["报送"], second["消息"]) == ("2", "1", "4")
    assert "共 3 条报送" in output and "留作消息 4" in output


def test_retriage_leaves_activity_reports_alone(cli: Cli) -> None:
    load(cli)
    assert "将改回消息的报送：0 条（预览，未修改）" in cli.ok("reports", "retriage", "--dry-run")
    assert "已改回消息的报送：0 条" in cli.ok("reports", "retriage")
    assert "共 4 条报送" in cli.ok("reports", "stats")
