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

from classifier.models import Label
from ingest.models import HonourLevel
from scoring.schemas import AnnualScore, MonthlyRanking, QuarterTable, TableColumn

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


# A value a spreadsheet would read as a formula (or as DDE) when it starts with one of these (hardening finding 9).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: Any, *, for_csv: bool = False) -> Any:
    """Every exported value passes here once: text from chat or staff can never become a formula.

    Numbers stay numbers. In .xlsx a risky string is written as a text cell (``data_type="s"``, see ``to_xlsx``);
    in .csv it gets a leading apostrophe, which Excel and WPS show as a literal text marker.
    """
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)  # names come from chat; control characters break xlsx
    if for_csv and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def item_header(column: TableColumn) -> str:
    """附件3's header text: the item's title and its full marks, as 常态化开展文明实践活动（30分）."""
    return f"{column.title}（{column.max_points:g}分）" if column.max_points else column.title


def _points(value: float | None) -> float | str:
    return "" if value is None else round(value, 2)


def quarter_sheet(table: QuarterTable) -> Sheet:
    """附件3: 季度排名 | 单位 | the rubric's item columns (with their full marks) | 合计."""
    headers = ["季度排名", "单位"]
    headers += [item_header(c) for c in table.columns]
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


def annual_sheet(
    scores: list[AnnualScore], year: int, title: str, rubric: str, columns: list[TableColumn] | None = None
) -> Sheet:
    """年度得分: one column per score item, headed by its Chinese title (never the item's code)."""
    named = {c.key: item_header(c) for c in columns or []}
    keys: list[str] = [c.key for c in columns or []]
    for s in scores:
        keys += [k for k in s.items if k not in keys]
    item_headers = [named.get(k, k) for k in keys]
    headers = ["排名", "单位", "级别", "年度得分", *item_headers, "预警", "限期整改", "上年得分", "同比", "两年平均"]
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
    widths = [8, 30, 8, 10, *[max(12, min(24, len(h) * 2)) for h in item_headers], 8, 10, 10, 8, 10]
    note = None
    if any(s.provisional for s in scores):
        through = scores[0].through or ""
        note = f"年度尚未关账：得分为截至 {through} 的全年预计，预警与限期整改为预计，以关账公布的年度得分为准。"
    title_text = f"{year}年度 {title}" + ("（预计）" if note else "")
    return Sheet(title_text, headers, rows, widths, f"{year}年度得分", f"wenming-{rubric}-{year}", note=note)


def key_column(board: str, sheet: Sheet) -> int:
    """The column a board is ranked by (合计, 活跃度, 年度得分): kept in view next to the unit name on a phone."""
    wanted = {"quarterly": "合计", "monthly": "活跃度", "annual": "年度得分"}.get(board, "合计")
    return next((i for i, h in enumerate(sheet.headers) if h == wanted), len(sheet.headers) - 1)


def to_xlsx(sheet: Sheet) -> bytes:
    """One worksheet: a merged bold title row, a shaded header row, thin borders, set widths, frozen header."""
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总表"
    _fill(ws, sheet)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _fill(ws: Any, sheet: Sheet) -> None:
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
            value = cell_text(value)
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # stored as text even when it starts with "=": never evaluated
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
    _page_setup(ws)


def _page_setup(ws: Any) -> None:
    """Prints as the office files it: A4 landscape, all columns on one page width, title and header on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as the rows need
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.print_title_rows = "1:2"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"


def to_csv(sheet: Sheet) -> bytes:
    """UTF-8 with a byte-order mark so that Excel on Windows opens the Chinese correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([cell_text(sheet.title, for_csv=True)])
    writer.writerow([cell_text(h, for_csv=True) for h in sheet.headers])
    writer.writerows([cell_text(v, for_csv=True) for v in row] for row in sheet.rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def content_disposition(sheet: Sheet | Book, extension: str) -> str:
    """An ASCII fallback and the UTF-8 name (RFC 6266/5987), so browsers save the Chinese name."""
    return f"attachment; filename=\"{sheet.slug}.{extension}\"; filename*=UTF-8''{quote(sheet.filename)}.{extension}"


@dataclass
class Book:
    """A finished workbook with its download names (what ``content_disposition`` needs)."""

    data: bytes
    filename: str
    slug: str


def evidence_xlsx(unit_name: str, year: int, explanation: dict[str, Any], cards: list[dict[str, Any]]) -> Book:
    """证据材料 as a workbook: 得分说明 (item, points, how) and 报送明细 (every report, with its link and photos)."""
    wb = Workbook()
    score = wb.active
    score.title = "得分说明"
    _write_table(
        score,
        f"{unit_name} {explanation['title']} 得分说明（合计 {explanation['total']} 分）",
        ["项目", "得分", "满分", "计算过程"],
        [[r["name"], r["score"], r["max"] or "", "\n".join(r["lines"])] for r in explanation["rows"]],
        [24, 8, 8, 90],
    )
    reports = wb.create_sheet("报送明细")
    rows = [
        [
            str(c["report"].post_date),
            Label.zh_of(c["report"].label) or "未分类",
            c["report"].text or "（无文字）",
            c["report"].photo_count,
            f"#{c['report'].id}",
        ]
        for c in cards
    ]
    _write_table(
        reports,
        f"{unit_name} {year}年报送明细（{len(rows)} 条）",
        ["日期", "分类", "内容", "照片", "编号"],
        rows,
        [12, 10, 80, 6, 8],
    )
    buf = io.BytesIO()
    wb.save(buf)
    return Book(buf.getvalue(), f"{unit_name}{year}年证据材料", f"wenming-evidence-{year}")


def _write_table(ws: Any, title: str, headers: list[str], rows: list[list[Any]], widths: list[int]) -> None:
    """The same title row, header, borders and print setup as the leaderboard sheets."""
    sheet = Sheet(title, headers, rows, widths, title, "sheet")
    _fill(ws, sheet)
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
