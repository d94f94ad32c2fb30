"""The unit roster import: CSV/XLSX in, units upserted by name, every mistake named by row and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import Unit
from ingest.unit_import import UnitImportError, import_units_file, parse_units_file, split_aliases

HEADER = "name,aliases,honour_level,category,headcount\n"


def write(tmp_path: Path, text: str, name: str = "units.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def units_by_name(session: Session) -> dict[str, Unit]:
    return {u.name: u for u in session.scalars(select(Unit))}


def test_csv_creates_units_with_aliases_levels_and_headcount(session: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "长兴县市场监督管理局,县市场监管局、市场监管局,省,机关,210\n"
        "长兴县人民医院,县人民医院;县医院|人民医院,全国,医院,1500\n"
        "长兴中学,长中,市级,学校,\n",
    )
    summary = import_units_file(session, path)
    assert sorted(summary.created) == ["长兴中学", "长兴县人民医院", "长兴县市场监督管理局"]
    units = units_by_name(session)
    assert units["长兴县市场监督管理局"].aliases == ["县市场监管局", "市场监管局"]
    assert units["长兴县人民医院"].aliases == ["县人民医院", "县医院", "人民医院"]
    assert units["长兴县人民医院"].honour_level == "national"
    assert units["长兴中学"].honour_level == "city"
    assert units["长兴中学"].headcount is None
    assert units["长兴县市场监督管理局"].headcount == 210


def test_reimport_updates_by_name_and_reports_unchanged(session: Session, tmp_path: Path) -> None:
    first = write(tmp_path, HEADER + "长兴县教育局,县教育局,县,机关,90\n长兴县财政局,,市,机关,80\n")
    import_units_file(session, first)
    second = write(tmp_path, HEADER + "长兴县教育局,县教育局；教育局,provincial,机关,95\n长兴县财政局,,市,机关,80\n")
    summary = import_units_file(session, second)
    assert summary.updated == ["长兴县教育局"]
    assert summary.unchanged == ["长兴县财政局"]
    assert summary.created == []
    unit = units_by_name(session)["长兴县教育局"]
    assert unit.aliases == ["县教育局", "教育局"]
    assert unit.honour_level == "provincial"
    assert unit.headcount == 95
    assert len(units_by_name(session)) == 2


def test_columns_missing_from_the_file_are_left_untouched(session: Session, tmp_path: Path) -> None:
    import_units_file(session, write(tmp_path, HEADER + "长兴县民政局,县民政局,县,机关,40\n"))
    import_units_file(session, write(tmp_path, "单位名称,级别\n长兴县民政局,市\n", name="short.csv"))
    unit = units_by_name(session)["长兴县民政局"]
    assert unit.honour_level == "city"
    assert unit.aliases == ["县民政局"]
    assert unit.headcount == 40


def test_chinese_headers_and_gbk_csv_from_excel(session: Session, tmp_path: Path) -> None:
    path = write(tmp_path, "单位名称,别名,级别,类别,人数\n长兴县司法局,县司法局,县级,机关,30\n", encoding="gbk")
    import_units_file(session, path)
    assert units_by_name(session)["长兴县司法局"].aliases == ["县司法局"]


def test_xlsx_with_numeric_headcount(session: Session, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["单位名称", "别名", "级别", "类别", "人数"])
    sheet.append(["长兴县图书馆", "县图书馆", "县", "事业单位", 25.0])
    sheet.append([None, None, None, None, None])
    sheet.append(["长兴县人民法院", "县法院", "全国", "机关", 160])
    path = tmp_path / "名册.xlsx"
    book.save(path)
    summary = import_units_file(session, path)
    assert sorted(summary.created) == ["长兴县人民法院", "长兴县图书馆"]
    assert units_by_name(session)["长兴县图书馆"].headcount == 25


def test_every_bad_cell_is_reported_with_row_and_column_and_nothing_is_written(
    session: Session, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        HEADER + "长兴县交通运输局,县交通局,乡,机关,50\n"
        ",无名,县,机关,10\n"
        "长兴县水利局,县水利局,县,机关,三十\n"
        "长兴县交通运输局,,县,机关,50\n",
    )
    with pytest.raises(UnitImportError) as caught:
        import_units_file(session, path)
    errors = caught.value.errors
    assert "第 2 行「级别」列：无法识别的级别「乡」（应为 全国/省/市/县）" in errors
    assert "第 3 行「单位名称」列：单位名称不能为空" in errors
    assert "第 4 行「人数」列：人数「三十」不是整数" in errors
    assert any(e.startswith("第 5 行「单位名称」列") and "第 2 行重复" in e for e in errors)
    assert "未导入任何数据" in str(caught.value)
    assert units_by_name(session) == {}


def test_unknown_or_missing_columns_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnitImportError, match="无法识别的列名「单位地址」"):
        parse_units_file(write(tmp_path, "单位名称,级别,单位地址\n长兴县林业局,县,雉城\n"))
    with pytest.raises(UnitImportError, match="缺少必需的列「级别」"):
        parse_units_file(write(tmp_path, "name,aliases\n长兴县林业局,县林业局\n", name="b.csv"))


def test_alias_shared_by_two_units_is_refused(session: Session, tmp_path: Path) -> None:
    import_units_file(session, write(tmp_path, HEADER + "长兴县人民医院,县医院,全国,医院,1500\n"))
    clash = write(tmp_path, HEADER + "长兴县中医院,县医院、县中医院,市,医院,600\n", name="b.csv")
    with pytest.raises(UnitImportError, match="第 2 行「别名」列：别名「县医院」与单位「长兴县人民医院」"):
        import_units_file(session, clash)
    assert "长兴县中医院" not in units_by_name(session)


def test_unsupported_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(UnitImportError, match=r"不支持的文件类型 \.xls"):
        parse_units_file(write(tmp_path, "x", name="old.xls"))
    with pytest.raises(UnitImportError, match="找不到文件"):
        parse_units_file(tmp_path / "none.csv")


def test_split_aliases_accepts_every_separator() -> None:
    assert split_aliases(" 县医院 、县人民医院;人民医院；院|县医院 ") == [
        "县医院",
        "县人民医院",
        "人民医院",
        "院",
    ]
