"""``wenming units``: the roster goes in from CSV/XLSX and comes out as a table."""

from __future__ import annotations

from openpyxl import Workbook

from tests.wiring.clikit import UNITS_CSV, Cli, cli, cli_data_dir

__all__ = ["cli", "cli_data_dir"]


def test_import_then_list_shows_units_with_aliases_and_levels(cli: Cli) -> None:
    cli.ok("db", "upgrade")
    roster = cli.root / "名册.csv"
    roster.write_text(UNITS_CSV, encoding="utf-8")
    assert "新增 3 个，更新 0 个，无变化 0 个" in cli.ok("units", "import", str(roster))
    listing = cli.ok("units", "list")
    assert "文明单位名册（3 个）" in listing
    assert "县市场监管局、市场监管局" in listing
    assert "全国" in listing and "长兴县人民医院" in listing
    only_national = cli.ok("units", "list", "--level", "全国")
    assert "长兴县人民医院" in only_national and "长兴县应急管理局" not in only_national
    assert "新增 0 个，更新 0 个，无变化 3 个" in cli.ok("units", "import", str(roster))


def test_xlsx_update_is_reported_by_name(cli: Cli) -> None:
    cli.ok("db", "upgrade")
    roster = cli.root / "名册.csv"
    roster.write_text(UNITS_CSV, encoding="utf-8")
    cli.ok("units", "import", str(roster))
    book = Workbook()
    book.active.append(["单位名称", "别名", "级别", "类别", "人数"])
    book.active.append(["长兴县应急管理局", "县应急局、应急局", "市", "机关", 52])
    book.save(cli.root / "更新.xlsx")
    output = cli.ok("units", "import", str(cli.root / "更新.xlsx"))
    assert "新增 0 个，更新 1 个" in output
    assert "已更新：长兴县应急管理局" in output
    assert "县应急局、应急局" in cli.ok("units", "list", "--category", "机关")


def test_bad_roster_names_row_and_column_and_exits_1(cli: Cli) -> None:
    cli.ok("db", "upgrade")
    roster = cli.root / "bad.csv"
    roster.write_text("单位名称,级别,人数\n长兴县林业局,乡镇级,二十\n", encoding="utf-8")
    result = cli("units", "import", str(roster))
    assert result.exit_code == 1
    assert "第 2 行「级别」列：无法识别的级别「乡镇级」" in result.output
    assert "第 2 行「人数」列：人数「二十」不是整数" in result.output
    assert "没有符合条件的单位" in cli.ok("units", "list")  # nothing was imported


def test_unknown_level_filter_and_unmigrated_database(cli: Cli) -> None:
    result = cli("units", "list")
    assert result.exit_code == 1 and "wenming db upgrade" in result.output
    cli.ok("db", "upgrade")
    result = cli("units", "list", "--level", "乡")
    assert result.exit_code == 1 and "未知的文明单位级别" in result.output
