"""What the console shows about capture: adapters (with what a logout means), alerts, gaps to back-fill, agents.

Reads only what the health check of `wenming run` stored (every five minutes); a page view never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from capture import gaps
from capture import repository as capture_repository
from capture import service as capture_service
from capture.schemas import AlertView
from wenming.db import utcnow
from wenming.settings import Settings

GAP_DAYS = 7
TILE_GAPS = 3


@dataclass(frozen=True)
class Gap:
    """A resumed capture window and the commands that fill it."""

    alert: AlertView
    end: Any
    span: str
    commands: list[str]


def _gaps(alerts: list[AlertView]) -> list[Gap]:
    out = []
    for alert in alerts:
        end = alert.gap_end or alert.closed_at or alert.gap_start
        span = gaps.describe_duration((end - alert.gap_start).total_seconds())
        out.append(Gap(alert, end, span, (alert.backfill or "").splitlines()))
    return out


def tile(db: Session) -> dict[str, Any]:
    """The dashboard's capture tile: open alerts, and the newest gaps with their back-fill commands."""
    since = utcnow() - timedelta(days=GAP_DAYS)
    photos = capture_repository.media_failures(db, since)
    return {
        "alerts": capture_repository.current_alerts(db),
        "gaps": _gaps(capture_repository.recent_gaps(db, since, limit=TILE_GAPS)),
        "photos": sum(p.count for p in photos),
    }


def page(db: Session, settings: Settings) -> dict[str, Any]:
    """Everything the 采集状态 page shows."""
    since = utcnow() - timedelta(days=GAP_DAYS)
    groups = capture_service.group_health(db, settings)
    return {
        "adapters": capture_repository.adapter_states(db),
        "alerts": capture_repository.current_alerts(db),
        "gaps": _gaps(capture_repository.recent_gaps(db, since)),
        "photos": capture_repository.media_failures(db, since),
        "groups": [(g, gaps.describe_duration(g.threshold_seconds) if g.threshold_seconds else None) for g in groups],
        "agents": capture_repository.agents(db),
        "gap_days": GAP_DAYS,
    }
