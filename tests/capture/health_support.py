"""Traffic with controlled times for capture-health tests: messages "captured live" at the moment they were sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.orm import Session

from ingest import service as ingest_service
from ingest.models import RawMessage
from ingest.schemas import IncomingMessage
from wenming.settings import Settings

CST = ZoneInfo("Asia/Shanghai")
QQ_GROUP = "650433512"
GROUP_NAME = "长兴县文明单位工作群"
_ids = count(1)


def say(
    session: Session,
    settings: Settings,
    at: datetime,
    *,
    group: str = QQ_GROUP,
    platform: str = "qq",
    received: datetime | None = None,
    text: str = "县人民医院今日开展志愿服务活动",
) -> int:
    """One message sent at ``at`` and stored at ``received`` (default: the same moment, i.e. live capture)."""
    n = next(_ids)
    outcome = ingest_service.receive(
        session,
        settings,
        IncomingMessage(
            platform=platform,
            group_id=group,
            group_name=GROUP_NAME if platform == "qq" else group,
            sender_id=f"1000{n % 7}",
            sender_name="长兴县人民医院-王医生",
            message_id=f"hm{n}",
            sent_at=at,
            kind="text",
            text=f"{text}（{n}）",
        ),
    )
    session.execute(
        update(RawMessage).where(RawMessage.id == outcome.raw_message_id).values(received_at=received or at)
    )
    return outcome.raw_message_id


def every(session: Session, settings: Settings, start: datetime, end: datetime, step: timedelta, **kw: object) -> None:
    """Regular traffic from ``start`` to ``end`` inclusive."""
    at = start
    while at <= end:
        say(session, settings, at, **kw)  # type: ignore[arg-type]
        at += step
