"""Every write endpoint × every caller (admin, reviewer, viewer, no token, bad token)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from accounts.models import Role
from tests.api.conftest import Data, Staff
from wenming.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test settings with unit links switched on (issuing a link is one of the writes)."""
    return settings.model_copy(update={"unit_link_secret": SecretStr("matrix-" * 6)})


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PUBLIC_WRITES = {("POST", "/api/v1/auth/login")}  # the way in, rate-limited instead
# Capture agents sign their requests instead of holding staff roles (tests/capture covers every refusal).
AGENT_WRITES = {("POST", "/api/v1/capture/batches"), ("POST", "/api/v1/capture/ping")}


@dataclass(frozen=True)
class Case:
    """One write endpoint: the least role allowed and how to build a fresh, valid request."""

    method: str
    path: str
    least: Role
    build: Callable[[Data, Staff], tuple[str, dict[str, Any] | None]]


def _unit(d: Data, _s: Staff) -> tuple[str, dict[str, Any] | None]:
    return "/api/v1/units", {"name": f"单位{id(d)}-{d._next()}"}


def _record(path: str, body: dict[str, Any]) -> Callable[[Data, Staff], tuple[str, dict[str, Any] | None]]:
    def build(d: Data, _s: Staff) -> tuple[str, dict[str, Any] | None]:
        return f"/api/v1/records/{path}", {"unit_id": d.unit(f"记{d._next()}").id, **body}

    return build


def _void(d: Data, _s: Staff) -> tuple[str, dict[str, Any] | None]:
    from scoring import service as scoring_service
    from scoring.schemas import CriticismIn

    unit = d.unit(f"废{d._next()}")
    record = scoring_service.add_criticism(
        d.session, CriticismIn(unit_id=unit.id, occurred_on="2026-10-01", reason="误录"), "staff:test"
    )
    return f"/api/v1/records/criticism/{record.id}/void", {"reason": "录错了"}


def _dead_job(d: Data, _s: Staff) -> tuple[str, dict[str, Any] | None]:
    from tests.api.test_system import dead_job

    return f"/api/v1/jobs/{dead_job(d.session, d._next()).id}/retry", None


def _period(state: str, body: dict[str, Any] | None = None) -> Callable[[Data, Staff], tuple[str, dict[str, Any]]]:
    """October 2026 brought to ``state`` first (open, closed or published), then the step's request."""

    def build(d: Data, _s: Staff) -> tuple[str, dict[str, Any]]:
        from datetime import date

        from scoring import closing
        from scoring import service as scoring_service

        rubric = scoring_service.load_rubric("changxing-2020")
        if state in ("closed", "published"):
            closing.close(d.session, d.settings, rubric, "2026-10", "staff:test", as_of=date(2026, 11, 2))
        if state == "published":
            closing.publish(d.session, rubric, "2026-10", "staff:test")
        step = {"open": "close", "closed": "publish", "published": "republish"}[state] if body is None else "reopen"
        if step == "close":
            return "/api/v1/periods/2026-10/close", {"as_of": "2026-11-02"}
        return f"/api/v1/periods/2026-10/{step}", body or ({"reason": "吸收更正"} if step == "republish" else {})

    return build


def _appeal_body(d: Data) -> dict[str, Any]:
    from datetime import datetime

    today = datetime.now(d.settings.tz).date()
    unit = d.unit(f"诉{d._next()}")
    return {"unit_id": unit.id, "target": "missing", "happened_on": str(today), "reason": "活动未计入"}


def _resolve(d: Data, _s: Staff) -> tuple[str, dict[str, Any]]:
    from scoring import appeals
    from scoring.schemas import AppealIn

    body = _appeal_body(d)
    unit_id = body.pop("unit_id")
    filed = appeals.file(d.session, d.settings, unit_id, AppealIn.model_validate(body), "staff:test")
    return f"/api/v1/appeals/{filed.id}/resolve", {"accept": False, "note": "已核实"}


CASES = [
    Case("POST", "/api/v1/auth/logout", Role.VIEWER, lambda d, s: ("/api/v1/auth/logout", None)),
    Case("POST", "/api/v1/units", Role.REVIEWER, _unit),
    Case(
        "PATCH",
        "/api/v1/units/{unit_id}",
        Role.REVIEWER,
        lambda d, s: (f"/api/v1/units/{d.unit(f'改{d._next()}').id}", {"headcount": 10}),
    ),
    Case(
        "DELETE",
        "/api/v1/units/{unit_id}",
        Role.REVIEWER,
        lambda d, s: (f"/api/v1/units/{d.unit(f'删{d._next()}').id}", None),
    ),
    Case(
        "PATCH",
        "/api/v1/groups/{group_id}",
        Role.REVIEWER,
        lambda d, s: (f"/api/v1/groups/{d.group.id}", {"name": "新群名"}),
    ),
    Case(
        "PATCH",
        "/api/v1/members/{member_id}",
        Role.REVIEWER,
        lambda d, s: (f"/api/v1/members/{d.member('某人').id}", {"unit_id": d.unit(f"归{d._next()}").id}),
    ),
    Case(
        "PATCH",
        "/api/v1/reports/{report_id}/classification",
        Role.REVIEWER,
        lambda d, s: (
            f"/api/v1/reports/{d.report('活动').id}/classification",
            {"label": "news", "reason": "核对"},
        ),
    ),
    Case(
        "POST",
        "/api/v1/reports/{report_id}/assign",
        Role.REVIEWER,
        lambda d, s: (
            f"/api/v1/reports/{d.report('活动').id}/assign",
            {"unit_id": d.unit(f"派{d._next()}").id},
        ),
    ),
    Case(
        "POST",
        "/api/v1/messages/{message_id}/promote",
        Role.REVIEWER,
        lambda d, s: (f"/api/v1/messages/{d.message('其实是活动').id}/promote", {"reason": "核对"}),
    ),
    Case(
        "POST",
        "/api/v1/reports/{report_id}/demote",
        Role.REVIEWER,
        lambda d, s: (f"/api/v1/reports/{d.report('收到').id}/demote", {"reason": "闲聊"}),
    ),
    Case(
        "POST",
        "/api/v1/users",
        Role.ADMIN,
        lambda d, s: ("/api/v1/users", {"username": f"u{d._next()}", "password": "long-enough-1"}),
    ),
    Case(
        "PATCH",
        "/api/v1/users/{user_id}",
        Role.ADMIN,
        lambda d, s: (f"/api/v1/users/{s.users['viewer'].id}", {"display_name": "李四"}),
    ),
    Case(
        "POST",
        "/api/v1/users/{user_id}/tokens",
        Role.ADMIN,
        lambda d, s: (f"/api/v1/users/{s.users['viewer'].id}/tokens", {"name": "脚本"}),
    ),
    Case("DELETE", "/api/v1/tokens/{token_id}", Role.ADMIN, lambda d, s: ("/api/v1/tokens/1", None)),
    *[
        Case("POST", f"/api/v1/records/{path}", Role.REVIEWER, _record(path, body))
        for path, body in [
            ("criticisms", {"occurred_on": "2026-10-10", "reason": "督查发现未按要求开展活动"}),
            (
                "media-adoptions",
                {"title": "文明实践进社区", "outlet": "湖州日报", "level": "市级", "published_on": "2026-10-12"},
            ),
            ("pairing-sheets", {"year": 2026, "quarter": 4, "partner": "城东村"}),
            ("volunteer-stats", {"year": 2026, "quarter": 4, "headcount": 50, "registered": 20, "active": 15}),
            ("checks", {"kind": "annual_plan", "year": 2026, "done_on": "2026-03-01"}),
            ("bonuses", {"kind": "research_visit", "level": "city", "occurred_on": "2026-10-01", "reason": "市调研组"}),
            ("deductions", {"kind": "materials_missing", "points": 1, "occurred_on": "2026-10-01", "reason": "未报送"}),
        ]
    ],
    Case("POST", "/api/v1/records/{kind}/{record_id}/void", Role.REVIEWER, _void),
    Case("POST", "/api/v1/jobs/{job_id}/retry", Role.ADMIN, _dead_job),
    Case("POST", "/api/v1/classifier/train", Role.ADMIN, lambda d, s: ("/api/v1/classifier/train", None)),
    Case("POST", "/api/v1/periods/{period}/close", Role.REVIEWER, _period("open")),
    Case("POST", "/api/v1/periods/{period}/publish", Role.REVIEWER, _period("closed")),
    Case("POST", "/api/v1/periods/{period}/republish", Role.REVIEWER, _period("published")),
    Case("POST", "/api/v1/periods/{period}/reopen", Role.REVIEWER, _period("closed", {"reason": "补录记录"})),
    Case("POST", "/api/v1/appeals", Role.REVIEWER, lambda d, s: ("/api/v1/appeals", _appeal_body(d))),
    Case("POST", "/api/v1/appeals/{appeal_id}/resolve", Role.REVIEWER, _resolve),
    Case(
        "POST",
        "/api/v1/units/{unit_id}/links",
        Role.REVIEWER,
        lambda d, s: (f"/api/v1/units/{d.unit(f'链{d._next()}').id}/links", None),
    ),
    Case(
        "POST",
        "/api/v1/units/{unit_id}/links/revoke",
        Role.REVIEWER,
        lambda d, s: (f"/api/v1/units/{d.unit(f'停{d._next()}').id}/links/revoke", None),
    ),
    Case(
        "PUT",
        "/api/v1/units/{unit_id}/scoring-start",
        Role.REVIEWER,
        lambda d, s: (f"/api/v1/units/{d.unit(f'始{d._next()}').id}/scoring-start", {"month": "2026-09"}),
    ),
    Case(
        "POST",
        "/api/v1/classifier/versions/{version}/activate",
        Role.ADMIN,
        lambda d, s: ("/api/v1/classifier/versions/seed/activate", {"confirm": True, "reason": "回退到种子模型"}),
    ),
]


def _write_routes(app: FastAPI) -> set[tuple[str, str]]:
    """Every write operation the OpenAPI schema publishes."""
    routes = set()
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if method.upper() in WRITE_METHODS:
                routes.add((method.upper(), path))
    return routes - PUBLIC_WRITES - AGENT_WRITES


def test_the_matrix_covers_every_write_endpoint(app: FastAPI) -> None:
    """A new write endpoint without a row here fails, so none ships without an authorization check."""
    assert {(c.method, c.path) for c in CASES} == _write_routes(app)


CALLERS = ["admin", "reviewer", "viewer", "no token", "bad token"]


def _expected(case: Case, caller: str) -> set[int]:
    if caller in ("no token", "bad token"):
        return {401}
    role = Role(caller)
    if role.rank >= case.least.rank:
        return {200, 201, 202, 204}
    return {403}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path}")
async def test_write_endpoint_authorization(
    client: httpx.AsyncClient, staff: Staff, data: Data, case: Case, caller: str
) -> None:
    if case.path == "/api/v1/tokens/{token_id}":
        from accounts import service as auth

        token, _plain = auth.create_token(data.session, staff.users["reviewer"], "待吊销")
        path, body = f"/api/v1/tokens/{token.id}", None
    else:
        path, body = case.build(data, staff)
    headers = {}
    if caller == "bad token":
        headers = {"Authorization": "Bearer wm_forged-token-value"}
    elif caller != "no token":
        headers = staff.headers(caller)
    response = await client.request(case.method, path, json=body, headers=headers)
    assert response.status_code in _expected(case, caller), (caller, response.status_code, response.text)
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize(
    "path", ["/api/v1/units", "/api/v1/reports", "/api/v1/review", "/api/v1/audit", "/api/v1/messages"]
)
async def test_reads_need_a_signed_in_caller(client: httpx.AsyncClient, staff: Staff, path: str) -> None:
    assert (await client.get(path)).status_code == 401
    assert (await client.get(path, headers=staff.headers("viewer"))).status_code == 200


async def test_user_management_reads_are_admin_only(client: httpx.AsyncClient, staff: Staff) -> None:
    assert (await client.get("/api/v1/users", headers=staff.headers("reviewer"))).status_code == 403
    assert (await client.get("/api/v1/users", headers=staff.headers("admin"))).json()["total"] == 3


@pytest.mark.parametrize(("method", "path"), sorted(AGENT_WRITES))
@pytest.mark.parametrize("caller", CALLERS)
async def test_agent_endpoints_take_no_staff_credentials(
    client: httpx.AsyncClient, staff: Staff, method: str, path: str, caller: str
) -> None:
    headers = {"Authorization": "Bearer wm_forged-token-value"} if caller == "bad token" else {}
    if caller in ("admin", "reviewer", "viewer"):
        headers = staff.headers(caller)
    response = await client.request(method, path, json={"messages": []}, headers=headers)
    assert response.status_code == 401 and response.json()["error"]["code"] == "agent_unauthorized"
