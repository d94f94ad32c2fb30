"""The batched replay and the live per-message path store exactly the same rows for the demo file (issue 18).

Replays, imports and bursts are stored and assembled in batches; a live message is stored in its own transaction
and assembled a few at a time. Both must end in the same messages, reports, photos and labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.sink import IngestSink
from classifier import pipeline
from ingest import replay as jsonl
from ingest import service as ingest_service
from ingest import unit_import
from ingest.models import ChatGroup, Media, Member, RawMessage, Report, ReportPhoto, Unit
from wenming import schema
from wenming.db import create_db_engine, make_session_factory, transaction
from wenming.settings import Settings
from wiring.replay import replay_file

DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"
LIVE_ASSEMBLY_EVERY = 40  # messages between two assembly ticks on the live path


def _factory(url: str) -> sessionmaker[Session]:
    schema.upgrade(url)
    factory = make_session_factory(create_db_engine(url))
    with transaction(factory) as session:
        unit_import.import_units_file(session, DEMO / "units.csv")
    return factory


def _per_message(factory: sessionmaker[Session], settings: Settings) -> None:
    """The live path: one transaction per message, assembly every few messages (as ``wenming run`` ticks)."""
    sink = IngestSink(factory, settings)
    for n, line in enumerate(jsonl.read_jsonl(DEMO / "messages.jsonl", max_image_bytes=settings.max_image_bytes)):
        with transaction(factory) as session:
            if line.message is not None:
                ingest_service.receive(session, settings, line.message)
            else:
                ingest_service.record_rejected(session, payload=line.payload, error=line.error or "", platform="x")
        if n % LIVE_ASSEMBLY_EVERY == LIVE_ASSEMBLY_EVERY - 1:
            sink.assemble_sync()
    sink.assemble_sync()


def _rows(factory: sessionmaker[Session]) -> dict[str, Any]:
    """Every stored row by natural keys (platform ids, sha256), never by database ids."""
    with factory() as session:
        messages = {
            (group, platform_id): (kind, status, reason, error, report_id is not None)
            for group, platform_id, kind, status, reason, error, report_id in session.execute(
                select(
                    ChatGroup.platform_id,
                    RawMessage.platform_message_id,
                    RawMessage.kind,
                    RawMessage.status,
                    RawMessage.reason,
                    RawMessage.error,
                    RawMessage.report_id,
                ).outerjoin(ChatGroup, ChatGroup.id == RawMessage.group_id)
            )
        }
        parts: dict[int, list[str]] = {}
        for report_id, platform_id in session.execute(
            select(RawMessage.report_id, RawMessage.platform_message_id).where(RawMessage.report_id.is_not(None))
        ):
            parts.setdefault(report_id, []).append(platform_id)
        reports = {}
        for report, sender, unit in session.execute(
            select(Report, Member.platform_user_id, Unit.name)
            .join(Member, Member.id == Report.sender_id)
            .outerjoin(Unit, Unit.id == Report.unit_id)
        ):
            key = tuple(sorted(parts.get(report.id, [])))
            reports[key] = (
                sender, unit, report.text, report.first_message_at, report.last_message_at, report.post_date,
                report.photo_count, report.possible_repost, report.status, report.label,
            )  # fmt: skip
        photos = {
            (platform_id, sha, repost)
            for platform_id, sha, repost in session.execute(
                select(RawMessage.platform_message_id, Media.sha256, ReportPhoto.repost_of_media_id.is_not(None))
                .join(RawMessage, RawMessage.id == ReportPhoto.raw_message_id)
                .join(Media, Media.id == ReportPhoto.media_id)
            )
        }
        members = set(session.execute(select(Member.platform_user_id, Member.display_name, Member.unit_id)).all())
        media = set(session.scalars(select(Media.sha256)))
    return {"messages": messages, "reports": reports, "photos": photos, "members": members, "media": media}


def test_batched_replay_and_live_path_store_the_same_rows(settings: Settings, tmp_path: Path) -> None:
    results = []
    for name in ("batched", "live"):
        run = settings.model_copy(update={"media_dir": tmp_path / name / "media", "data_dir": tmp_path / name / "data"})
        factory = _factory(f"sqlite:///{tmp_path / name / 'db.sqlite'}")
        if name == "batched":
            summary = replay_file(factory, run, DEMO / "messages.jsonl", on_report=pipeline.report_hook(run))
            assert summary.lines > 2000
        else:
            _per_message(factory, run)
        results.append(_rows(factory))
    batched, live = results
    assert len(batched["reports"]) > 300 and len(batched["photos"]) > 500
    for table in batched:
        assert batched[table] == live[table], table
