"""The server-rendered console: login form, pages, htmx relabel/assign with CSRF, roles."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import Member, Report
from tests.api.conftest import PASSWORD, Data, Staff
from wenming.audit import AuditEntry

pytestmark = pytest.mark.anyio


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


async def console_login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> httpx.Response:
    page = await client.get("/login?next=/review")
    return await client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": _hidden(page.text, "csrf_token"),
            "next": "/review",
        },
    )


def csrf_of(html: str) -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert match, "page carries no CSRF header for htmx"
    return match.group(1)


async def test_pages_redirect_to_login_and_back(client: httpx.AsyncClient, staff: Staff) -> None:
    response = await client.get("/review")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=%2Freview"
    login = await console_login(client, "reviewer")
    assert login.status_code == 303 and login.headers["location"] == "/review"
    page = await client.get("/review")
    assert page.status_code == 200 and "待审核" in page.text


async def test_login_form_rejects_wrong_password_in_chinese(client: httpx.AsyncClient, staff: Staff) -> None:
    response = await console_login(client, "reviewer", "wrong-password")
    assert response.status_code == 401 and "用户名或密码错误" in response.text


async def test_login_form_needs_its_csrf_cookie(client: httpx.AsyncClient, staff: Staff) -> None:
    response = await client.post("/login", data={"username": "reviewer", "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 401 and "页面已过期" in response.text


async def test_login_never_redirects_off_site(client: httpx.AsyncClient, staff: Staff) -> None:
    page = await client.get("/login?next=//evil.example/")
    assert _hidden(page.text, "next") == "/"


async def test_every_page_renders_for_a_viewer(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    unit = data.unit("县档案馆", aliases=["档案馆"])
    report = data.report("档案馆开展文明实践活动", unit=unit, photos=1, status="needs_review", confidence=0.3)
    await console_login(client, "viewer")
    for path, expected in [
        ("/", "月报送"),
        ("/review", "档案馆开展文明实践活动"),
        ("/units", "县档案馆"),
        (f"/units/{unit.id}", "报送时间线"),
        ("/reports?q=档案", "档案馆开展文明实践活动"),
        (f"/reports/{report.id}", "修改记录"),
        ("/audit", "审计日志"),
        ("/leaderboards", "活跃度排名"),
        ("/leaderboards?board=quarterly", "合计"),
        ("/leaderboards?board=annual", "年度得分"),
        ("/leaderboards?rubric=xixiang-2022&board=quarterly", "合计"),
        ("/leaderboards?rubric=xixiang-2022&board=annual", "年度得分"),
        ("/records", "台账录入"),
        ("/messages", "没有符合条件的消息"),
        ("/messages?status=ignored&reason=staff&date_from=2026-10-13&date_to=2026-10-01", "不成报送"),
    ]:
        page = await client.get(path)
        assert page.status_code == 200, path
        assert expected in page.text, path
        assert 'name="viewport"' in page.text
    review = await client.get("/review")
    assert "frame-ancestors 'none'" in review.headers["content-security-policy"]
    assert "/api/v1/media/" in review.text and "size=thumb" in review.text
    assert "hx-post" not in review.text  # a viewer sees no write buttons


async def test_withdrawn_report_shows_its_badge_and_has_a_status_filter(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    report = data.report("县档案馆开展志愿服务（发错了）", status="withdrawn")
    await console_login(client, "viewer")
    listed = await client.get("/reports?status=withdrawn")
    assert "县档案馆开展志愿服务（发错了）" in listed.text and 'class="badge warn"' in listed.text
    assert '<option value="withdrawn" selected>已撤回</option>' in listed.text
    detail = await client.get(f"/reports/{report.id}")
    assert ">已撤回</span>" in detail.text
    assert "县档案馆开展志愿服务" not in (await client.get("/review")).text


async def test_relabel_from_the_queue_with_htmx(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    report = data.report("组织职工到社区开展清洁家园", status="needs_review", confidence=0.45, label="practice")
    await console_login(client, "reviewer")
    page = await client.get("/review")
    assert f'hx-post="/review/{report.id}/relabel"' in page.text
    response = await client.post(
        f"/review/{report.id}/relabel",
        data={"label": "volunteer"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(page.text)},
    )
    assert response.status_code == 200
    assert "已改为「志愿服务」" in response.text and f'id="report-{report.id}"' in response.text
    assert session.get(Report, report.id).label == "volunteer"  # type: ignore[union-attr]
    correction = session.scalars(select(AuditEntry).where(AuditEntry.report_id == report.id)).one()
    assert correction.actor == "staff:reviewer" and correction.reason == "控制台审核"


async def test_console_writes_without_csrf_are_refused(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    report = data.report("活动", status="needs_review", confidence=0.3)
    await console_login(client, "reviewer")
    response = await client.post(f"/review/{report.id}/relabel", data={"label": "news"}, headers={"HX-Request": "true"})
    assert response.status_code == 403 and "CSRF" in response.text
    assert session.get(Report, report.id).label == "practice"  # type: ignore[union-attr]


async def test_viewer_cannot_relabel_from_the_console(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    report = data.report("活动", status="needs_review", confidence=0.3)
    await console_login(client, "viewer")
    page = await client.get("/")
    response = await client.post(
        f"/review/{report.id}/relabel", data={"label": "news"}, headers={"X-CSRF-Token": csrf_of(page.text)}
    )
    assert response.status_code == 403 and "只读" in response.text
    assert session.get(Report, report.id).label == "practice"  # type: ignore[union-attr]


async def test_assign_by_unit_name_or_alias_and_remember_sender(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    unit = data.unit("县住建局", aliases=["住建局"])
    sender = data.member("住建小张")
    report = data.report("开展文明劝导志愿服务", sender=sender, label="volunteer")
    await console_login(client, "reviewer")
    csrf = csrf_of((await client.get("/review")).text)
    unknown = await client.post(
        f"/review/{report.id}/assign",
        data={"unit": "不存在的局"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert unknown.status_code == 422 and "找不到单位" in unknown.text
    response = await client.post(
        f"/review/{report.id}/assign",
        data={"unit": "住建局", "remember_sender": "true"},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf},
    )
    assert response.status_code == 200 and "已归入「县住建局」，并记住发送人" in response.text
    assert session.get(Report, report.id).unit_id == unit.id  # type: ignore[union-attr]
    assert session.get(Member, sender.id).unit_id == unit.id  # type: ignore[union-attr]


async def test_unit_form_saves_with_the_form_csrf_field(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    unit = data.unit("县体育中心")
    await console_login(client, "reviewer")
    page = await client.get(f"/units/{unit.id}")
    token = _hidden(page.text, "csrf_token")
    form = {
        "csrf_token": token,
        "name": "县体育中心",
        "aliases": "体育中心，体育馆",
        "honour_level": "city",
        "headcount": "35",
        "active": "true",
    }
    saved = await client.post(f"/units/{unit.id}", data=form)
    assert saved.status_code == 303
    page = await client.get(saved.headers["location"])
    assert "已保存" in page.text and "体育中心，体育馆" in page.text and "市级文明单位" in page.text


async def test_logout_from_the_console(client: httpx.AsyncClient, staff: Staff) -> None:
    await console_login(client, "viewer")
    page = await client.get("/")
    out = await client.post("/logout", data={"csrf_token": _hidden(page.text, "csrf_token")})
    assert out.status_code == 303
    assert (await client.get("/")).status_code == 303


async def test_dashboard_charts_this_months_ranking(
    client: httpx.AsyncClient, staff: Staff, data: Data, settings
) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    first = datetime.now(settings.tz).date().replace(day=1)
    unit = data.unit("县妇幼保健院")
    data.report("开展文明实践活动", unit=unit, day=first, photos=1)
    await console_login(client, "viewer")
    page = await client.get("/")
    assert '<ol class="chart"' in page.text and "县妇幼保健院" in page.text
    assert "预警单位" in page.text


async def test_records_form_enters_a_criticism_and_voids_it(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    data.unit("县城管局", aliases=["城管局"])
    await console_login(client, "reviewer")
    page = await client.get("/records")
    token = _hidden(page.text, "csrf_token")
    form = {"csrf_token": token, "unit": "城管局", "occurred_on": "2026-10-09", "reason": "门前三包检查不合格"}
    saved = await client.post("/records/criticism", data=form)
    assert saved.status_code == 303
    listing = await client.get(saved.headers["location"])
    assert "已保存：县城管局" in listing.text and "门前三包检查不合格" in listing.text
    match = re.search(r'action="/records/criticism/(\d+)/void"', listing.text)
    assert match
    voided = await client.post(
        f"/records/criticism/{match.group(1)}/void", data={"csrf_token": token, "reason": "录错"}
    )
    assert voided.status_code == 303
    assert "门前三包检查不合格" not in (await client.get("/records")).text


async def test_records_form_explains_what_is_wrong(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    data.unit("县团委")
    await console_login(client, "reviewer")
    token = _hidden((await client.get("/records")).text, "csrf_token")
    form = {
        "csrf_token": token,
        "unit": "县团委",
        "kind": "research_visit",
        "occurred_on": "2026-10-09",
        "reason": "调研",
    }
    response = await client.post("/records/adjustment", data=form)
    assert response.status_code == 422 and "级别" in response.text


async def test_messages_page_promotes_and_report_page_demotes(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    """消息: find a reply by reason and unit, promote it; then demote the report again — both audited."""
    unit = data.unit("县档案馆", aliases=["档案馆"])
    sender = data.member("档案馆-小陈", unit)
    data.message("收到", sender=sender, reason="ack")
    kept = data.message("档案馆今天整理了志愿者名册", sender=sender, reason="question")
    data.message("[动画表情]", sender=sender, kind="sticker", reason="sticker")
    await console_login(client, "reviewer")
    page = await client.get(f"/messages?unit_id={unit.id}&reason=question")
    assert page.status_code == 200 and "档案馆今天整理了志愿者名册" in page.text and "共 1 条" in page.text
    assert page.text.count("转为报送</button>") == 1
    unit_page = await client.get(f"/units/{unit.id}")
    assert "另有" in unit_page.text and "3 条消息" in unit_page.text  # shown apart from the reports
    token = _hidden(page.text, "csrf_token")
    promoted = await client.post(f"/messages/{kept.id}/promote", data={"csrf_token": token, "reason": "是活动"})
    assert promoted.status_code == 303 and promoted.headers["location"].endswith("?saved=promoted")
    report_page = await client.get(promoted.headers["location"])
    assert "已由消息转为报送" in report_page.text and "改为消息" in report_page.text
    report = session.scalars(select(Report).where(Report.text == "档案馆今天整理了志愿者名册")).one()
    assert report.unit_id == unit.id and report.label is not None
    demoted = await client.post(f"/reports/{report.id}/demote", data={"csrf_token": token, "reason": "不是活动"})
    assert demoted.status_code == 303
    listing = await client.get(demoted.headers["location"])
    assert "已改为消息" in listing.text and "档案馆今天整理了志愿者名册" in listing.text
    assert session.scalars(select(Report).where(Report.id == report.id)).first() is None
    kinds = session.scalars(select(AuditEntry.kind).order_by(AuditEntry.id)).all()
    assert kinds[-2:] == ["message_promoted", "report_demoted"]
    audit_page = await client.get("/audit")
    assert "消息转为报送" in audit_page.text and "报送改为消息" in audit_page.text


async def test_a_viewer_cannot_promote_or_demote(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    kept = data.message("收到")
    report = data.report("县档案馆开展文明实践活动")
    await console_login(client, "viewer")
    page = await client.get("/messages")
    assert 'class="clip">收到' in page.text and "转为报送</button>" not in page.text
    token = csrf_of(page.text)
    refused = await client.post(f"/messages/{kept.id}/promote", data={"csrf_token": token})
    assert refused.status_code == 403
    refused = await client.post(f"/reports/{report.id}/demote", data={"csrf_token": token})
    assert refused.status_code == 403
