"""The background queue in the API and the console: backlog, failures with reasons, retry by an admin."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier.ocr.models import ReportPhotoEvidence
from tests.api.conftest import Data, Staff
from tests.api.test_console import _hidden, console_login
from wenming.audit import AuditEntry
from wenming.db import utcnow
from wenming.queue import service as queue_service
from wenming.queue.models import Job, JobStatus

pytestmark = pytest.mark.anyio


def dead_job(session: Session, n: int = 1) -> Job:
    """A photo-reading job that used up its attempts: what a missing photo file leaves behind."""
    job = queue_service.enqueue(session, "ocr.report", {"report_id": n}, key=f"dead-{n}", max_attempts=3)
    job.status, job.attempts, job.finished_at = JobStatus.DEAD.value, 3, utcnow()
    job.last_error = "FileNotFoundError: 图片文件缺失：2026/10/a.jpg\nTraceback (most recent call last): …"
    session.flush()
    return job


async def test_viewer_sees_backlog_and_failures_with_their_reason(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    for n in range(3):
        queue_service.enqueue(session, "ocr.report", {"report_id": 100 + n}, key=f"waiting-{n}")
    job = dead_job(session)
    body = (await client.get("/api/v1/jobs", headers=staff.headers("viewer"))).json()
    assert (body["backlog"], body["dead"]) == (3, 1)
    [kind] = body["kinds"]
    assert (kind["name"], kind["queued"], kind["dead"]) == ("报送照片文字识别", 3, 1)
    [failed] = body["dead_jobs"]
    assert failed["id"] == job.id and failed["error"] == "FileNotFoundError: 图片文件缺失：2026/10/a.jpg"
    assert body["ocr"]["enabled"] is True and body["ocr"]["media_read"] == 0


async def test_admin_puts_a_failed_job_back_and_the_audit_says_who(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    job = dead_job(session)
    response = await client.post(f"/api/v1/jobs/{job.id}/retry", headers=staff.headers("admin"))
    assert response.json() == {"id": job.id, "status": "queued"}
    session.refresh(job)
    assert (job.status, job.attempts) == ("queued", 0)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.kind == "job")).one()
    assert audit.after == {"job": job.id, "status": "queued"} and "admin" in audit.actor
    again = await client.post(f"/api/v1/jobs/{job.id}/retry", headers=staff.headers("admin"))
    assert again.status_code == 404 and "找不到处于失败状态的任务" in again.json()["error"]["message"]


async def test_console_shows_the_queue_and_only_admins_get_the_retry_button(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    job = dead_job(session)
    await console_login(client, "reviewer")
    page = await client.get("/system")
    assert "已失败（不再自动重试）" in page.text and "图片文件缺失：2026/10/a.jpg" in page.text
    assert "重新排队</button>" not in page.text
    dashboard = await client.get("/")
    assert "后台任务待处理，1 个失败" in dashboard.text

    client.cookies.clear()
    await console_login(client, "admin")
    page = await client.get("/system")
    assert "重新排队</button>" in page.text
    token = _hidden(page.text, "csrf_token")
    forged = await client.post(f"/system/jobs/{job.id}/retry", data={"csrf_token": "forged"})
    assert forged.status_code == 403
    done = await client.post(f"/system/jobs/{job.id}/retry", data={"csrf_token": token}, follow_redirects=True)
    assert f"任务 {job.id} 已重新排队" in done.text and "没有失败的任务" in done.text


async def test_staff_see_what_the_photos_showed(client: httpx.AsyncClient, staff: Staff, data: Data) -> None:
    report = data.report("今天组织志愿者清洁家园", photos=3, status="needs_review", confidence=0.5)
    unread = (await client.get(f"/api/v1/reports/{report.id}", headers=staff.headers("viewer"))).json()
    assert unread["photo_evidence"] is None
    data.session.add(
        ReportPhotoEvidence(
            report_id=report.id,
            photo_count=3,
            distinct_photos=2,
            photos_read=3,
            banner_read=True,
            banner_lines=["县税务局与城东村结对共建活动"],
            text_kind="volunteer",
            photo_kind="pairing",
            kinds_agree=False,
            facts={"partner": "城东村"},
        )
    )
    data.session.flush()
    detail = (await client.get(f"/api/v1/reports/{report.id}", headers=staff.headers("viewer"))).json()
    evidence = detail["photo_evidence"]
    assert (evidence["distinct_photos"], evidence["banner_lines"]) == (2, ["县税务局与城东村结对共建活动"])
    assert (evidence["text_kind"], evidence["photo_kind"], evidence["kinds_agree"]) == ("volunteer", "pairing", False)

    await console_login(client, "reviewer")
    page = (await client.get(f"/reports/{report.id}")).text
    assert "县税务局与城东村结对共建活动" in page and "不重复 2 张" in page and "城东村" in page
    review = (await client.get("/review")).text
    assert "读到横幅" in review and "文字与照片不一致" in review and "不重复照片 2/3" in review


async def test_admin_queues_retraining_once_per_set_of_corrections(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    first = await client.post("/api/v1/classifier/train", headers=staff.headers("admin"))
    assert first.status_code == 202
    body = first.json()
    assert (body["kind"], body["status"], body["duplicate"]) == ("classifier.train", "queued", False)
    again = (await client.post("/api/v1/classifier/train", headers=staff.headers("admin"))).json()
    assert (again["id"], again["duplicate"]) == (body["id"], True)
    overview = (await client.get("/api/v1/jobs", headers=staff.headers("viewer"))).json()
    assert overview["model_version"].startswith("seed") and overview["backlog"] == 1

    await console_login(client, "admin")
    page = (await client.get("/system")).text
    assert "用人工更正重新训练</button>" in page and "用人工更正重新训练分类模型" in page
    done = await client.post("/system/train", data={"csrf_token": _hidden(page, "csrf_token")}, follow_redirects=True)
    assert "自上次训练以来没有新的人工更正" in done.text
