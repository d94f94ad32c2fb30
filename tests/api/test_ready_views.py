"""Ready views (api.ready): the report list cache follows every process's writes, versions move on the writes that
change the list and only on those, the coalesced version read never answers with a read older than the caller,
and the credential rules hold on the event-loop path."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as auth
from accounts.models import ApiToken, Role
from api.app import create_app
from api.ready import VersionReader, in_thread
from classifier import service as classifier_service
from classifier.models import ReportTag
from classifier.schemas import ClassificationPatch
from ingest import units as unit_service
from ingest.models import ChatGroup, Member, Report, Unit
from ingest.schemas import UnitCreate, UnitUpdate
from tests.api.conftest import Data, Staff
from wenming import versions
from wenming.db import create_db_engine, make_session_factory, transaction, utcnow
from wenming.settings import Settings

pytestmark = pytest.mark.anyio

RENAME_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from ingest import units
    from ingest.schemas import UnitUpdate
    from wenming.db import create_db_engine, make_session_factory, transaction
    from wiring.models import load_all_models

    load_all_models()
    with transaction(make_session_factory(create_db_engine(sys.argv[1]))) as session:
        units.update_unit(session, "cli:test", int(sys.argv[2]), UnitUpdate(name=sys.argv[3]))
    """
)
DAY = date(2026, 10, 12)


def _report(session: Session, unit: Unit | None, sender: Member, group: ChatGroup, minute: int) -> Report:
    at = datetime(DAY.year, DAY.month, DAY.day, 2, 0, tzinfo=UTC) + timedelta(minutes=minute)
    report = Report(
        unit_id=unit.id if unit else None,
        group_id=group.id,
        sender_id=sender.id,
        first_message_at=at,
        last_message_at=at,
        text_message_at=at,
        post_date=DAY,
        text=f"开展志愿服务活动 {minute}",
        photo_count=0,
        status="classified",
        label="volunteer",
        confidence=0.9,
    )
    session.add(report)
    session.flush()
    session.add(ReportTag(report_id=report.id, label="volunteer", is_primary=True))
    return report


def _seed(factory: sessionmaker[Session]) -> tuple[str, int, int]:
    """A unit with two reports and a viewer token; returns (token, unit id, first report id)."""
    with transaction(factory) as session:
        unit = unit_service.create_unit(session, "cli:test", UnitCreate(name="县图书馆"))
        group = ChatGroup(platform="wechat", platform_id="g-ready", name="工作群")
        session.add(group)
        session.flush()
        sender = Member(platform="wechat", platform_user_id="wxid_r", display_name="小王", unit_id=unit.id)
        session.add(sender)
        session.flush()
        first = _report(session, unit, sender, group, 1)
        _report(session, unit, sender, group, 2)
        user = auth.add_user(session, "cli:test", "viewer1", "correct-horse-9", Role.VIEWER)
        return auth.issue_token(session, "cli:test", user.id, "bench")[1], unit.id, first.id


async def test_the_report_list_follows_writes_by_another_process_and_another_engine(
    committed_factory: sessionmaker[Session], fresh_database_url: str, settings: Settings
) -> None:
    token, unit_id, report_id = _seed(committed_factory)
    app = create_app(settings.model_copy(update={"database_url": fresh_database_url}))
    other = create_db_engine(fresh_database_url)  # a second engine: another pool, as another process has
    headers = {"Authorization": f"Bearer {token}"}
    url = "/api/v1/reports?page_size=50"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            first = await client.get(url, headers=headers)
            assert first.status_code == 200, first.text
            assert [row["unit_name"] for row in first.json()["items"]] == ["县图书馆", "县图书馆"]
            etag = first.headers["etag"]
            assert (await client.get(url, headers=headers | {"If-None-Match": etag})).status_code == 304

            subprocess.run(
                [sys.executable, "-c", RENAME_IN_ANOTHER_PROCESS, fresh_database_url, str(unit_id), "县图书馆新馆"],
                check=True,
                timeout=120,
            )
            renamed = await client.get(url, headers=headers | {"If-None-Match": etag})
            assert renamed.status_code == 200 and renamed.headers["etag"] != etag
            assert {row["unit_name"] for row in renamed.json()["items"]} == {"县图书馆新馆"}

            volunteer = "/api/v1/reports?label=volunteer"
            assert (await client.get(volunteer, headers=headers)).json()["total"] == 2
            with transaction(make_session_factory(other)) as session:
                patch = ClassificationPatch(label="practice", reason="人工更正")
                classifier_service.relabel(session, "staff:other", report_id, patch)
            relabelled = (await client.get(volunteer, headers=headers)).json()
            assert relabelled["total"] == 1 and report_id not in [row["id"] for row in relabelled["items"]]
            listed = (await client.get(url, headers=headers)).json()["items"]
            assert next(row["label"] for row in listed if row["id"] == report_id) == "practice"

            with transaction(make_session_factory(other)) as session:
                group = session.scalars(select(ChatGroup)).one()
                sender = session.scalars(select(Member)).one()
                _report(session, session.get(Unit, unit_id), sender, group, 3)
            grown = (await client.get(url, headers=headers)).json()
            assert grown["total"] == 3 and len(grown["items"]) == 3
    finally:
        other.dispose()
        await app.state.close_versions()
        app.state.engine.dispose()


def _moves(factory: sessionmaker[Session], change: Callable[[Session], object]) -> bool:
    """Whether committing ``change`` moved the reports version."""
    with transaction(factory) as session:
        before = versions.current(session, versions.REPORTS)
    with transaction(factory) as session:
        change(session)
    with transaction(factory) as session:
        return versions.current(session, versions.REPORTS) > before


def test_every_write_the_list_shows_moves_the_reports_version_and_nothing_else_does(
    committed_factory: sessionmaker[Session],
) -> None:
    _token, unit_id, report_id = _seed(committed_factory)

    def sender(session: Session) -> Member:
        return session.scalars(select(Member)).one()

    def new_report(session: Session) -> None:
        _report(session, None, sender(session), session.scalars(select(ChatGroup)).one(), 9)

    def set_status(session: Session) -> None:
        session.get(Report, report_id).status = "needs_review"  # type: ignore[union-attr]

    showing = {
        "a new report": new_report,
        "a report's status (ORM)": set_status,
        "a bulk UPDATE of reports": lambda s: s.execute(update(Report).values(photo_count=Report.photo_count + 1)),
        "a report's tags replaced": lambda s: s.execute(delete(ReportTag).where(ReportTag.report_id == report_id)),
        "a unit renamed": lambda s: unit_service.update_unit(s, "cli:test", unit_id, UnitUpdate(name="县文化馆")),
        "a sender renamed": lambda s: setattr(sender(s), "display_name", "小李"),
        "a text UPDATE of reports": lambda s: s.execute(text("UPDATE reports SET photo_count = 0")),
        "a report deleted": lambda s: s.execute(delete(Report).where(Report.text.like("%9"))),
    }
    for what, change in showing.items():
        assert _moves(committed_factory, change), what

    hidden = {
        "a read": lambda s: s.scalars(select(Report)).all(),
        "a member's last seen time": lambda s: setattr(sender(s), "last_seen_at", utcnow()),
        "a unit's aliases": lambda s: unit_service.update_unit(s, "cli:test", unit_id, UnitUpdate(aliases=["文化馆"])),
        "a new unit": lambda s: unit_service.create_unit(s, "cli:test", UnitCreate(name="县档案馆")),
        "a loaded report, unchanged": lambda s: s.get(Report, report_id),
    }
    for what, change in hidden.items():
        assert not _moves(committed_factory, change), what


def test_a_rolled_back_write_does_not_move_the_reports_version(committed_factory: sessionmaker[Session]) -> None:
    _token, _unit_id, report_id = _seed(committed_factory)
    with transaction(committed_factory) as session:
        before = versions.read_all(session)
        session.get(Report, report_id).status = "withdrawn"  # type: ignore[union-attr]
        session.flush()
        session.rollback()
    with transaction(committed_factory) as session:
        assert versions.read_all(session) == before


async def test_the_coalesced_read_is_never_older_than_its_caller() -> None:
    """A caller arriving while a read runs waits for the next read; callers waiting together share one."""
    started: list[int] = []
    release = [threading.Event() for _ in range(3)]

    def read() -> dict[str, int]:
        n = len(started)
        started.append(n)
        release[n].wait(timeout=10)
        return {"reports": n}

    reader = VersionReader(in_thread(read))
    first = asyncio.ensure_future(reader.current())
    while not started:
        await asyncio.sleep(0.01)
    late = [asyncio.ensure_future(reader.current()) for _ in range(5)]  # arrived after read 0 began
    await asyncio.sleep(0.05)
    assert started == [0]  # no second read while the first runs
    release[0].set()
    assert (await first) == {"reports": 0}
    while len(started) < 2:
        await asyncio.sleep(0.01)
    release[1].set()
    assert [await f for f in late] == [{"reports": 1}] * 5  # one later read served all five
    release[2].set()
    assert started == [0, 1]


async def test_ready_views_refuse_missing_invalid_and_revoked_credentials_and_serve_sessions(
    client: httpx.AsyncClient, staff: Staff, session: Session
) -> None:
    paths = ["/api/v1/reports", "/api/v1/leaderboards/monthly?month=2026-10", "/api/v1/leaderboards/quarterly"]
    for path in paths:
        assert (await client.get(path)).status_code == 401
        bad = await client.get(path, headers={"Authorization": "Bearer wm_not-a-token"})
        assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
        assert (await client.get(path, headers={"Authorization": "Basic abc"})).status_code == 401
        assert (await client.get(path, headers=staff.headers("viewer"))).status_code == 200
    login = await client.post("/api/v1/auth/login", json={"username": "viewer", "password": "correct-horse-9"})
    assert login.status_code == 200, login.text
    assert (await client.get(paths[0])).status_code == 200  # the console's cookie
    client.cookies.clear()
    token = session.scalar(select(ApiToken).where(ApiToken.user_id == staff.users["viewer"].id))
    assert token is not None
    auth.revoke_token(session, "staff:admin", token.id)
    session.flush()
    for path in paths:
        assert (await client.get(path, headers=staff.headers("viewer"))).status_code == 401


async def test_gzip_copies_are_the_same_bytes_and_revalidate_in_either_encoding(
    client: httpx.AsyncClient, staff: Staff, data: Data
) -> None:
    for i in range(40):  # both bodies above GZIP_MIN_BYTES
        data.report(f"开展文明实践活动，理论宣讲进社区 {i}", unit=data.unit(f"县直单位{i}"))
    for path in ("/api/v1/reports?page_size=50", "/api/v1/leaderboards/monthly?month=2026-10"):
        plain = await client.get(path, headers=staff.headers("viewer") | {"Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        packed = await client.get(path, headers=staff.headers("viewer") | {"Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
        assert packed.content == plain.content  # httpx decoded it: the same JSON
        assert packed.headers["etag"] != plain.headers["etag"]
        refused = await client.get(path, headers=staff.headers("viewer") | {"Accept-Encoding": "gzip;q=0"})
        assert "content-encoding" not in refused.headers and refused.content == plain.content
        for response in (plain, packed):
            tag = {"If-None-Match": response.headers["etag"]}
            again = await client.get(path, headers=staff.headers("viewer") | tag)
            assert again.status_code == 304 and again.headers["etag"] == response.headers["etag"]
