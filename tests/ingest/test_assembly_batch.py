"""Batched assembly equals the per-message query path (issue 18): same reports, photos, reposts and statuses.

``Assembler.prepare`` reads a batch's senders, near reports, pictures and postings in a few queries and answers
the near-report look-ups in memory. The reference below is the path it replaced: no preparation, every look-up a
query (``repository.nearest_text_report`` / ``photo_only_reports_near``), pictures and postings read on demand.
Generated traffic covers out-of-order arrival, re-posted and near-duplicate photos, recalls before and after their
message, a sender switching unit, chatter inside photo windows, window edges, and text after photos and photos
after text within and across batch boundaries.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ingest import repository, service
from ingest.assembly import Assembler, AssemblyStats
from ingest.models import Media, Member, RawMessage, Report, ReportPhoto, Unit
from ingest.repository import PendingRaw
from ingest.schemas import IncomingMessage
from tests.ingest.builders import T0, message, photo, reencoded
from wenming.settings import Settings

SENDERS = {  # sender → names used over time (the last one switches unit half-way)
    "s1": ["长兴县市场监管局-张三"],
    "s2": ["县人民医院-李四"],
    "s3": ["长兴中学-王五"],
    "s4": ["县教育局-赵六", "长兴中学-赵六"],
}
ACTIVITIES = ["开展文明劝导志愿服务", "组织理论宣讲活动", "开展垃圾分类宣传", "走访慰问困难群众", "开展消防安全演练"]


class QueryPathAssembler(Assembler):
    """The per-message path batched assembly replaced: nothing prepared, every near-report look-up a query, a
    report's pictures read from the database each time."""

    def prepare(self, raws: list[PendingRaw]) -> None:  # type: ignore[override]
        return None

    def _nearest_text(self, group_id: int, sender_id: int, moment: datetime) -> Report | None:
        return repository.nearest_text_report(self.session, group_id, sender_id, moment, self.window)

    def _photo_only_near(self, group_id: int, sender_id: int, moment: datetime) -> list[Report]:
        return list(repository.photo_only_reports_near(self.session, group_id, sender_id, moment, self.window))

    def _pictures_of(self, report: Report) -> set[int]:
        self._write_photos()
        return repository.photo_media_ids(self.session, report.id)


class CheckingAssembler(Assembler):
    """The batched path, asking the database too at every look-up and at the window's edges around it."""

    checked = 0

    def _nearest_text(self, group_id: int, sender_id: int, moment: datetime) -> Report | None:
        self._compare(group_id, sender_id, moment)
        return super()._nearest_text(group_id, sender_id, moment)

    def _photo_only_near(self, group_id: int, sender_id: int, moment: datetime) -> list[Report]:
        self._compare(group_id, sender_id, moment)
        return super()._photo_only_near(group_id, sender_id, moment)

    def _compare(self, group_id: int, sender_id: int, moment: datetime) -> None:
        second = timedelta(seconds=1)
        for probe in (moment, moment - self.window, moment + self.window, moment - second, moment + second):
            memory_text = super()._nearest_text(group_id, sender_id, probe)
            memory_photos = super()._photo_only_near(group_id, sender_id, probe)
            query_text = repository.nearest_text_report(self.session, group_id, sender_id, probe, self.window)
            query_photos = repository.photo_only_reports_near(self.session, group_id, sender_id, probe, self.window)
            assert memory_text is query_text, (probe, memory_text, query_text)
            assert memory_photos == list(query_photos), probe
            CheckingAssembler.checked += 1


def _say(events: list[IncomingMessage], at: datetime, **fields: Any) -> IncomingMessage:
    sent = message(at=at, **fields)
    events.append(sent)
    return sent


def _traffic(seed: int) -> list[list[IncomingMessage]]:
    """Arrival batches of generated group traffic with the edge cases above, partly out of order."""
    rng = random.Random(seed)
    pictures = [photo(seed * 100 + n) for n in range(8)]
    pictures += [reencoded(pictures[0]), reencoded(pictures[3], scale=0.8)]  # near-duplicates of earlier ones
    events: list[IncomingMessage] = []
    recallable: list[IncomingMessage] = []
    moment = T0
    for n in range(70):
        sender = rng.choice(sorted(SENDERS))
        names = SENDERS[sender]
        name = names[0] if n < 35 else names[-1]
        group = rng.choice(["g1", "g1", "g2"])
        moment += timedelta(seconds=rng.choice([30, 90, 300, 599, 600, 601, 1200]))

        say = partial(_say, events, sender=sender, name=name, group=group)
        shape = rng.choice(["text_then_photos", "photos_then_text", "photos_only", "text_only", "chatter_between"])
        offsets = sorted(rng.choice([0, 20, 60, 240, 599, 600, 601]) for _ in range(rng.randint(1, 4)))
        if shape in ("text_then_photos", "text_only", "chatter_between"):
            recallable.append(say(moment, text=f"{name.split('-')[0]}{rng.choice(ACTIVITIES)}"))
        if shape != "text_only":
            for offset in offsets:
                shot = say(moment + timedelta(seconds=offset), image=rng.choice(pictures))
                if rng.random() < 0.15:
                    recallable.append(shot)
        if shape == "chatter_between":
            say(moment + timedelta(seconds=30), text="收到")
        if shape == "photos_then_text":
            say(moment + timedelta(seconds=offsets[-1] + rng.choice([10, 300, 600])), text=rng.choice(ACTIVITIES))
    for target in rng.sample(recallable, 6):  # some recalls arrive before the message they withdraw
        after = timedelta(seconds=rng.choice([-5, 30, 400]))
        recall = message(
            kind="recall",
            sender=target.sender_id,
            name=target.sender_name,
            group=target.group_id,
            at=target.sent_at + after,
            recalls_message_id=target.message_id,
            message_id=f"{target.message_id}#recall",
            text="撤回了一条消息",
        )
        events.insert(max(0, events.index(target) + rng.choice([-3, 1, 8])), recall)
    for _ in range(25):  # late deliveries: a message moved a few places along, sometimes into a later batch
        index = rng.randrange(len(events))
        events.insert(min(len(events), index + rng.randint(1, 30)), events.pop(index))
    batches, start = [], 0
    while start < len(events):
        size = rng.randint(5, 30)
        batches.append(events[start : start + size])
        start += size
    return [*batches, *_late_text_between_photo_groups(moment + timedelta(hours=1), pictures)]


def _late_text_between_photo_groups(moment: datetime, pictures: list[bytes]) -> list[list[IncomingMessage]]:
    """Two photo-only reports 601 s apart, then (one batch later) a text between them: it takes the first and
    folds the second into it; a photo after that joins the merged report."""
    who = {"sender": "s1", "name": SENDERS["s1"][0], "group": "g1"}
    photos = [message(at=moment + timedelta(seconds=s), image=pictures[n], **who) for n, s in enumerate([0, 601])]
    text = message(at=moment + timedelta(seconds=600), text="县市场监管局开展文明劝导志愿服务", **who)
    later = message(at=moment + timedelta(seconds=900), image=pictures[5], **who)
    return [photos, [text, later]]


def _replay(session: Session, settings: Settings, batches: list[list[IncomingMessage]], limit: int) -> AssemblyStats:
    """Store each arrival batch, then assemble what is pending in runs of at most ``limit`` messages."""
    total = AssemblyStats()
    for batch in batches:
        for incoming in batch:
            service.receive(session, settings, incoming)
        while True:
            stats = service.assemble_pending(session, settings, limit=limit)
            total.add(stats)
            if stats.processed < limit:
                break
    return total


def _rows(session: Session) -> dict[str, Any]:
    """Every assembly result by natural keys (platform message ids, sha256), never by database ids."""
    session.flush()
    session.expire_all()
    parts: dict[int, list[str]] = {}
    messages = {}
    for raw in session.scalars(select(RawMessage)):
        messages[raw.platform_message_id] = (raw.status, raw.reason, raw.report_id is not None)
        if raw.report_id is not None:
            parts.setdefault(raw.report_id, []).append(raw.platform_message_id)
    units = dict(session.execute(select(Unit.id, Unit.name)).all())
    reports = {}
    for report in session.scalars(select(Report)):
        reports[tuple(sorted(parts.get(report.id, [])))] = (
            units.get(report.unit_id) if report.unit_id else None,
            report.text,
            report.first_message_at,
            report.last_message_at,
            report.text_message_at,
            report.post_date,
            report.photo_count,
            report.status,
            report.possible_repost,
        )
    repost = aliased(Media)
    photos = sorted(
        session.execute(
            select(RawMessage.platform_message_id, Media.sha256, repost.sha256, ReportPhoto.posted_at)
            .join(RawMessage, RawMessage.id == ReportPhoto.raw_message_id)
            .join(Media, Media.id == ReportPhoto.media_id)
            .outerjoin(repost, repost.id == ReportPhoto.repost_of_media_id)
        ).all()
    )
    members = sorted(
        (user_id, units.get(unit_id) if unit_id else None, source)
        for user_id, unit_id, source in session.execute(
            select(Member.platform_user_id, Member.unit_id, Member.unit_source)
        )
    )
    return {"messages": messages, "reports": reports, "photos": photos, "members": members}


@pytest.fixture
def fresh(session: Session) -> Iterator[Any]:
    """Run a path inside a savepoint and roll it back, so both paths start from the same database."""

    def run(assembler: type[Assembler], batches: list[list[IncomingMessage]], settings: Settings, limit: int) -> Any:
        savepoint = session.begin_nested()
        original = service.Assembler
        service.Assembler = assembler  # type: ignore[misc]
        try:
            stats = _replay(session, settings, batches, limit)
            rows = _rows(session)
        finally:
            service.Assembler = original  # type: ignore[misc]
            savepoint.rollback()
            session.expunge_all()
            session.info.clear()  # the ingest repository's per-session cache of groups, members and media
        return stats, rows

    yield run


@pytest.mark.parametrize(("seed", "limit"), [(1, 7), (2, 500), (3, 13)])
def test_batched_assembly_equals_the_query_path(
    fresh: Any, settings: Settings, units: dict[str, Unit], seed: int, limit: int
) -> None:
    batches = _traffic(seed)
    reference_stats, reference = fresh(QueryPathAssembler, batches, settings, limit)
    batched_stats, batched = fresh(Assembler, batches, settings, limit)
    assert batched == reference
    assert batched_stats == reference_stats
    assert reference_stats.reports_created > 20 and reference_stats.reposts > 0  # the traffic has what it must
    assert reference_stats.withdrawn + reference_stats.photos_withdrawn > 0
    assert any(len(key) > 2 for key in reference["reports"])  # reports with a text and photos


def test_in_memory_look_ups_equal_the_queries_at_every_step(
    fresh: Any, settings: Settings, units: dict[str, Unit]
) -> None:
    CheckingAssembler.checked = 0
    fresh(CheckingAssembler, _traffic(4), settings, 11)
    assert CheckingAssembler.checked > 500
