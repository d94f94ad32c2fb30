"""Spreadsheet exports: .xlsx in the 附件3 layout (title row, Chinese headers, widths) and UTF-8 .csv."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from ingest.models import HonourLevel
from scoring.schemas import AnnualScore, MonthlyRanking, QuarterTable

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"


@dataclass
class Sheet:
    """A titled table: what both file formats are written from."""

    title: str
    headers: list[str]
    rows: list[list[Any]]
    widths: list[int]
    filename: str  # Chinese, without extension
    slug: str  # ASCII fallback name, without extension
    note: str | None = None


def _level_zh(code: str) -> str:
    return HonourLevel.zh_of(code)


def _points(value: float | None) -> float | str:
    return "" if value is None else round(value, 2)


def quarter_sheet(table: QuarterTable) -> Sheet:
    """附件3: 季度排名 | 单位 | the rubric's item columns (with their full marks) | 合计."""
    headers = ["季度排名", "单位"]
    headers += [f"{c.title}（{c.max_points:g}分）" if c.max_points else c.title for c in table.columns]
    headers.append("合计")
    rows = [
        [row.rank, row.unit_name, *[_points(row.items.get(c.key)) for c in table.columns], _points(row.total)]
        for row in table.rows
    ]
    widths = [10, 34, *[max(14, min(28, len(h) * 2 + 2)) for h in headers[2:-1]], 10]
    name = f"{table.year}年第{table.quarter}季度汇总表"
    return Sheet(table.title, headers, rows, widths, name, f"wenming-{table.rubric}-{table.year}Q{table.quarter}")


def monthly_sheet(ranking: MonthlyRanking) -> Sheet:
    headers = ["排名", "单位", "级别", "实践活动（次）", "活跃天数", "照片（张）", "活跃度", "达到每月最低次数"]
    rows = [
        [
            r.rank,
            r.unit_name,
            _level_zh(r.honour_level),
            r.practice_count,
            r.active_days,
            r.photos,
            r.liveliness,
            "是" if r.meets_minimum else "否",
        ]
        for r in ranking.rows
    ]
    title = f"{ranking.year}年{ranking.month}月 文明单位活动活跃度排名"
    slug = f"wenming-{ranking.rubric}-{ranking.year}-{ranking.month:02d}"
    return Sheet(title, headers, rows, [8, 34, 8, 14, 10, 10, 10, 18], title, slug, note=ranking.formula)


def annual_sheet(scores: list[AnnualScore], year: int, title: str, rubric: str) -> Sheet:
    keys: list[str] = []
    for s in scores:
        keys += [k for k in s.items if k not in keys]
    headers = ["排名", "单位", "级别", "年度得分", *keys, "预警", "限期整改", "上年得分", "同比", "两年平均"]
    rows = [
        [
            s.rank,
            s.unit_name,
            _level_zh(s.honour_level),
            _points(s.score),
            *[_points(s.items.get(k)) for k in keys],
            ("预计" if s.provisional else "是") if s.warning else "",
            ("预计" if s.provisional else "是") if s.rectification else "",
            _points(s.previous_score),
            _points(s.year_over_year),
            _points(s.two_year_average),
        ]
        for s in scores
    ]
    widths = [8, 34, 8, 10, *[16] * len(keys), 8, 10, 10, 8, 10]
    note = None
    if any(s.provisional for s in scores):
        through = scores[0].through or ""
        note = f"年度尚未关账：得分为截至 {through} 的全年预计，预警与限期整改为预计，以关账公布的年度得分为准。"
    title_text = f"{year}年度 {title}" + ("（预计）" if note else "")
    return Sheet(title_text, headers, rows, widths, f"{year}年度得分", f"wenming-{rubric}-{year}", note=note)


def to_xlsx(sheet: Sheet) -> bytes:
    """One worksheet: a merged bold title row, a shaded header row, thin borders, set widths, frozen header."""
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总表"
    ncols = len(sheet.headers)
    ws.cell(row=1, column=1, value=sheet.title).font = Font(name="宋体", size=16, bold=True)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 30
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    fill = PatternFill("solid", fgColor="F2F2F2")
    for col, header in enumerate(sheet.headers, start=1):
        cell = ws.cell(row=2, column=col, value=header)
        cell.font = Font(name="宋体", bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = fill
        cell.border = border
    ws.row_dimensions[2].height = 36
    for r, row in enumerate(sheet.rows, start=3):
        for c, value in enumerate(row, start=1):
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)  # names come from chat; control characters break xlsx
            cell = ws.cell(row=r, column=c, value=value)
            cell.border = border
            cell.font = Font(name="宋体")
            if isinstance(value, float):
                cell.number_format = "0.0#"
            if c != 2:
                cell.alignment = Alignment(horizontal="center")
    for c, width in enumerate(sheet.widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = width
    if sheet.note:
        note_row = len(sheet.rows) + 4
        ws.cell(row=note_row, column=1, value=f"说明：{sheet.note}").font = Font(name="宋体", italic=True)
    ws.freeze_panes = "A3"
    ws.print_title_rows = "1:2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def to_csv(sheet: Sheet) -> bytes:
    """UTF-8 with a byte-order mark so that Excel on Windows opens the Chinese correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([sheet.title])
    writer.writerow(sheet.headers)
    writer.writerows(sheet.rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def content_disposition(sheet: Sheet, extension: str) -> str:
    """An ASCII fallback and the UTF-8 name (RFC 6266/5987), so browsers save the Chinese name."""
    return f"attachment; filename=\"{sheet.slug}.{extension}\"; filename*=UTF-8''{quote(sheet.filename)}.{extension}"
