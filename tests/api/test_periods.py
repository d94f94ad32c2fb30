"""Periods through the API, the signed unit page (isolation, expiry, 有异议) and the console pages 考核期/申诉."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from api import scores
from api.audit_scoring import SENTENCES
from tests.api.conftest import Data, Staff, error_of
from tests.api.test_console import console_login, csrf_of
from wenming.audit import AuditEntry
from wenming.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The test settings with unit links switched on."""
    return Settings(
        database_url="sqlite:///unused.db",
        data_dir=tmp_path / "data",
        media_dir=tmp_path / "media",
        unit_link_secret=SecretStr("s" * 40),
        public_url="https://wm.example.cn",
        _env_file=None,  # type: ignore[call-arg]
    )


def _today(settings: Settings) -> date:
    return datetime.now(settings.tz).date()


async def _link(client: httpx.AsyncClient, staff: Staff, unit_id: int) -> str:
    response = await client.post(f"/api/v1/units/{unit_id}/links", headers=staff.headers("reviewer"))
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    assert url.startswith(f"https://wm.example.cn/u/{unit_id}/")
    return url.removeprefix("https://wm.example.cn")


async def test_unit_page_shows_that_unit_only(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    mine, other = data.unit("县文旅局"), data.unit("县民宗局")
    report = data.report("文旅局开展文明旅游宣传志愿服务", unit=mine, day=_today(settings), photos=1)
    data.report("民宗局组织理论学习", unit=other, day=_today(settings), photos=1)
    path = await _link(client, staff, mine.id)
    page = await client.get(path)
    assert page.status_code == 200 and "县文旅局" in page.text and "文明旅游宣传" in page.text
    assert "县民宗局" not in page.text and "理论学习" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    thumb = re.search(rf'src="({re.escape(path)}/media/(\d+))"', page.text)
    assert thumb is not None and (await client.get(thumb.group(1))).headers["content-type"] == "image/jpeg"
    foreign_media = int(thumb.group(2)) + 1  # the other unit's photo, through this unit's link
    assert (await client.get(f"{path}/media/{foreign_media}")).status_code == 404
    token = path.rsplit("/", 1)[1]
    assert (await client.get(f"/u/{other.id}/{token}")).status_code == 404  # another unit's id
    expiry, signature = token.split(".")
    assert (await client.get(f"/u/{mine.id}/{int(expiry) + 1}.{signature}")).status_code == 404  # forged
    assert report.id  # the page lists it by number for the 有异议 form
    assert f"报送 #{report.id}" in page.text


async def test_appeal_from_the_unit_page_reaches_the_queue_and_its_resolution_shows(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    unit = data.unit("县残联")
    report = data.report("残联开展助残志愿服务", unit=unit, label="other", day=_today(settings))
    path = await _link(client, staff, unit.id)
    page = await client.get(path)
    form_token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert form_token is not None
    fields = {"target": "report", "subject": str(report.id), "wanted_label": "practice", "reason": "这是助残志愿服务"}
    refused = await client.post(f"{path}/appeal", data=fields | {"form_token": "forged"})
    assert refused.status_code == 403
    filed = await client.post(f"{path}/appeal", data=fields | {"form_token": form_token.group(1)})
    assert filed.status_code == 303
    queue = (await client.get("/api/v1/appeals?status=open", headers=staff.headers("viewer"))).json()
    assert [(a["unit_name"], a["report_id"]) for a in queue] == [("县残联", report.id)]
    resolved = await client.post(
        f"/api/v1/appeals/{queue[0]['id']}/resolve",
        json={"accept": True, "note": "核实为志愿服务"},
        headers=staff.headers("reviewer"),
    )
    assert resolved.status_code == 200 and resolved.json()["status"] == "accepted"
    shown = await client.get(path)
    assert "已采纳" in shown.text and "核实为志愿服务" in shown.text
    kinds = list(data.session.scalars(select(AuditEntry.kind).where(AuditEntry.kind.in_(["appeal", "classification"]))))
    assert sorted(kinds) == ["appeal", "appeal", "classification"]
    viewer = await client.post(
        f"/api/v1/appeals/{queue[0]['id']}/resolve",
        json={"accept": False, "note": "x"},
        headers=staff.headers("viewer"),
    )
    assert viewer.status_code == 403


async def test_links_need_the_secret(client: httpx.AsyncClient, staff: Staff, data: Data, app) -> None:  # type: ignore[no-untyped-def]
    unit = data.unit("县工商联")
    app.state.settings = app.state.settings.model_copy(update={"unit_link_secret": None})
    response = await client.post(f"/api/v1/units/{unit.id}/links", headers=staff.headers("reviewer"))
    assert "WENMING_UNIT_LINK_SECRET" in error_of(response)["message"]
    page = await client.get(f"/u/{unit.id}/1999999999.abcdef")
    assert page.status_code == 403 and "未启用" in page.text


async def test_close_publish_and_adjustment_through_the_api(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    a, b = data.unit("县商务局"), data.unit("县供销社")
    data.report("商务局开展文明实践活动", unit=a, day=date(2026, 10, 8))
    late = data.report("供销社开展助农志愿服务", unit=b, label="other", day=date(2026, 10, 9))
    writer = staff.headers("reviewer")
    closed = await client.post("/api/v1/periods/2026-10/close", json={"as_of": "2026-11-02"}, headers=writer)
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    assert (await client.post("/api/v1/periods/2026-10/close", json={}, headers=writer)).status_code == 409
    assert (
        await client.post("/api/v1/periods/2026-10/publish", json={}, headers=staff.headers("viewer"))
    ).status_code == 403
    published = await client.post("/api/v1/periods/2026-10/publish", json={}, headers=writer)
    assert published.json()["state_zh"] == "已公布"
    relabel = await client.patch(
        f"/api/v1/reports/{late.id}/classification",
        json={"label": "practice", "reason": "实为志愿服务"},
        headers=writer,
    )
    assert relabel.status_code == 200, relabel.text
    result = (await client.get("/api/v1/periods/2026-10/result", headers=staff.headers("viewer"))).json()
    row = next(r for r in result["rows"] if r["unit_id"] == b.id)
    assert row["published"] == 0 and row["adjustment"].startswith("现为 ") and result["adjusted"] == 1
    csv = await client.get("/api/v1/exports/monthly.csv?month=2026-10", headers=staff.headers("viewer"))
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[2].split(",")[1] == "县商务局" and lines[3].split(",")[-2] == "0.0"  # the published liveliness


async def test_console_period_and_appeal_pages(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    data.unit("县人防办")
    await console_login(client, "reviewer")
    page = await client.get("/periods")
    assert page.status_code == 200 and "关账" in page.text and "还没有关账的考核期" in page.text
    csrf = csrf_of(page.text)
    today = _today(settings)
    month = f"{today.year}-{today.month:02d}"
    early = await client.post("/periods/close", data={"period": month, "csrf_token": csrf})
    assert early.status_code == 422 and "尚未结束" in early.text
    closed = await client.post("/periods/close", data={"period": "2026-10", "csrf_token": csrf})
    assert closed.status_code == 303
    shown = await client.get(closed.headers["location"])
    assert "2026年10月已关账" in shown.text and "确认公布" in shown.text
    appeals_page = await client.get("/appeals")
    assert appeals_page.status_code == 200 and "没有待处理的申诉" in appeals_page.text
    dashboard = await client.get("/")
    assert "预计" in dashboard.text or "暂无低于预警线的单位" in dashboard.text


def test_demo_shaped_dashboard_on_2_december_shows_no_warning_without_caveat(data: Data, settings: Settings) -> None:
    """Data only from August, the year not closed: every at-risk row is a labelled projection."""
    units = [data.unit(f"演示单位{i}") for i in range(4)]
    for month in (8, 9, 10):
        for unit in units[:2]:
            data.report("开展文明实践活动", unit=unit, day=date(2026, month, 5))
    office = settings.model_copy(update={"scoring_start": "2026-08"})
    board = scores.dashboard(data.session, office, date(2026, 12, 2))
    assert board["at_risk"] and all(row["note"].startswith("预计") for row in board["at_risk"])
    assert "尚未关账" in board["at_risk_caveat"] and "2026年8—12月" in board["at_risk_caveat"]


class _Names:
    """What the audit page's lookup offers the sentences: unit names by id."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names

    def unit(self, unit_id: object) -> str:
        return self.names.get(int(str(unit_id)), f"单位 {unit_id}")


async def test_audit_sentences_for_periods_appeals_links_and_coverage(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    unit = data.unit("县信访局")
    report = data.report("信访局开展志愿服务", unit=unit, label="other", day=_today(settings))
    writer = staff.headers("reviewer")
    await client.put(f"/api/v1/units/{unit.id}/scoring-start", json={"month": "2026-09"}, headers=writer)
    await client.post("/api/v1/periods/2026-10/close", json={}, headers=writer)
    await client.post("/api/v1/periods/2026-10/publish", json={}, headers=writer)
    await client.post("/api/v1/periods/2026-10/reopen", json={"reason": "补录"}, headers=writer)
    await _link(client, staff, unit.id)
    filed = await client.post(
        "/api/v1/appeals",
        json={"unit_id": unit.id, "target": "report", "report_id": report.id, "reason": "电话反映分类有误"},
        headers=writer,
    )
    await client.post(
        f"/api/v1/appeals/{filed.json()['id']}/resolve", json={"accept": False, "note": "分类无误"}, headers=writer
    )
    entries = data.session.scalars(
        select(AuditEntry).where(AuditEntry.kind.in_(list(SENTENCES))).order_by(AuditEntry.id)
    )
    lines = [SENTENCES[e.kind](e, "郑书洋", _Names({unit.id: unit.name})) for e in entries]
    assert lines[0] == "郑书洋 将 县信访局 的计分起始月份设为 2026-09"
    assert lines[1:4] == [
        "郑书洋 关账了考核期 2026年10月",
        "郑书洋 公布了考核期 2026年10月",
        "郑书洋 重开了考核期 2026年10月（原因：补录）",
    ]
    assert lines[4].startswith("郑书洋 生成了 县信访局 的查看链接")
    assert lines[5].startswith("郑书洋 为 县信访局 提交了申诉")
    assert lines[6] == f"郑书洋 已驳回申诉 #{filed.json()['id']}：分类无误"
