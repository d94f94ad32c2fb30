"""Scoring fixtures built through the ORM: units, one chat group, a member per unit, reports and tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from classifier.models import Classification, ReportTag
from ingest.models import ChatGroup, Member, Report, Unit
from scoring import service

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class World:
    """Builds fixture rows directly through the ORM (ingest and classifier are not involved)."""

    session: Session
    group: ChatGroup
    members: dict[int, Member] = field(default_factory=dict)

    def unit(self, name: str, honour_level: str = "county", headcount: int | None = 100) -> Unit:
        unit = Unit(name=name, honour_level=honour_level, headcount=headcount, aliases=[])
        self.session.add(unit)
        self.session.flush()
        member = Member(platform="wechat", platform_user_id=f"wx-{unit.id}", display_name=name, unit_id=unit.id)
        self.session.add(member)
        self.session.flush()
        self.members[unit.id] = member
        return unit

    def report(
        self,
        unit: Unit,
        on: date | datetime,
        labels: tuple[str, ...] = ("practice",),
        *,
        activity_date: date | None = None,
        photos: int = 0,
        status: str = "classified",
        repost: bool = False,
        facts: dict[str, Any] | None = None,
    ) -> Report:
        """A report posted at a UTC instant (or local noon of a date); post_date is cut in Shanghai time."""
        at = on if isinstance(on, datetime) else datetime.combine(on, time(12), SHANGHAI).astimezone(UTC)
        report = Report(
            unit_id=unit.id,
            group_id=self.group.id,
            sender_id=self.members[unit.id].id,
            first_message_at=at,
            last_message_at=at,
            post_date=at.astimezone(SHANGHAI).date(),
            activity_date=activity_date,
            text="活动报送",
            photo_count=photos,
            status=status,
            label=labels[0] if labels else None,
            confidence=0.9,
            possible_repost=repost,
        )
        self.session.add(report)
        self.session.flush()
        for i, label in enumerate(labels):
            self.session.add(ReportTag(report_id=report.id, label=label, is_primary=i == 0, score=0.9))
        if facts is not None:
            self.session.add(
                Classification(report_id=report.id, label=labels[0], confidence=0.9, facts=facts, is_current=True)
            )
        self.session.flush()
        return report


@pytest.fixture
def world(session: Session) -> World:
    group = ChatGroup(platform="wechat", platform_id="g-1", name="文明单位群")
    session.add(group)
    session.flush()
    return World(session, group)


@pytest.fixture
def changxing() -> service.Rubric:
    return service.load_rubric("changxing-2020")


@pytest.fixture
def xixiang() -> service.Rubric:
    return service.load_rubric("xixiang-2022")
