"""Leaderboards stay correct across API processes: a write committed by another process shows on the next GET."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from accounts import service as auth
from accounts.models import Role
from api.app import create_app
from ingest import units as unit_service
from ingest.schemas import UnitCreate
from wenming import versions
from wenming.db import transaction
from wenming.settings import Settings

pytestmark = pytest.mark.anyio

WRITE_IN_ANOTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from ingest import units
    from ingest.schemas import UnitCreate
    from wenming.db import create_db_engine, make_session_factory, transaction
    from wiring.models import load_all_models

    load_all_models()
    with transaction(make_session_factory(create_db_engine(sys.argv[1]))) as session:
        units.create_unit(session, "cli:test", UnitCreate(name=sys.argv[2]))
    """
)


def _seed(factory: sessionmaker[Session]) -> str:
    with transaction(factory) as session:
        unit_service.create_unit(session, "cli:test", UnitCreate(name="县图书馆"))
        user = auth.add_user(session, "cli:test", "viewer1", "correct-horse-9", Role.VIEWER)
        return auth.issue_token(session, "cli:test", user.id, "bench")[1]


async def test_a_write_by_another_process_shows_on_the_next_request_and_etags_follow_it(
    committed_factory: sessionmaker[Session], fresh_database_url: str, settings: Settings
) -> None:
    token = _seed(committed_factory)
    app = create_app(settings.model_copy(update={"database_url": fresh_database_url}))
    headers = {"Authorization": f"Bearer {token}"}
    url = "/api/v1/leaderboards/monthly"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            first = await client.get(url, headers=headers)
            assert first.status_code == 200, first.text
            names = [row["unit_name"] for row in first.json()["rows"]]
            assert names == ["县图书馆"]
            etag = first.headers["etag"]
            unchanged = await client.get(url, headers=headers | {"If-None-Match": etag})
            assert unchanged.status_code == 304 and unchanged.content == b""

            subprocess.run(
                [sys.executable, "-c", WRITE_IN_ANOTHER_PROCESS, fresh_database_url, "县档案馆"],
                check=True,
                timeout=120,
            )
            after = await client.get(url, headers=headers | {"If-None-Match": etag})
            assert after.status_code == 200 and after.headers["etag"] != etag
            assert sorted(row["unit_name"] for row in after.json()["rows"]) == ["县图书馆", "县档案馆"]
            again = await client.get(url, headers=headers | {"If-None-Match": after.headers["etag"]})
            assert again.status_code == 304
    finally:
        app.state.engine.dispose()


def test_only_a_committed_touch_moves_the_version(committed_factory: sessionmaker[Session]) -> None:
    with transaction(committed_factory) as session:
        before = versions.current(session)
    with transaction(committed_factory) as session:
        unit_service.create_unit(session, "cli:test", UnitCreate(name="县博物馆"))
        session.rollback()  # the write was abandoned: nothing changed, nothing to invalidate
    with transaction(committed_factory) as session:
        assert versions.current(session) == before
        unit_service.create_unit(session, "cli:test", UnitCreate(name="县文化馆"))
    with transaction(committed_factory) as session:
        assert versions.current(session) == before + 1
