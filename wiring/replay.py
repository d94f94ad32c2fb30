"""Replay a normalized-message JSONL file through the ingest pipeline in committed batches."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from classifier import pipeline
from ingest import replay as jsonl
from wenming.db import transaction
from wenming.settings import Settings

if TYPE_CHECKING:
    from ingest.assembly import AssemblyStats
    from ingest.models import Report

ReportHook = Callable[[Session, "Report"], None]
MAX_ERRORS_KEPT = 200


@dataclass
class ReplaySummary:
    """Counts for the closing summary of a replay."""

    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    assembled: int = 0
    reports_created: int = 0
    reports_updated: int = 0
    ignored: int = 0
    chatter: int = 0  # members' messages kept as messages, not reports
    unassigned: int = 0
    withdrawn: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Messages per second over the whole replay (storage and assembly)."""
        return self.lines / self.seconds if self.seconds > 0 else 0.0


def replay_file(
    factory: sessionmaker[Session],
    settings: Settings,
    path: Path,
    *,
    batch_size: int = 500,
    on_report: ReportHook | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplaySummary:
    """Store each batch of raw messages and commit, then assemble what is pending and commit again."""
    summary = ReplaySummary()
    started = time.perf_counter()
    batch: list[jsonl.ReplayLine] = []
    for line in jsonl.read_jsonl(path, max_image_bytes=settings.max_image_bytes):
        batch.append(line)
        if len(batch) >= batch_size:
            _store_and_assemble(factory, settings, batch, summary, on_report)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        _store_and_assemble(factory, settings, batch, summary, on_report)
        if progress:
            progress(len(batch))
    else:  # messages left pending by an interrupted earlier run still get assembled
        _assemble(factory, settings, summary, on_report)
    summary.seconds = time.perf_counter() - started
    return summary


def _store_and_assemble(
    factory: sessionmaker[Session],
    settings: Settings,
    batch: list[jsonl.ReplayLine],
    summary: ReplaySummary,
    on_report: ReportHook | None,
) -> None:
    from ingest import service as ingest_service

    items: list[ingest_service.Receivable] = [
        line.message
        if line.message is not None
        else ingest_service.Rejected(payload=line.payload, error=line.error or "无法解析", platform=line.platform)
        for line in batch
    ]
    with transaction(factory) as session:
        outcomes = ingest_service.receive_many(session, settings, items)  # one set-based store for the batch
    for line, outcome in zip(batch, outcomes, strict=True):
        summary.lines += 1
        if outcome.duplicate:
            summary.duplicates += 1
        elif outcome.status == "rejected":
            summary.rejected += 1
            if len(summary.errors) < MAX_ERRORS_KEPT:
                summary.errors.append((line.line_no, outcome.error or "无法解析"))
        else:
            summary.stored += 1
    _assemble(factory, settings, summary, on_report)


def _assemble(
    factory: sessionmaker[Session],
    settings: Settings,
    summary: ReplaySummary,
    on_report: ReportHook | None,
) -> None:
    from ingest import service as ingest_service

    # bounded transactions, also for a backlog an interrupted run left behind
    begin = partial(transaction, factory)
    for stats in pipeline.assemble_in_batches(begin, settings, on_report, ingest_service.BULK_ASSEMBLY):
        _count(summary, stats)


def _count(summary: ReplaySummary, stats: AssemblyStats) -> None:
    summary.assembled += stats.processed
    summary.reports_created += stats.reports_created
    summary.reports_updated += stats.reports_updated
    summary.ignored += stats.ignored
    summary.chatter += stats.chatter
    summary.unassigned += stats.unassigned
    summary.withdrawn += stats.withdrawn
