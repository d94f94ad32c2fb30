"""Units, groups, members, reports, photos, the review queue, corrections and the audit log."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier.models import Classification, ReportTag
from ingest.models import Media, Member, Report, Unit
from tests.api.conftest import Data, Staff, error_of
from wenming.audit import AuditEntry
from wenming.settings import Settings

pytestmark = pytest.mark.anyio


# --- units -----------------------------------------------------------------------------------------


async def test_unit_crud_with_aliases_honour_level_and_headcount(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    h = staff.headers("reviewer")
    created = await client.post(
        "/api/v1/units",
        json={
            "name": "县市场监管局",
            "aliases": ["市场监管局", " 监管局 "],
            "honour_level": "省",
            "headcount": 80,
        },
        headers=h,
    )
    assert created.status_code == 201, created.text
    unit = created.json()
    assert unit["aliases"] == ["市场监管局", "监管局"]
    assert unit["honour_level"] == "provincial" and unit["honour_level_zh"] == "省"
    patched = await client.patch(
        f"/api/v1/units/{unit['id']}", json={"headcount": 85, "aliases": ["市监局"]}, headers=h
    )
    assert patched.json()["headcount"] == 85 and patched.json()["aliases"] == ["市监局"]
    assert (await client.get(f"/api/v1/units/{unit['id']}", headers=h)).json()["name"] == "县市场监管局"
    audit = session.scalars(select(AuditEntry).where(AuditEntry.kind == "unit")).all()
    assert [a.after.get("headcount") for a in audit] == [80, 85]
    assert (await client.delete(f"/api/v1/units/{unit['id']}", headers=h)).status_code == 204
    missing = await client.get(f"/api/v1/units/{unit['id']}", headers=h)
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"


async def test_unit_names_and_aliases_must_be_unique(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    data.unit("县教育局", aliases=["教育局"])
    h = staff.headers("reviewer")
    clash = await client.post("/api/v1/units", json={"name": "教育局"}, headers=h)
    assert clash.status_code == 409
    assert "教育局" in error_of(clash)["message"]
    other = await client.post("/api/v1/units", json={"name": "县卫健局"}, headers=h)
    clash2 = await client.patch(f"/api/v1/units/{other.json()['id']}", json={"aliases": ["县教育局"]}, headers=h)
    assert clash2.status_code == 409


async def test_a_unit_with_reports_cannot_be_deleted_only_deactivated(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    unit = data.unit("县人民医院")
    data.report("开展义诊活动", unit=unit)
    h = staff.headers("reviewer")
    refused = await client.delete(f"/api/v1/units/{unit.id}", headers=h)
    assert refused.status_code == 409 and "停用" in error_of(refused)["message"]
    assert (await client.patch(f"/api/v1/units/{unit.id}", json={"active": False}, headers=h)).json()["active"] is False


async def test_unit_list_filters_and_pages(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    for i in range(7):
        data.unit(f"第{i}中学", honour_level="city" if i % 2 else "county", category="学校")
    data.unit("县供电公司", aliases=["供电所"], category="企业")
    h = staff.headers("viewer")
    page = (await client.get("/api/v1/units?page=2&page_size=3&category=学校", headers=h)).json()
    assert page["total"] == 7 and page["page"] == 2 and len(page["items"]) == 3
    city = (await client.get("/api/v1/units?honour_level=city", headers=h)).json()
    assert city["total"] == 3
    by_alias = (await client.get("/api/v1/units?q=供电所", headers=h)).json()
    assert [u["name"] for u in by_alias["items"]] == ["县供电公司"]
    literal = (await client.get("/api/v1/units?q=%25", headers=h)).json()
    assert literal["total"] == 0  # a % typed by the user is text, not a wildcard


async def test_validation_errors_are_422_in_the_error_shape(client: httpx.AsyncClient, staff: Staff) -> None:
    h = staff.headers("reviewer")
    response = await client.post("/api/v1/units", json={"name": "", "headcount": -1}, headers=h)
    assert response.status_code == 422
    err = error_of(response)
    assert err["code"] == "validation_error"
    assert {tuple(d["loc"]) for d in err["details"]} >= {("body", "headcount")}
    bad_page = await client.get("/api/v1/units?page_size=1000", headers=h)
    assert bad_page.status_code == 422
    bad_range = await client.get("/api/v1/reports?date_from=2026-10-31&date_to=2026-10-01", headers=h)
    assert bad_range.status_code == 400 and error_of(bad_range)["code"] == "bad_request"


# --- groups and members ----------------------------------------------------------------------------


async def test_groups_list_with_report_counts_and_rename(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    data.report("活动一")
    data.report("活动二")
    listed = (await client.get("/api/v1/groups", headers=staff.headers("viewer"))).json()
    assert listed["items"][0]["report_count"] == 2
    gid = listed["items"][0]["id"]
    renamed = await client.patch(
        f"/api/v1/groups/{gid}", json={"name": "县文明单位群"}, headers=staff.headers("reviewer")
    )
    assert renamed.json()["name"] == "县文明单位群"


async def test_member_assignment_goes_through_ingest_and_keeps_history(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    unit_a = data.unit("县交通局")
    unit_b = data.unit("县水利局")
    member = data.member("小李")
    h = staff.headers("reviewer")
    unassigned = (await client.get("/api/v1/members?unassigned=true", headers=h)).json()
    assert member.id in [m["id"] for m in unassigned["items"]]
    first = await client.patch(
        f"/api/v1/members/{member.id}", json={"unit_id": unit_a.id, "reason": "本人确认"}, headers=h
    )
    assert first.status_code == 200 and first.json()["unit_name"] == "县交通局"
    second = await client.patch(f"/api/v1/members/{member.id}", json={"unit_id": unit_b.id}, headers=h)
    history = second.json()["unit_history"]
    assert [c["after"]["unit_id"] for c in history] == [unit_b.id, unit_a.id]
    assert history[-1]["reason"] == "本人确认" and history[0]["actor"] == "staff:reviewer"
    assert session.get(Member, member.id).unit_id == unit_b.id  # type: ignore[union-attr]
    missing_unit = await client.patch(f"/api/v1/members/{member.id}", json={"unit_id": 99999}, headers=h)
    assert missing_unit.status_code == 422


# --- reports, photos, review -----------------------------------------------------------------------


async def test_report_filters(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    school = data.unit("县实验小学")
    data.report("开展文明礼仪进校园活动", unit=school, label="practice", day=date(2026, 10, 3))
    data.report("与城南社区结对共建", unit=school, label="pairing", day=date(2026, 10, 20))
    data.report("收到", label="other", day=date(2026, 10, 21))
    data.report("志愿者清洁家园", label="volunteer", status="needs_review", confidence=0.4, day=date(2026, 11, 2))
    h = staff.headers("viewer")

    async def ids(query: str) -> int:
        response = await client.get(f"/api/v1/reports?{query}", headers=h)
        assert response.status_code == 200, response.text
        return response.json()["total"]

    assert await ids(f"unit_id={school.id}") == 2
    assert await ids("label=pairing") == 1
    assert await ids("status=needs_review") == 1
    assert await ids("date_from=2026-10-01&date_to=2026-10-20") == 2
    assert await ids("q=结对") == 1
    assert await ids("unassigned=true") == 2
    items = (await client.get("/api/v1/reports?page_size=2", headers=h)).json()["items"]
    assert items[0]["text"] == "志愿者清洁家园" and items[0]["label_zh"] == "志愿服务"  # newest first


async def test_report_list_pages_by_cursor_without_skipping_or_repeating(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    reports = [data.report(f"第{n}次文明实践活动", day=date(2026, 10, 1 + n)) for n in range(7)]
    reports[3].first_message_at = reports[2].first_message_at  # same minute: the id breaks the tie
    data.session.flush()
    h = staff.headers("viewer")
    by_page = [
        item["id"]
        for page in (1, 2, 3, 4)
        for item in (await client.get(f"/api/v1/reports?page_size=2&page={page}", headers=h)).json()["items"]
    ]
    first = (await client.get("/api/v1/reports?page_size=2", headers=h)).json()
    walked, cursor = [item["id"] for item in first["items"]], first["next_after"]
    data.report("翻页时新到的报送", day=date(2026, 11, 30))  # arrives meanwhile: page 2 by offset would repeat a row
    while cursor:
        page = (await client.get(f"/api/v1/reports?page_size=2&after={cursor}", headers=h)).json()
        assert page["total"] == 8
        walked += [item["id"] for item in page["items"]]
        cursor = page["next_after"]
    assert walked == by_page and len(set(walked)) == 7
    assert walked[-1] == reports[0].id and set(walked) == {r.id for r in reports}
    bad = await client.get("/api/v1/reports?after=not-a-cursor", headers=h)
    assert bad.status_code == 400 and "游标" in bad.text


async def test_report_detail_with_photos_served_only_to_staff(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    report = data.report("敬老院志愿服务", photos=2)
    detail = (await client.get(f"/api/v1/reports/{report.id}", headers=staff.headers("viewer"))).json()
    assert len(detail["photos"]) == 2 and detail["tags"] == ["practice"]
    url = detail["photos"][0]["url"]
    full = await client.get(url, headers=staff.headers("viewer"))
    assert full.status_code == 200 and full.headers["content-type"] == "image/jpeg"
    assert full.content[:2] == b"\xff\xd8"
    thumb = await client.get(detail["photos"][0]["thumb_url"], headers=staff.headers("viewer"))
    assert thumb.status_code == 200 and len(thumb.content) < len(full.content)
    anonymous = await client.get(url)
    assert anonymous.status_code == 401


async def test_media_paths_cannot_escape_the_media_dir(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session, settings: Settings
) -> None:
    report = data.report("图片", photos=1)
    media = session.scalars(select(Media)).first()
    assert media is not None
    secret = settings.media_dir.parent / "secret.txt"
    secret.write_text("密钥")
    media.path = "../secret.txt"
    session.flush()
    response = await client.get(f"/api/v1/media/{media.id}", headers=staff.headers("viewer"))
    assert response.status_code == 404
    assert report.id


async def test_review_queue_holds_unsure_and_unattributed_reports_oldest_first(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    unit = data.unit("县税务局")
    sure = data.report("理论宣讲进社区", unit=unit)
    unsure = data.report("今天去了敬老院", unit=unit, status="needs_review", confidence=0.41, day=date(2026, 10, 1))
    orphan = data.report("开展文明劝导", label="volunteer", day=date(2026, 10, 5))
    chatter = data.report("好的", label="other", confidence=0.99)
    staff_post = data.report("请各单位本周五前报送", sender=data.member("文明办小王", is_staff=True), label=None)
    queue = (await client.get("/api/v1/review", headers=staff.headers("viewer"))).json()
    got = [r["id"] for r in queue["items"]]
    assert got == [unsure.id, orphan.id]
    assert sure.id not in got and chatter.id not in got and staff_post.id not in got


async def test_withdrawn_reports_leave_the_queue_but_can_still_be_listed(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    orphan = data.report("开展文明劝导", label="volunteer", day=date(2026, 10, 5))
    recalled = data.report("开展文明劝导（发错群了）", label="volunteer", status="withdrawn", day=date(2026, 10, 5))
    h = staff.headers("viewer")
    queue = (await client.get("/api/v1/review", headers=h)).json()
    assert [r["id"] for r in queue["items"]] == [orphan.id]
    listed = (await client.get("/api/v1/reports?status=withdrawn", headers=h)).json()
    assert [r["id"] for r in listed["items"]] == [recalled.id] and listed["items"][0]["status"] == "withdrawn"


async def test_relabel_writes_a_staff_classification_and_an_audit_row(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    unit = data.unit("县文旅局")
    report = data.report("到结对村开展志愿服务", unit=unit, label="practice", status="needs_review", confidence=0.5)
    response = await client.patch(
        f"/api/v1/reports/{report.id}/classification",
        json={
            "label": "volunteer",
            "secondary_labels": ["pairing"],
            "facts": {"partner": "城东村", "participants": 12},
            "reason": "在结对村开展的志愿服务",
        },
        headers=staff.headers("reviewer"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["label"] == "volunteer" and body["status"] == "corrected"
    assert set(body["tags"]) == {"volunteer", "pairing"}
    assert body["classification"]["source"] == "staff"
    assert body["classification"]["facts"]["partner"] == "城东村"
    correction = session.scalars(select(AuditEntry).where(AuditEntry.report_id == report.id)).one()
    assert correction.kind == "classification" and correction.actor == "staff:reviewer"
    assert correction.reason == "在结对村开展的志愿服务"
    tags = set(session.scalars(select(ReportTag.label).where(ReportTag.report_id == report.id)))
    assert tags == {"volunteer", "pairing"}
    current = session.scalars(
        select(Classification).where(Classification.report_id == report.id, Classification.is_current.is_(True))
    ).all()
    assert [c.source for c in current] == ["staff"]
    queue = (await client.get("/api/v1/review", headers=staff.headers("viewer"))).json()
    assert report.id not in [r["id"] for r in queue["items"]]


async def test_a_reviewed_report_leaves_a_queue_page_already_served(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    unit = data.unit("县卫健局")
    unsure = data.report("组织职工到社区开展活动", unit=unit, label="practice", status="needs_review", confidence=0.55)
    other = data.report("到结对村走访", unit=unit, label="pairing", status="needs_review", confidence=0.6)
    viewer = staff.headers("viewer")
    before = await client.get("/api/v1/review", headers=viewer)
    assert [r["id"] for r in before.json()["items"]] == [unsure.id, other.id]
    again = await client.get("/api/v1/review", headers=viewer | {"If-None-Match": before.headers["etag"]})
    assert again.status_code == 304
    patched = await client.patch(
        f"/api/v1/reports/{unsure.id}/classification",
        json={"label": "volunteer", "reason": "核实为志愿服务"},
        headers=staff.headers("reviewer"),
    )
    assert patched.status_code == 200, patched.text
    after = await client.get("/api/v1/review", headers=viewer | {"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert [r["id"] for r in after.json()["items"]] == [other.id] and after.json()["total"] == 1


async def test_relabel_needs_a_reason_and_a_known_label(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    report = data.report("活动")
    h = staff.headers("reviewer")
    no_reason = await client.patch(f"/api/v1/reports/{report.id}/classification", json={"label": "news"}, headers=h)
    assert no_reason.status_code == 422
    bad_label = await client.patch(
        f"/api/v1/reports/{report.id}/classification", json={"label": "sports", "reason": "x"}, headers=h
    )
    assert bad_label.status_code == 422
    missing = await client.patch(
        "/api/v1/reports/999999/classification", json={"label": "news", "reason": "x"}, headers=h
    )
    assert missing.status_code == 404


async def test_assign_report_and_remember_the_sender(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    unit = data.unit("县自然资源局")
    sender = data.member("自然资源-小陈")
    report = data.report("开展文明实践活动", sender=sender)
    h = staff.headers("reviewer")
    response = await client.post(
        f"/api/v1/reports/{report.id}/assign", json={"unit_id": unit.id, "remember_sender": True}, headers=h
    )
    assert response.status_code == 200, response.text
    assert response.json()["unit_name"] == "县自然资源局"
    assert session.get(Member, sender.id).unit_id == unit.id  # type: ignore[union-attr]
    kinds = set(session.scalars(select(AuditEntry.kind)))
    assert {"report_unit", "member_unit"} <= kinds
    retired = data.unit("已撤并单位", active=False)
    other = data.report("活动", sender=data.member("某人"))
    refused = await client.post(f"/api/v1/reports/{other.id}/assign", json={"unit_id": retired.id}, headers=h)
    assert refused.status_code == 409
    assert session.get(Report, other.id).unit_id is None  # type: ignore[union-attr]


async def test_audit_log_lists_staff_changes_newest_first(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    unit = data.unit("县司法局")
    report = data.report("普法宣传", unit=unit)
    h = staff.headers("reviewer")
    await client.patch(f"/api/v1/units/{unit.id}", json={"headcount": 40}, headers=h)
    await client.patch(
        f"/api/v1/reports/{report.id}/classification", json={"label": "practice", "reason": "确认"}, headers=h
    )
    log = (await client.get("/api/v1/audit", headers=staff.headers("viewer"))).json()
    assert [row["kind"] for row in log["items"]][:2] == ["classification", "unit"]
    only = (await client.get(f"/api/v1/audit?report_id={report.id}", headers=h)).json()
    assert only["total"] == 1


async def test_unit_lookup_by_alias_is_exact(session: Session, data: Data) -> None:
    from ingest import units

    data.unit("县气象局", aliases=["气象局"])
    assert units.find_unit(session, "气象局").name == "县气象局"  # type: ignore[union-attr]
    assert units.find_unit(session, "气象") is None
    assert session.scalar(select(Unit.name).where(Unit.name == "县气象局"))


# --- health ----------------------------------------------------------------------------------------


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json()["status"] == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}


async def test_readyz_logs_why_an_unmigrated_database_is_not_ready(
    settings: Settings, fresh_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from api.app import create_app
    from wenming import schema

    app = create_app(settings.model_copy(update={"database_url": fresh_database_url}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get("/readyz")
        assert response.status_code == 503 and response.json() == {"status": "unavailable"}
        assert "wenming db upgrade" in caplog.text  # told to whoever reads the server log, not to the caller
        schema.upgrade(fresh_database_url)
        assert (await c.get("/readyz")).status_code == 200
    app.state.engine.dispose()


async def test_api_docs_work_offline(client: httpx.AsyncClient, staff: Staff) -> None:
    client.headers.update(staff.headers("viewer"))
    page = await client.get("/api/v1/docs")
    assert page.status_code == 200 and "/static/swagger/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower()
    assert (await client.get("/static/swagger/swagger-ui-bundle.js")).status_code == 200
    schema = (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/reports/{report_id}/classification" in schema["paths"]
