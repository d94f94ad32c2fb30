"""Classifier versions in the API and the console: metrics and gate verdict, activate / roll back, audited."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier import corpus, registry
from tests.api.conftest import Staff
from tests.api.test_console import _hidden, console_login
from wenming.audit import AuditEntry
from wenming.settings import Settings

pytestmark = pytest.mark.anyio


def _second_version(settings: Settings) -> str:
    """A quick, weaker version (a fifth of the corpus), marked as refused by the gate."""
    examples = corpus.read_path(corpus.TRAIN_DIR)[::5]
    info = registry.train_version(settings, examples, corrections=0)
    registry.record_gate(settings, info.version, False, "未启用：与当前版本相比，新闻通讯 F1 更低")
    return info.version


async def test_versions_list_metrics_and_why_a_version_is_inactive(
    client: httpx.AsyncClient, staff: Staff, settings: Settings
) -> None:
    version = _second_version(settings)
    body = (await client.get("/api/v1/classifier/versions", headers=staff.headers("viewer"))).json()
    assert body["current"] == registry.seed_version()
    seed, second = body["versions"]
    assert seed["current"] and seed["heldout_macro_f1"] >= 0.9 and set(seed["per_label_f1"]) >= {"news", "other"}
    assert 0 < seed["review_share"] < 1 and seed["review_threshold"] == 0.8
    assert second["version"] == version and not second["current"] and second["gate_passed"] is False
    assert "新闻通讯" in second["gate_reason"]


async def test_activation_needs_confirmation_an_admin_and_is_audited(
    client: httpx.AsyncClient, staff: Staff, session: Session, settings: Settings
) -> None:
    version = _second_version(settings)
    path = f"/api/v1/classifier/versions/{version}/activate"
    unconfirmed = await client.post(path, json={"confirm": False}, headers=staff.headers("admin"))
    assert unconfirmed.status_code == 422 and registry.current_version(settings) != version
    refused = await client.post(path, json={"confirm": True}, headers=staff.headers("reviewer"))
    assert refused.status_code == 403

    done = await client.post(path, json={"confirm": True, "reason": "试用"}, headers=staff.headers("admin"))
    assert done.status_code == 200, done.text
    assert done.json()["version"] == version and done.json()["previous"] == registry.seed_version()
    assert registry.current_version(settings) == version
    audit = session.scalars(select(AuditEntry).where(AuditEntry.kind == "classifier_version")).one()
    assert audit.after["version"] == version and audit.before == {"version": registry.seed_version()}
    assert audit.reason == "试用" and "admin" in audit.actor

    missing = await client.post(
        "/api/v1/classifier/versions/v99/activate", json={"confirm": True}, headers=staff.headers("admin")
    )
    assert missing.status_code == 404 and "不存在" in missing.json()["error"]["message"]


async def test_console_rolls_back_through_a_confirmation_page(
    client: httpx.AsyncClient, staff: Staff, session: Session, settings: Settings
) -> None:
    version = _second_version(settings)
    registry.set_current(settings, version)

    await console_login(client, "reviewer")
    listing = (await client.get("/system/models")).text
    assert version in listing and "新闻通讯 F1 更低" in listing and "启用…" not in listing
    assert (await client.get(f"/system/models/{registry.seed_version()}/activate")).status_code == 403

    await console_login(client, "admin")
    listing = (await client.get("/system/models")).text
    assert f'href="/system/models/{registry.seed_version()}/activate"' in listing
    page = (await client.get(f"/system/models/{registry.seed_version()}/activate")).text
    assert "确认回退</button>" in page and "onsubmit" not in page and "<script>" not in page
    assert registry.current_version(settings) == version  # looking at the page changes nothing

    form = {"csrf_token": _hidden(page, "csrf_token"), "reason": "新版本把通讯稿判成其他"}
    done = await client.post(f"/system/models/{registry.seed_version()}/activate", data=form, follow_redirects=True)
    assert "已启用模型版本" in done.text and "重新分类" in done.text
    assert registry.current_version(settings) == registry.seed_version()
    audit = session.scalars(select(AuditEntry).where(AuditEntry.kind == "classifier_version")).one()
    assert audit.reason == "新版本把通讯稿判成其他" and audit.before == {"version": version}
