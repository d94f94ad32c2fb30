"""Exports print as the office files them: 附件3's header words, A4 landscape, one page wide, titles repeated."""

from __future__ import annotations

import io
from datetime import datetime

import httpx
import pytest
from openpyxl import load_workbook

from tests.api.conftest import Data, Staff
from wenming.settings import Settings

pytestmark = pytest.mark.anyio

# 附件3 of the 长兴 notice (shared/seeds/000_…), its layout spaces (单   位, 合 计) and mixed brackets normalised.
ATTACHMENT_3 = [
    "季度排名",
    "单位",
    "常态化开展文明实践活动（30分）",
    "开展结对共建活动（20分）",
    "信息材料报送（30分）",
    "重点工作配合（20分）",
    "合计",
]


async def test_quarterly_xlsx_has_the_notice_headers_and_prints_landscape_one_page_wide(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    for i in range(30):
        data.unit(f"测试单位{i:02d}")
    today = datetime.now(settings.tz).date()
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    response = await client.get(f"/api/v1/exports/quarterly.xlsx?quarter={quarter}", headers=staff.headers("viewer"))
    ws = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in ws[2]] == ATTACHMENT_3
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows.replace("$", "") == "1:2"  # title and header on every page


async def test_annual_table_heads_items_in_chinese_not_codes(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    unit = data.unit("县图书馆")
    data.report("开展文明实践活动", unit=unit, day=datetime.now(settings.tz).date().replace(day=1))
    year = datetime.now(settings.tz).year
    xlsx = await client.get(f"/api/v1/exports/annual.xlsx?year={year}", headers=staff.headers("viewer"))
    headers = [c.value for c in load_workbook(io.BytesIO(xlsx.content)).active[2]]
    assert "常态化开展文明实践活动（30分）" in headers and "重点工作配合（20分）" in headers
    assert not {"practice", "pairing", "information", "cooperation"} & set(headers), headers


async def test_evidence_pack_prints_and_exports_one_units_year(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    from tests.api.test_console import console_login

    unit = data.unit("县图书馆")
    day = datetime.now(settings.tz).date().replace(day=1)
    report = data.report("图书馆开展全民阅读文明实践活动", unit=unit, day=day, photos=1)
    data.report("别的单位的报送", unit=data.unit("县档案馆"), day=day)
    await console_login(client, "viewer")
    page = await client.get(f"/units/{unit.id}/evidence?year={day.year}")
    assert page.status_code == 200
    assert "得分说明" in page.text and "图书馆开展全民阅读文明实践活动" in page.text
    assert f'href="/reports/{report.id}"' in page.text and "/api/v1/media/" in page.text
    assert "别的单位的报送" not in page.text
    book = await client.get(f"/units/{unit.id}/evidence.xlsx?year={day.year}")
    wb = load_workbook(io.BytesIO(book.content))
    assert wb.sheetnames == ["得分说明", "报送明细"]
    assert [c.value for c in wb["报送明细"][3]][1:3] == ["文明实践", "图书馆开展全民阅读文明实践活动"]
    assert "常态化开展文明实践活动" in [c.value for c in wb["得分说明"]["A"]]
