"""Issue 15: clicks with consequences are previewed, confirmed or undoable; each listed bug has its test here."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import Session

from ingest.models import Member, Report
from tests.api.conftest import Data, Staff
from tests.api.test_console import _hidden, console_login, csrf_of
from wenming.settings import Settings

pytestmark = pytest.mark.anyio
TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"


def _htmx(csrf: str) -> dict[str, str]:
    return {"HX-Request": "true", "X-CSRF-Token": csrf}


def test_no_template_uses_inline_script_the_csp_would_block() -> None:
    """The 作废 confirmation and 返回上一页 did nothing: inline handlers and javascript: URLs are blocked."""
    for path in TEMPLATES.glob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\son[a-z]+=|javascript:", text), path.name
    assert 'data-confirm="确定作废这条记录' in (TEMPLATES / "records.html").read_text(encoding="utf-8")
    assert "data-back" in (TEMPLATES / "error.html").read_text(encoding="utf-8")
    assert 'action="/system/train" class="inline" data-confirm=' in (TEMPLATES / "system.html").read_text("utf-8")


async def test_remember_sender_previews_the_count_and_can_be_undone(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    unit = data.unit("县住建局")
    sender = data.member("住建小张")
    report = data.report("开展文明劝导志愿服务", sender=sender, status="needs_review")
    others = [data.report(f"住建局活动 {i}", sender=sender) for i in range(3)]
    await console_login(client, "reviewer")
    page = await client.get("/review")
    assert "记住发送人（将同时归入 3 条报送）" in page.text
    done = await client.post(
        f"/review/{report.id}/assign",
        data={"unit": "县住建局", "remember_sender": "true"},
        headers=_htmx(csrf_of(page.text)),
    )
    assert "同时归入 3 条报送" in done.text
    assert all(session.get(Report, o.id).unit_id == unit.id for o in others)  # type: ignore[union-attr]
    undo = re.search(r'hx-post="(/review/\d+/undo/\d+)"', done.text)
    assert undo, "the card offers 撤销 right after the assignment"
    undone = await client.post(undo.group(1), headers=_htmx(csrf_of(page.text)))
    assert undone.status_code == 200 and "已撤销这次归属" in undone.text
    assert session.get(Report, report.id).unit_id is None  # type: ignore[union-attr]
    assert all(session.get(Report, o.id).unit_id is None for o in others)  # type: ignore[union-attr]
    assert session.get(Member, sender.id).unit_id is None  # type: ignore[union-attr]
    audit = await client.get("/audit")
    assert "撤销了报送" in audit.text and "归入「县住建局」，并同时归入该发送人的 3 条报送" in audit.text


async def test_a_senders_assignment_can_be_removed(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    unit = data.unit("县水利局")
    sender = data.member("水利-老王", unit)
    await console_login(client, "reviewer")
    page = await client.get(f"/units/{unit.id}")
    assert f'action="/members/{sender.id}/unassign"' in page.text
    token = _hidden(page.text, "csrf_token")
    response = await client.post(f"/members/{sender.id}/unassign", data={"csrf_token": token})
    assert response.status_code == 303
    assert session.get(Member, sender.id).unit_id is None  # type: ignore[union-attr]
    assert "取消了发送人「水利-老王」的单位归属（原为「县水利局」）" in (await client.get("/audit")).text


async def test_review_count_follows_a_correction(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    unit = data.unit("县档案馆")
    first = data.report("档案馆开展活动", unit=unit, status="needs_review", confidence=0.3)
    data.report("档案馆又开展活动", unit=unit, status="needs_review", confidence=0.3)
    await console_login(client, "reviewer")
    page = await client.get("/review")
    assert "<span data-review-count>2</span>" in page.text
    response = await client.post(
        f"/review/{first.id}/relabel", data={"label": "practice"}, headers=_htmx(csrf_of(page.text))
    )
    assert json.loads(response.headers["HX-Trigger"]) == {"reviewCount": {"value": 1}}


async def test_review_card_saves_secondary_label_partner_and_reason(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    report = data.report(
        "与城东村结对开展志愿服务", unit=data.unit("县供电公司"), status="needs_review", confidence=0.4
    )
    await console_login(client, "reviewer")
    page = await client.get("/review")
    assert 'name="secondary"' in page.text and 'name="partner"' in page.text and 'name="reason"' in page.text
    form = {"label": "pairing", "secondary": ["volunteer", "pairing"], "partner": "城东村", "reason": "有结对村"}
    card = await client.post(f"/review/{report.id}/relabel", data=form, headers=_htmx(csrf_of(page.text)))
    assert 'value="volunteer" checked' in card.text and 'value="城东村"' in card.text  # shown as saved
    assert "+志愿服务" in card.text and "结对：城东村" in card.text
    detail = await client.get(f"/reports/{report.id}")
    assert "结对村（社区）" in detail.text and "城东村" in detail.text and "理由：有结对村" in detail.text
    assert "次要分类" in detail.text and "志愿服务" in detail.text


async def test_bulk_confirm_keeps_high_confidence_labels_only(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    unit = data.unit("县税务局")
    sure = data.report("税务局开展文明实践", unit=unit, status="needs_review", confidence=0.91)
    unsure = data.report("税务局发了个通知", unit=unit, status="needs_review", confidence=0.45)
    await console_login(client, "reviewer")
    page = await client.get("/review")
    assert "批量确认 1 条把握高的报送" in page.text
    response = await client.post("/review/confirm-high", data={"csrf_token": _hidden(page.text, "csrf_token")})
    assert "已确认 1 条" in (await client.get(response.headers["location"])).text
    assert session.get(Report, sure.id).status == "corrected"  # type: ignore[union-attr]
    assert session.get(Report, unsure.id).status == "needs_review"  # type: ignore[union-attr]


async def test_excel_button_downloads_the_table_chosen_not_the_one_shown(
    client: httpx.AsyncClient, staff: Staff
) -> None:
    await console_login(client, "viewer")
    page = await client.get("/leaderboards")
    assert 'formaction="/leaderboards/export"' in page.text
    response = await client.get("/leaderboards/export?board=quarterly&quarter=2026Q3&month=2026-12&format=xlsx")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/api/v1/exports/quarterly.xlsx?")
    assert "quarter=2026Q3" in response.headers["location"]


async def test_duplicate_alias_is_explained_on_the_form(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    data.unit("县市场监管局", aliases=["市场监管局"])
    other = data.unit("县交通运输局")
    await console_login(client, "reviewer")
    token = _hidden((await client.get(f"/units/{other.id}")).text, "csrf_token")
    form = {"csrf_token": token, "name": "县交通运输局", "aliases": "交通局，市场监管局", "honour_level": "county"}
    response = await client.post(f"/units/{other.id}", data=form)
    assert response.status_code == 409
    assert "名称或别名已被其他单位使用" in response.text and 'value="交通局，市场监管局"' in response.text
    assert "<h1>县交通运输局" in response.text  # the unit page, not a bare error page


async def test_record_form_keeps_what_was_typed_and_refuses_future_dates(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    data.unit("县团委")
    await console_login(client, "reviewer")
    token = _hidden((await client.get("/records")).text, "csrf_token")
    unknown = {"csrf_token": token, "unit": "县团伟", "occurred_on": "2026-10-09", "reason": "未按时报送材料"}
    response = await client.post("/records/criticism", data=unknown)
    assert response.status_code == 422 and "找不到该单位" in response.text
    assert 'value="县团伟"' in response.text and 'value="未按时报送材料"' in response.text
    future = (date.today() + timedelta(days=400)).isoformat()
    response = await client.post("/records/criticism", data=unknown | {"unit": "县团委", "occurred_on": future})
    assert response.status_code == 422 and "还没到" in response.text and "日期：" in response.text
    assert "occurred_on" not in response.text.split('name="occurred_on"')[0].split("flash error")[-1]


async def test_voiding_says_what_was_voided_in_words(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    data.unit("县城管局")
    await console_login(client, "reviewer")
    token = _hidden((await client.get("/records")).text, "csrf_token")
    form = {"csrf_token": token, "unit": "县城管局", "occurred_on": "2026-10-09", "reason": "门前三包不合格"}
    await client.post("/records/criticism", data=form)
    listing = (await client.get("/records")).text
    record_id = re.search(r'action="/records/criticism/(\d+)/void"', listing).group(1)  # type: ignore[union-attr]
    voided = await client.post(f"/records/criticism/{record_id}/void", data={"csrf_token": token, "reason": "录错"})
    text = (await client.get(voided.headers["location"])).text
    assert f"已作废通报批评记录 #{record_id}" in text and "criticism:" not in text
    audit = (await client.get("/audit")).text
    assert "录入了通报批评记录" in audit and "作废了通报批评记录" in audit


async def test_dashboard_and_leaderboards_open_on_the_latest_month_with_data(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    today = datetime.now(settings.tz).date()
    earlier = (today.replace(day=1) - timedelta(days=40)).replace(day=10)
    data.report("县图书馆开展阅读推广", unit=data.unit("县图书馆"), day=earlier)
    await console_login(client, "viewer")
    dashboard = await client.get("/")
    assert f"{today.month} 月还没有报送" in dashboard.text and f"{earlier.month} 月活跃度排名" in dashboard.text
    assert "县图书馆" in dashboard.text
    board = await client.get("/leaderboards")
    assert f'value="{earlier:%Y-%m}"' in board.text
    assert 'href="/unassigned"' in dashboard.text


async def test_the_demo_prints_the_docs_address_the_app_serves(client: httpx.AsyncClient) -> None:
    """The demo printed /docs (404); it must print the address the API documentation really has."""
    source = (Path(__file__).resolve().parents[2] / "wiring" / "cli" / "demo_live.py").read_text(encoding="utf-8")
    match = re.search(r"接口文档：http://\{host\}:\{port\}(\S+)", source)
    assert match, "the demo prints where the API documentation is"
    assert match.group(1) == "/api/v1/docs"
    assert (await client.get(match.group(1))).status_code != 404


async def test_a_month_only_a_few_units_reported_in_yet_opens_on_the_last_full_month(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings: Settings
) -> None:
    """On 2 December the demo showed December (2 units) although the data covered August to October."""
    today = datetime.now(settings.tz).date()
    earlier = (today.replace(day=1) - timedelta(days=40)).replace(day=10)
    units = [data.unit(f"县第{i}单位") for i in range(8)]
    for unit in units:
        data.report("开展文明实践活动", unit=unit, day=earlier)
    data.report("本月第一条报送", unit=units[0], day=today.replace(day=1))
    await console_login(client, "viewer")
    dashboard = (await client.get("/")).text
    assert f"{today.month} 月目前只有 1 个单位报送" in dashboard and f"{earlier.month} 月活跃度排名" in dashboard
    for unit in units[1:3]:
        data.report("本月又一条报送", unit=unit, day=today.replace(day=1))
    assert f"{today.month} 月活跃度排名" in (await client.get("/")).text  # a quarter of the units: this month
