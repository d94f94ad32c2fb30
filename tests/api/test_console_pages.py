"""The pages issue 15 adds: 用户管理 (admin) and 未归属 (one-click assignment)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.orm import Session

from accounts.models import StaffUser
from ingest.models import Member, Report
from tests.api.conftest import Data, Staff
from tests.api.test_console import _hidden, console_login

pytestmark = pytest.mark.anyio


async def test_admin_adds_a_user_resets_a_password_changes_a_role_and_deactivates(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    await console_login(client, "admin")
    page = await client.get("/users")
    assert page.status_code == 200 and "添加用户" in page.text and "审核员" in page.text
    token = _hidden(page.text, "csrf_token")
    weak = await client.post("/users", data={"csrf_token": token, "username": "zhang", "password": "123"})
    assert "密码至少需要" in (await client.get(weak.headers["location"])).text
    form = {
        "csrf_token": token,
        "username": "zhang",
        "password": "Lvse-Qiaoliang-8817",
        "role": "viewer",
        "display_name": "张三",
    }
    added = await client.post("/users", data=form)
    assert "已添加用户 zhang（只读）" in (await client.get(added.headers["location"])).text
    user = session.query(StaffUser).filter_by(username="zhang").one()
    await client.post(f"/users/{user.id}/role", data={"csrf_token": token, "role": "reviewer"})
    await client.post(f"/users/{user.id}/password", data={"csrf_token": token, "password": "Hongqi-Dujuan-4521"})
    await client.post(f"/users/{user.id}/active", data={"csrf_token": token})
    session.refresh(user)
    assert user.role == "reviewer" and not user.active
    audit = (await client.get("/audit?kind=staff_user")).text
    for sentence in ("添加了用户 zhang（只读）", "重设了用户 zhang 的密码", "停用了用户 zhang"):
        assert sentence in audit
    me = staff.users["admin"]
    refused = await client.post(f"/users/{me.id}/active", data={"csrf_token": token})
    assert "不能停用自己" in (await client.get(refused.headers["location"])).text


async def test_only_admins_see_user_management(client: httpx.AsyncClient, staff: Staff) -> None:
    await console_login(client, "reviewer")
    assert (await client.get("/users")).status_code == 403
    assert 'href="/users"' not in (await client.get("/")).text


async def test_unassigned_lists_senders_and_assigns_them_with_their_reports(
    client: httpx.AsyncClient, staff: Staff, data: Data, session: Session
) -> None:
    unit = data.unit("县自来水公司", aliases=["自来水公司"])
    sender = data.member("张三（新入群）")
    reports = [data.report(f"今天我们单位组织志愿者清洁家园 {i}", sender=sender) for i in range(2)]
    await console_login(client, "reviewer")
    page = await client.get("/unassigned")
    assert "张三（新入群）" in page.text and "归入（含 2 条报送）" in page.text
    assert "今天我们单位组织志愿者清洁家园" in page.text
    action = re.search(r'action="(/members/\d+/assign)"', page.text)
    assert action
    done = await client.post(
        action.group(1), data={"csrf_token": _hidden(page.text, "csrf_token"), "unit": "自来水公司"}
    )
    assert "已将「张三（新入群）」归入「县自来水公司」" in (await client.get(done.headers["location"])).text
    assert session.get(Member, sender.id).unit_id == unit.id  # type: ignore[union-attr]
    assert all(session.get(Report, r.id).unit_id == unit.id for r in reports)  # type: ignore[union-attr]
