"""Adapter connection state shared between the running process and `wenming bot status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.base import AdapterStatus
from bot.models import AdapterState
from wenming.db import utcnow

STALE_AFTER = timedelta(seconds=60)  # `wenming run` writes every WENMING_BOT_STATUS_INTERVAL_SECONDS


@dataclass(frozen=True)
class StoredState:
    name: str
    platform: str
    connected: bool
    detail: str
    accounts: str
    last_event_at: datetime | None
    updated_at: datetime
    stale: bool
    changed_at: datetime | None = None
    problem: str = ""
    send_failures: int = 0
    last_send_error: str = ""


def save_statuses(session: Session, statuses: list[AdapterStatus], now: datetime | None = None) -> None:
    """Upsert one row per adapter."""
    now = now or utcnow()
    for status in statuses:
        row = session.get(AdapterState, status.name) or AdapterState(name=status.name)
        if row.changed_at is None or row.connected != status.connected:
            row.changed_at = now
        row.platform = status.platform
        row.connected = status.connected
        row.problem = status.problem[:20]
        row.send_failures = status.send_failures
        row.last_send_error = status.last_send_error
        row.detail = status.detail
        row.accounts = "、".join(status.accounts)[:500]
        row.last_event_at = status.last_event_at
        row.updated_at = now
        session.add(row)
    session.flush()


def load_statuses(session: Session, now: datetime | None = None) -> list[StoredState]:
    """Every adapter's last state; rows not refreshed for a minute are marked stale."""
    now = now or utcnow()
    return [
        StoredState(
            name=row.name,
            platform=row.platform,
            connected=row.connected,
            detail=row.detail,
            accounts=row.accounts,
            last_event_at=row.last_event_at,
            updated_at=row.updated_at,
            stale=now - row.updated_at > STALE_AFTER,
            changed_at=row.changed_at,
            problem=row.problem,
            send_failures=row.send_failures,
            last_send_error=row.last_send_error,
        )
        for row in session.scalars(select(AdapterState).order_by(AdapterState.name))
    ]
