"""API test harness: the app on the test's rolled-back session, an httpx client, users and sample data."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from accounts import security
from accounts import service as auth
from accounts.models import Role, StaffUser
from api.app import create_app
from api.deps import get_db
from api.ready import VersionReader, in_thread
from classifier.models import Classification, ReportTag
from ingest.models import ChatGroup, Media, Member, RawMessage, Report, ReportPhoto, Unit
from wenming import versions
from wenming.settings import Settings

PASSWORD = "correct-horse-9"
_PASSWORD_HASH = security.hash_password(PASSWORD)  # hashed once: argon2 is deliberately slow


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app(settings: Settings, session: Session, database_url: str) -> Iterator[FastAPI]:
    """The real app, its per-request transaction running as a savepoint inside the test's transaction."""
    application = create_app(settings.model_copy(update={"database_url": database_url}))

    def _test_db() -> Iterator[Session]:
        session.commit()  # keep what the test set up; the request then gets a savepoint of its own
        try:
            yield session
            session.commit()  # releases the savepoint; the outer transaction is rolled back after the test
        except BaseException:
            session.rollback()
            raise

    @asynccontextmanager
    async def _test_read(_request: object) -> AsyncIterator[Session]:
        yield session  # the ready views (api.ready) read the test's data, like every other request

    application.dependency_overrides[get_db] = _test_db
    application.state.open_read = _test_read
    application.state.write_token_use = lambda _request, principal: auth.touch_token(session, principal.token_id)
    application.state.versions = VersionReader(in_thread(lambda: versions.read_all(session)))
    yield application
    application.state.engine.dispose()


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class Staff:
    """Users of every role with their bearer tokens."""

    users: dict[str, StaffUser] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def add_user(session: Session, username: str, role: Role, active: bool = True) -> StaffUser:
    user = StaffUser(username=username, password_hash=_PASSWORD_HASH, role=role.value, active=active)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def staff(session: Session) -> Staff:
    out = Staff()
    for role in Role:
        user = add_user(session, role.value, role)
        _token, plain = auth.create_token(session, user, "测试")
        out.users[role.value] = user
        out.tokens[role.value] = plain
    return out


def jpeg_bytes(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (640, 480)) -> bytes:
    """A small photo-like JPEG: a sky, a ground and a sun, tinted by ``color``."""
    img = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.rectangle((0, h * 2 // 3, w, h), fill=(color[1], color[2], color[0]))
    draw.ellipse((w // 2, h // 6, w // 2 + h // 4, h // 6 + h // 4), fill=(250, 220, 120))
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


class Data:
    """Builds units, groups, members and reports directly through the ORM."""

    def __init__(self, session: Session, settings: Settings):
        self.session = session
        self.settings = settings
        self._n = 0
        self.group = ChatGroup(platform="wechat", platform_id="g-1", name="文明单位工作群")
        session.add(self.group)
        session.flush()

    def _next(self) -> int:
        self._n += 1
        return self._n

    def unit(self, name: str, **kw: Any) -> Unit:
        unit = Unit(name=name, aliases=kw.pop("aliases", []), **kw)
        self.session.add(unit)
        self.session.flush()
        return unit

    def member(self, name: str, unit: Unit | None = None, **kw: Any) -> Member:
        member = Member(
            platform="wechat",
            platform_user_id=f"wxid_{self._next()}",
            display_name=name,
            unit_id=unit.id if unit else None,
            **kw,
        )
        self.session.add(member)
        self.session.flush()
        return member

    def report(
        self,
        text: str,
        *,
        unit: Unit | None = None,
        sender: Member | None = None,
        label: str | None = "practice",
        confidence: float | None = 0.9,
        status: str = "classified",
        day: date = date(2026, 10, 12),
        photos: int = 0,
    ) -> Report:
        sender = sender or self.member(f"发送人{self._next()}", unit)
        at = datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC) + timedelta(minutes=self._next())
        report = Report(
            unit_id=unit.id if unit else None,
            group_id=self.group.id,
            sender_id=sender.id,
            first_message_at=at,
            last_message_at=at,
            text_message_at=at,
            post_date=day,
            text=text,
            photo_count=photos,
            status=status,
            label=label,
            confidence=confidence,
        )
        self.session.add(report)
        self.session.flush()
        if label:
            self.session.add(
                Classification(report_id=report.id, label=label, confidence=confidence or 0.0, model_version="t")
            )
            self.session.add(ReportTag(report_id=report.id, label=label, is_primary=True))
        for i in range(photos):
            n = self._next()
            color = ((n * 67) % 200 + 30, (n * 131) % 200 + 30, (n * 29) % 200 + 30)
            self.photo(report, sender, at + timedelta(seconds=i + 1), color=color)
        self.session.flush()
        return report

    def message(
        self,
        text: str,
        *,
        sender: Member | None = None,
        unit: Unit | None = None,
        status: str = "chatter",
        reason: str | None = "ack",
        kind: str = "text",
        day: date = date(2026, 10, 12),
    ) -> RawMessage:
        """A stored group message that assembly kept as a message (not part of a report)."""
        sender = sender or self.member(f"发送人{self._next()}", unit)
        at = datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC) + timedelta(minutes=self._next())
        raw = RawMessage(
            platform="wechat",
            group_id=self.group.id,
            sender_id=sender.id,
            sender_name=sender.display_name,
            platform_message_id=f"m{self._next()}",
            sent_at=at,
            kind=kind,
            text=text,
            status=status,
            reason=reason,
        )
        self.session.add(raw)
        self.session.flush()
        return raw

    def photo(self, report: Report, sender: Member, at: datetime, color: tuple[int, int, int]) -> Media:
        data = jpeg_bytes(color)
        digest = security.digest(data.hex())
        rel = f"{digest[:2]}/{digest}.jpg"
        path = self.settings.media_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        media = Media(sha256=digest, path=rel, mime="image/jpeg", bytes=len(data), width=640, height=480)
        self.session.add(media)
        self.session.flush()
        raw = RawMessage(
            platform="wechat",
            group_id=self.group.id,
            sender_id=sender.id,
            platform_message_id=f"m{self._next()}",
            sent_at=at,
            kind="image",
            media_id=media.id,
            status="assembled",
            report_id=report.id,
        )
        self.session.add(raw)
        self.session.flush()
        self.session.add(ReportPhoto(report_id=report.id, media_id=media.id, raw_message_id=raw.id, posted_at=at))
        self.session.flush()
        return media


@pytest.fixture
def data(session: Session, settings: Settings) -> Data:
    return Data(session, settings)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The error body, asserting it has the one shape every error shares."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["error"]["message"]), body  # Chinese message
    return body["error"]


Factory = Callable[..., Any]
