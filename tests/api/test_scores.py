"""Leaderboards, explained scores, exports (.xlsx in the 附件3 layout, .csv) and staff records."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import httpx
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from ingest.models import Unit
from tests.api.conftest import Data, Staff, error_of
from wenming.settings import Settings

pytestmark = pytest.mark.anyio


def _this_month(settings: Settings) -> date:
    return datetime.now(settings.tz).date().replace(day=1)


def _two_units(data: Data, settings: Settings) -> tuple[int, int]:
    """A steady unit (practice on four days) and a quieter one (two days)."""
    first = _this_month(settings)
    steady = data.unit("县税务局")
    quiet = data.unit("县气象局")
    for d in (1, 2, 3, 4):
        data.report("开展文明实践活动", unit=steady, day=first.replace(day=d))
    for d in (1, 2):
        data.report("开展理论宣讲", unit=quiet, day=first.replace(day=d))
    return steady.id, quiet.id


async def test_monthly_leaderboard_ranks_by_liveliness(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    steady, quiet = _two_units(data, settings)
    month = _this_month(settings).strftime("%Y-%m")
    body = (await client.get(f"/api/v1/leaderboards/monthly?month={month}", headers=staff.headers("viewer"))).json()
    assert body["rubric"] == "changxing-2020" and "活跃度" in body["formula"]
    order = [r["unit_id"] for r in body["rows"]]
    assert order.index(steady) < order.index(quiet)
    assert body["rows"][0]["rank"] == 1


async def test_a_relabel_through_the_api_moves_the_ranking(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    steady, quiet = _two_units(data, settings)
    first = _this_month(settings)
    quiet_unit = data.session.get(Unit, quiet)
    extra = [
        data.report(
            "志愿者清洁家园",
            unit=quiet_unit,
            label="news",
            status="needs_review",
            confidence=0.3,
            day=first.replace(day=d),
        )
        for d in (5, 6, 7)
    ]
    month = first.strftime("%Y-%m")
    h = staff.headers("reviewer")

    async def position(unit_id: int) -> int:
        rows = (await client.get(f"/api/v1/leaderboards/monthly?month={month}", headers=h)).json()["rows"]
        return next(r["rank"] for r in rows if r["unit_id"] == unit_id)

    assert await position(quiet) > await position(steady)
    for report in extra:
        response = await client.patch(
            f"/api/v1/reports/{report.id}/classification", json={"label": "volunteer", "reason": "志愿服务"}, headers=h
        )
        assert response.status_code == 200
    assert await position(quiet) < await position(steady)


async def test_quarterly_table_and_xlsx_export_in_the_attachment_3_layout(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    _two_units(data, settings)
    today = datetime.now(settings.tz).date()
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    h = staff.headers("viewer")
    table = (await client.get(f"/api/v1/leaderboards/quarterly?quarter={quarter}", headers=h)).json()
    assert [c["title"] for c in table["columns"]] == [
        "常态化开展文明实践活动",
        "开展结对共建活动",
        "信息材料报送",
        "重点工作配合",
    ]
    response = await client.get(f"/api/v1/exports/quarterly.xlsx?quarter={quarter}", headers=h)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(response.content)).active
    assert "季度" in ws["A1"].value and ws["A1"].font.bold
    assert [str(r) for r in ws.merged_cells.ranges] == [f"A1:{get_column_letter(ws.max_column)}1"]
    headers = [c.value for c in ws[2]]
    assert headers[0] == "季度排名" and headers[1] == "单位" and headers[-1] == "合计"
    assert headers[2] == "常态化开展文明实践活动（30分）"
    assert ws.column_dimensions["B"].width >= 30
    names = [ws.cell(row=r, column=2).value for r in range(3, ws.max_row + 1)]
    assert {"县税务局", "县气象局"} <= set(names)
    first_total = ws.cell(row=3, column=ws.max_column).value
    assert first_total == table["rows"][0]["total"]


async def test_csv_export_opens_in_excel_with_chinese(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    _two_units(data, settings)
    month = _this_month(settings).strftime("%Y-%m")
    response = await client.get(f"/api/v1/exports/monthly.csv?month={month}", headers=staff.headers("viewer"))
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert "活跃度排名" in rows[0][0]
    assert rows[1][:2] == ["排名", "单位"] and rows[2][1] == "县税务局"


async def test_annual_scores_flag_units_under_the_line(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    _two_units(data, settings)
    year = datetime.now(settings.tz).year
    body = (await client.get(f"/api/v1/leaderboards/annual?year={year}", headers=staff.headers("viewer"))).json()
    assert body["year"] == year and body["rows"]
    assert all(row["warning"] == (row["score"] < 70) for row in body["rows"])
    xlsx = await client.get(f"/api/v1/exports/annual.xlsx?year={year}", headers=staff.headers("viewer"))
    assert xlsx.status_code == 200


async def test_unit_score_is_explained_line_by_line(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    steady, _ = _two_units(data, settings)
    body = (await client.get(f"/api/v1/units/{steady}/score", headers=staff.headers("viewer"))).json()
    assert [i["key"] for i in body["items"]][:2] == ["practice", "pairing"]
    assert any("次" in line for line in body["items"][0]["lines"])
    assert (await client.get("/api/v1/units/999999/score", headers=staff.headers("viewer"))).status_code == 404


async def test_bad_periods_and_unknown_rubrics_are_clear_errors(client: httpx.AsyncClient, staff: Staff) -> None:
    h = staff.headers("viewer")
    bad_month = await client.get("/api/v1/leaderboards/monthly?month=2026-13", headers=h)
    assert bad_month.status_code == 422 and "YYYY-MM" in error_of(bad_month)["message"]
    bad_quarter = await client.get("/api/v1/leaderboards/quarterly?quarter=2026Q5", headers=h)
    assert bad_quarter.status_code == 422
    unknown = await client.get("/api/v1/leaderboards/monthly?rubric=nowhere-1999", headers=h)
    assert unknown.status_code == 404 and "changxing-2020" in error_of(unknown)["message"]
    rubrics = (await client.get("/api/v1/rubrics", headers=h)).json()
    assert {r["name"] for r in rubrics} >= {"changxing-2020", "xixiang-2022"}


async def test_a_criticism_costs_five_points_until_it_is_voided(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings, session: Session
) -> None:
    steady, _ = _two_units(data, settings)
    today = datetime.now(settings.tz).date()
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"
    h = staff.headers("reviewer")

    async def cooperation() -> float:
        rows = (await client.get(f"/api/v1/leaderboards/quarterly?quarter={quarter}", headers=h)).json()["rows"]
        return next(r["items"]["cooperation"] for r in rows if r["unit_id"] == steady)

    assert await cooperation() == 20
    created = await client.post(
        "/api/v1/records/criticisms",
        json={"unit_id": steady, "occurred_on": str(today), "reason": "督查通报：活动台账不全"},
        headers=h,
    )
    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == "staff:reviewer"
    assert await cooperation() == 15
    listed = (await client.get(f"/api/v1/records?unit_id={steady}", headers=h)).json()
    assert listed["total"] == 1 and "通报批评" in listed["items"][0]["summary"]
    record_id = created.json()["id"]
    voided = await client.post(f"/api/v1/records/criticism/{record_id}/void", json={"reason": "重复录入"}, headers=h)
    assert voided.status_code == 200
    assert await cooperation() == 20
    again = await client.post(f"/api/v1/records/criticism/{record_id}/void", json={"reason": "再次"}, headers=h)
    assert again.status_code == 409


async def test_record_rules_from_scoring_are_422_in_chinese(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    unit = data.unit("县教育局")
    h = staff.headers("reviewer")
    bonus_without_level = await client.post(
        "/api/v1/records/bonuses",
        json={"unit_id": unit.id, "kind": "research_visit", "occurred_on": "2026-10-01", "reason": "调研"},
        headers=h,
    )
    assert bonus_without_level.status_code == 422 and "级别" in error_of(bonus_without_level)["message"]
    too_many_active = await client.post(
        "/api/v1/records/volunteer-stats",
        json={"unit_id": unit.id, "year": 2026, "quarter": 4, "headcount": 50, "registered": 10, "active": 20},
        headers=h,
    )
    assert too_many_active.status_code == 422
    no_unit = await client.post(
        "/api/v1/records/criticisms", json={"unit_id": 99999, "occurred_on": "2026-10-01", "reason": "x"}, headers=h
    )
    assert no_unit.status_code == 422


async def test_exports_survive_control_characters_in_names_from_chat(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    unit = data.unit("县\x07供水公司")
    data.report("开展文明实践活动", unit=unit, day=_this_month(settings))
    month = _this_month(settings).strftime("%Y-%m")
    response = await client.get(f"/api/v1/exports/monthly.xlsx?month={month}", headers=staff.headers("viewer"))
    assert response.status_code == 200
    names = [c.value for c in load_workbook(io.BytesIO(response.content)).active["B"]]
    assert "县供水公司" in names
    typed = await client.post("/api/v1/units", json={"name": "县\x07水务局"}, headers=staff.headers("reviewer"))
    assert typed.status_code == 422


@pytest.mark.parametrize("board", ["monthly.xlsx", "quarterly.xlsx", "annual.xlsx", "quarterly.csv"])
async def test_xixiang_exports(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings, board: str
) -> None:
    _two_units(data, settings)
    response = await client.get(f"/api/v1/exports/{board}?rubric=xixiang-2022", headers=staff.headers("viewer"))
    assert response.status_code == 200, response.text
    if board.endswith(".xlsx"):
        ws = load_workbook(io.BytesIO(response.content)).active
        assert ws["A2"].value in ("排名", "季度排名") and ws.max_row >= 4


async def test_a_board_comes_with_an_etag_and_an_unchanged_board_is_not_sent_again(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    _steady, quiet = _two_units(data, settings)
    month = _this_month(settings).strftime("%Y-%m")
    h = staff.headers("reviewer")
    url = f"/api/v1/leaderboards/monthly?month={month}"
    first = await client.get(url, headers=h)
    etag = first.headers["etag"]
    again = await client.get(url, headers=h | {"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag

    report = data.report("志愿者清洁家园", unit=data.session.get(Unit, quiet), label="news", day=_this_month(settings))
    relabel = {"label": "volunteer", "reason": "志愿服务"}
    relabelled = await client.patch(f"/api/v1/reports/{report.id}/classification", json=relabel, headers=h)
    assert relabelled.status_code == 200
    changed = await client.get(url, headers=h | {"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["rows"] != first.json()["rows"]
