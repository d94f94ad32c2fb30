"""Read a report's photos once each, keep the lines, derive evidence signals, and re-classify with the banners."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from classifier.ocr import banners, engine
from classifier.ocr.models import MediaText, MediaTextLine, MediaTextStatus, ReportPhotoEvidence
from classifier.predictor import VAGUE_TEXT_MAX_CHARS
from ingest.media import MediaError, resolve_under
from ingest.models import Media, Report, ReportPhoto, ReportStatus, Unit
from ingest.resolution import UnitMatcher
from wenming import audit
from wenming.audit import AuditKind
from wenming.queue import service as queue_service
from wenming.queue.models import Job, JobKind, JobStatus
from wenming.settings import Settings

log = logging.getLogger(__name__)

OCR_REPORT_JOB = JobKind.OCR_REPORT.value
OCR_MAX_ATTEMPTS = 3


@dataclass
class _Reading:
    """The outcome of reading one image, computed before any database write (SQLite's write lock stays free)."""

    media_id: int
    status: MediaTextStatus
    result: engine.OcrResult | None = None
    error: str | None = None


@dataclass
class ReportOcrOutcome:
    report_id: int
    media_read: int = 0
    media_skipped: int = 0
    banner_lines: list[str] = field(default_factory=list)
    reclassified: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "media_read": self.media_read,
            "media_skipped": self.media_skipped,
            "banner_lines": self.banner_lines,
            "reclassified": self.reclassified,
        }


def limits_from(settings: Settings) -> engine.OcrLimits:
    return engine.OcrLimits(
        max_pixels=settings.ocr_max_pixels,
        max_side=settings.ocr_max_side,
        time_budget_seconds=settings.ocr_time_budget_seconds,
        min_confidence=settings.ocr_min_confidence,
    )


# Reports whose photos are all the evidence (no text, or "今天的活动") are read first, then those waiting for
# staff review, whose photos may settle the label; confidently classified reports last.
PHOTO_ONLY_PRIORITY = 10
REVIEW_PRIORITY = 5


def ocr_priority(report: Report | None) -> int:
    """How much reading this report's photos can change, as a queue priority."""
    if report is None:
        return 0
    if len((report.text or "").strip()) <= VAGUE_TEXT_MAX_CHARS:
        return PHOTO_ONLY_PRIORITY
    return REVIEW_PRIORITY if report.status == ReportStatus.NEEDS_REVIEW.value else 0


def enqueue_ocr_for_report(session: Session, report_id: int, settings: Settings | None = None) -> Job | None:
    """Queue reading a report's photos; the same set of photos is never queued twice."""
    if settings is not None and not settings.ocr_enabled:
        return None
    media_ids = sorted(set(session.scalars(select(ReportPhoto.media_id).where(ReportPhoto.report_id == report_id))))
    return _enqueue_reading(session, report_id, media_ids, session.get(Report, report_id))


def enqueue_ocr_for_reports(session: Session, reports: Sequence[Report], settings: Settings | None = None) -> None:
    """``enqueue_ocr_for_report`` for a batch: the reports' photos are read in one query."""
    if (settings is not None and not settings.ocr_enabled) or not reports:
        return
    photos: dict[int, set[int]] = {}
    rows = session.execute(
        select(ReportPhoto.report_id, ReportPhoto.media_id).where(ReportPhoto.report_id.in_([r.id for r in reports]))
    )
    for report_id, media_id in rows.tuples():
        photos.setdefault(report_id, set()).add(media_id)
    for report in reports:
        _enqueue_reading(session, report.id, sorted(photos.get(report.id, ())), report)


def _enqueue_reading(session: Session, report_id: int, media_ids: list[int], report: Report | None) -> Job | None:
    if not media_ids:
        return None
    digest = hashlib.sha1(",".join(map(str, media_ids)).encode()).hexdigest()[:16]
    return queue_service.enqueue(
        session,
        OCR_REPORT_JOB,
        {"report_id": report_id},
        key=f"ocr:report:{report_id}:{digest}",
        priority=ocr_priority(report),
        max_attempts=OCR_MAX_ATTEMPTS,
    )


@dataclass(frozen=True)
class PhotoToRead:
    """A stored image still to be read: plain values, usable after the look-up's session is gone."""

    id: int
    path: str


@dataclass(frozen=True)
class ReadingPlan:
    """What an OCR job found to do before the slow part: which of the report's images nobody has read yet."""

    report_id: int
    exists: bool
    pending: tuple[PhotoToRead, ...] = ()
    skipped: int = 0


def read_media(settings: Settings, media: Media | PhotoToRead, ocr_engine: Any) -> _Reading:
    """Run OCR on one stored image within the limits; refusals are outcomes, not exceptions."""
    try:
        path = resolve_under(settings.media_dir, media.path)
        data = path.read_bytes()
    except (MediaError, FileNotFoundError) as exc:
        return _Reading(media.id, MediaTextStatus.MISSING, error=f"图片文件缺失：{media.path}（{exc}）")
    limits = limits_from(settings)
    try:
        image = engine.load_image(data, limits)
    except engine.OcrRefused as exc:
        return _Reading(media.id, MediaTextStatus.REFUSED, error=str(exc))
    return _Reading(media.id, MediaTextStatus.READ, result=engine.read_image(image, limits, ocr_engine))


def store_reading(session: Session, reading: _Reading) -> bool:
    """Save one image's lines; False if another worker stored the same image first."""
    result = reading.result
    row = MediaText(
        media_id=reading.media_id,
        status=reading.status.value,
        engine=engine.engine_version(),
        error=reading.error,
    )
    lines: list[MediaTextLine] = []
    if result is not None:
        row.width, row.height, row.detected = result.width, result.height, result.detected
        row.elapsed_ms, row.truncated = round(result.elapsed_seconds * 1000), result.truncated
        flags = banners.banner_flags(banners.ImageLines(result.width, result.height, result.lines))
        lines = [
            MediaTextLine(
                media_id=reading.media_id,
                position=position,
                text=line.text,
                confidence=line.confidence,
                box=line.box,
                line_height=round(line.height, 1),
                is_banner=flag,
            )
            for position, (line, flag) in enumerate(zip(result.lines, flags, strict=True))
        ]
    try:
        with session.begin_nested():
            session.add(row)
            session.add_all(lines)
    except IntegrityError:
        return False
    return True


def plan_reading(session: Session, report_id: int) -> ReadingPlan:
    """Which of the report's images are still unread (each image is read once, ever)."""
    if session.get(Report, report_id) is None:
        return ReadingPlan(report_id, exists=False)
    media = _report_media(session, report_id)
    already = set(session.scalars(select(MediaText.media_id).where(MediaText.media_id.in_([m.id for m in media]))))
    pending = tuple(PhotoToRead(item.id, item.path) for item in media if item.id not in already)
    return ReadingPlan(report_id, exists=True, pending=pending, skipped=len(media) - len(pending))


def read_planned(settings: Settings, plan: ReadingPlan) -> list[_Reading]:
    """The slow part, with no database transaction open: SQLite's write lock stays free meanwhile."""
    if not settings.ocr_enabled or not plan.pending:
        return []
    ocr_engine = engine.get_engine(settings.ocr_threads)
    return [read_media(settings, item, ocr_engine) for item in plan.pending]


def apply_readings(
    session: Session, settings: Settings, plan: ReadingPlan, readings: list[_Reading]
) -> ReportOcrOutcome:
    """Store the lines, update the evidence and re-classify with the banner lines, in the job's transaction."""
    outcome = ReportOcrOutcome(plan.report_id, media_skipped=plan.skipped)
    report = session.get(Report, plan.report_id)
    if report is None:
        return outcome
    outcome.media_read = sum(store_reading(session, reading) for reading in readings)
    session.flush()
    evidence = update_evidence(session, report)
    outcome.banner_lines = list(evidence.banner_lines)
    outcome.reclassified = reclassify(session, settings, report, evidence.banner_lines)
    session.flush()
    return outcome


def read_report_photos(session: Session, settings: Settings, report_id: int) -> ReportOcrOutcome:
    """Plan, read and apply in the caller's session, holding it through the OCR (tests and one-off scripts; the
    worker's handler splits the phases so no transaction stays open during inference)."""
    plan = plan_reading(session, report_id)
    return apply_readings(session, settings, plan, read_planned(settings, plan))


def _report_media(session: Session, report_id: int) -> list[Media]:
    stmt = (
        select(Media)
        .join(ReportPhoto, ReportPhoto.media_id == Media.id)
        .where(ReportPhoto.report_id == report_id)
        .order_by(ReportPhoto.posted_at, ReportPhoto.id)
    )
    return list(dict.fromkeys(session.scalars(stmt)))


def banner_lines_of(session: Session, media_ids: list[int]) -> list[str]:
    """Banner lines of these images, largest first, each once."""
    stmt = (
        select(MediaTextLine.text)
        .where(MediaTextLine.media_id.in_(media_ids), MediaTextLine.is_banner.is_(True))
        .order_by(MediaTextLine.line_height.desc(), MediaTextLine.id)
    )
    return list(dict.fromkeys(session.scalars(stmt)))


def update_evidence(session: Session, report: Report) -> ReportPhotoEvidence:
    """Recompute the report's photo evidence signals from what is stored now."""
    photos = list(session.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report.id)))
    distinct = {photo.media_id for photo in photos if photo.repost_of_media_id is None}
    media_ids = sorted({photo.media_id for photo in photos})
    read = session.scalars(
        select(MediaText.media_id).where(
            MediaText.media_id.in_(media_ids), MediaText.status == MediaTextStatus.READ.value
        )
    )
    lines = banner_lines_of(session, media_ids)
    text_kind = banners.kind_of([report.text]) if report.text else None
    photo_kind = banners.kind_of(lines)
    facts: dict[str, Any] = {}
    partner = banners.extract_partner(lines) if photo_kind == "pairing" else None
    if partner:
        facts["partner"] = partner
    unit = _unit_named_in(session, lines)
    if unit is not None:
        facts["unit_id"], facts["unit"] = unit.id, unit.name
    evidence = session.scalars(
        select(ReportPhotoEvidence).where(ReportPhotoEvidence.report_id == report.id)
    ).one_or_none()
    if evidence is None:
        evidence = ReportPhotoEvidence(report_id=report.id)
        session.add(evidence)
    evidence.photo_count = len(photos)
    evidence.distinct_photos = len(distinct)
    evidence.photos_read = len(set(read))
    evidence.banner_read = bool(lines)
    evidence.banner_lines = lines
    evidence.text_kind, evidence.photo_kind = text_kind, photo_kind
    evidence.kinds_agree = None if text_kind is None or photo_kind is None else text_kind == photo_kind
    evidence.facts = facts
    session.flush()
    return evidence


def _unit_named_in(session: Session, lines: list[str]) -> Unit | None:
    """The one unit the banners name (by name or alias), for staff to confirm; none when zero or several."""
    if not lines:
        return None
    units = session.execute(select(Unit.id, Unit.name, Unit.aliases).where(Unit.active.is_(True))).all()
    unit_id = UnitMatcher((row.id, row.name, row.aliases or []) for row in units).match("\n".join(lines))
    return session.get(Unit, unit_id) if unit_id is not None else None


def evidence_lines(evidence: ReportPhotoEvidence) -> list[str]:
    """How the photo evidence reads in the console and in classification explanations."""
    return [f"横幅：{line}" for line in evidence.banner_lines]


def reclassify(session: Session, settings: Settings, report: Report, banner_lines: list[str]) -> bool:
    """Classify the report again with its banner lines; a staff correction is never touched."""
    if report.status == ReportStatus.CORRECTED.value:
        return False
    from classifier import service as classifier_service

    return classifier_service.classify_report(session, settings, report, extra_texts=tuple(banner_lines)) is not None


@dataclass
class OcrSummary:
    """What the status command shows about photo reading."""

    media_by_status: dict[str, int]
    lines: int
    banner_reports: int
    disagreeing_reports: int


def ocr_summary(session: Session) -> OcrSummary:
    by_status = dict(session.execute(select(MediaText.status, func.count()).group_by(MediaText.status)).all())
    return OcrSummary(
        media_by_status={str(k): int(v) for k, v in by_status.items()},
        lines=session.scalar(select(func.count()).select_from(MediaTextLine)) or 0,
        banner_reports=session.scalar(
            select(func.count()).select_from(ReportPhotoEvidence).where(ReportPhotoEvidence.banner_read.is_(True))
        )
        or 0,
        disagreeing_reports=session.scalar(
            select(func.count()).select_from(ReportPhotoEvidence).where(ReportPhotoEvidence.kinds_agree.is_(False))
        )
        or 0,
    )


def enqueue_unread_reports(session: Session, settings: Settings, *, limit: int | None = None) -> int:
    """Queue OCR for reports with photos, no photo evidence yet and no OCR job waiting (e.g. imported history)."""
    if not settings.ocr_enabled:
        return 0
    key_prefix = literal("ocr:report:") + cast(Report.id, String) + literal(":%")
    waiting = select(Job.id).where(
        Job.idempotency_key.like(key_prefix), Job.status.in_([JobStatus.QUEUED.value, JobStatus.RUNNING.value])
    )
    stmt = (
        select(Report.id)
        .where(Report.photo_count > 0)
        .where(~select(ReportPhotoEvidence.id).where(ReportPhotoEvidence.report_id == Report.id).exists())
        .where(~waiting.exists())
        .order_by(Report.id)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    queued = 0
    for report_id in session.scalars(stmt).all():
        queued += enqueue_ocr_for_report(session, report_id, settings) is not None
    session.flush()
    return queued


def request_backlog(session: Session, actor: str, settings: Settings, *, limit: int | None = None) -> int:
    """Staff queue photo reading for history that has none yet (``wenming jobs ocr-backlog``): one audit row."""
    queued = enqueue_unread_reports(session, settings, limit=limit)
    if queued:
        after = {"kind": OCR_REPORT_JOB, "name": JobKind.OCR_REPORT.zh, "reports": queued}
        audit.record(session, actor, AuditKind.JOB, after=after)
    return queued
