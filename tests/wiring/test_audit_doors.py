"""Every door leaves the same trail: a change made with ``wenming`` writes exactly the audit row its API twin writes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import anyio
import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from tests.wiring.clikit import UNITS_CSV, Cli, cli, cli_data_dir
from wenming.audit import AuditEntry
from wenming.db import create_db_engine
from wenming.queue import service as queue_service
from wenming.queue.models import Job, JobStatus
from wiring.cli import common

__all__ = ["cli", "cli_data_dir"]

Row = tuple[str, str, str | None]  # kind, actor, subject type


class Trail:
    """The audit rows a step adds, read straight from the database the commands use."""

    def __init__(self) -> None:
        self.engine = create_db_engine(common.settings().database_url)

    def rows_after(self, step: Callable[[], Any]) -> list[Row]:
        with Session(self.engine) as session:
            last = session.scalar(select(func.max(AuditEntry.id))) or 0
        step()
        with Session(self.engine) as session:
            rows = session.scalars(select(AuditEntry).where(AuditEntry.id > last).order_by(AuditEntry.id)).all()
            return [(r.kind, r.actor, r.subject_type) for r in rows]

    def dead_job(self) -> int:
        """A job that failed for good, as the worker leaves it."""
        with Session(self.engine) as session:
            job = queue_service.enqueue(session, "ocr.report", {"report_id": 1}, max_attempts=1)
            job.status, job.last_error = JobStatus.DEAD.value, "文件缺失"
            session.commit()
            return job.id

    def job_status(self, job_id: int) -> str:
        with Session(self.engine) as session:
            return session.get_one(Job, job_id).status


def api_call(method: str, path: str, token: str, body: dict[str, Any] | None = None) -> httpx.Response:
    """One request to the real app on the same database, with a bearer token."""
    app = create_app(common.settings())

    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})

    try:
        return anyio.run(send)
    finally:
        app.state.engine.dispose()


def test_cli_changes_leave_one_audit_row_each_like_their_api_twins(cli: Cli) -> None:
    cli.ok("db", "upgrade")
    trail = Trail()
    me = f"cli:{common.login_name()}"

    # a staff account and its token, from the terminal and through the API
    added = trail.rows_after(lambda: cli.ok("users", "add", "admin", "--role", "admin", "--password", "harbor-pass-1"))
    assert added == [("staff_user", me, "user")]
    issued: list[str] = []
    token_rows = trail.rows_after(lambda: issued.append(cli.ok("--actor", "张三", "users", "token", "admin")))
    assert token_rows == [("api_token", "张三", "token")]
    token = re.search(r"wm_[A-Za-z0-9_\-]+", issued[0]).group(0)  # type: ignore[union-attr]
    api_user: list[httpx.Response] = []
    body = {"username": "liming", "password": "teal-pass-81", "role": "reviewer"}
    assert trail.rows_after(lambda: api_user.append(api_call("POST", "/api/v1/users", token, body))) == [
        ("staff_user", "staff:admin", "user")
    ]
    user_id = api_user[0].json()["id"]
    assert trail.rows_after(lambda: api_call("POST", f"/api/v1/users/{user_id}/tokens", token, {"name": "脚本"})) == [
        ("api_token", "staff:admin", "token")
    ]

    # the unit roster (no API twin: the console edits units one by one, each one row)
    roster = cli.root / "units.csv"
    roster.write_text(UNITS_CSV, encoding="utf-8")
    assert trail.rows_after(lambda: cli.ok("units", "import", str(roster))) == [("unit_import", me, "roster")]

    # a failed job put back in the queue
    first, second = trail.dead_job(), trail.dead_job()
    assert trail.rows_after(lambda: cli.ok("jobs", "retry", str(first))) == [("job", me, "job")]
    assert trail.job_status(first) == "queued"
    assert trail.rows_after(lambda: api_call("POST", f"/api/v1/jobs/{second}/retry", token)) == [
        ("job", "staff:admin", "job")
    ]

    # a staff record entered and voided
    entered = trail.rows_after(
        lambda: cli.ok("score", "criticism", "长兴县人民医院", "2026-05-06", "材料迟报", "--by", "郑书洋")
    )
    assert entered == [("record", "郑书洋", "criticism")]
    assert trail.rows_after(lambda: cli.ok("score", "void", "criticism", "1", "--reason", "误录")) == [
        ("record", me, "criticism")
    ]
    unit_id = api_call("GET", "/api/v1/units?q=人民医院", token).json()["items"][0]["id"]
    api_record: list[httpx.Response] = []
    criticism = {"unit_id": unit_id, "occurred_on": "2026-05-07", "reason": "材料迟报"}
    assert trail.rows_after(
        lambda: api_record.append(api_call("POST", "/api/v1/records/criticisms", token, criticism))
    ) == [("record", "staff:admin", "criticism")]
    record_id = api_record[0].json()["id"]
    assert trail.rows_after(
        lambda: api_call("POST", f"/api/v1/records/criticism/{record_id}/void", token, {"reason": "误录"})
    ) == [("record", "staff:admin", "criticism")]
    trail.engine.dispose()
