"""Classifying a batch of reports in one call answers exactly as classifying them one by one (issue 18).

``Predictor.classify_many`` runs the linear model once over all texts and ``classify_reports`` reads and writes
the batch with a handful of statements; neither may change a label, a confidence (to the float), a secondary
label, a fact, a line of evidence, a status, an activity date or a tag.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from classifier import corpus, pipeline
from classifier import service as classifier_service
from classifier.models import Classification, ClassificationSource, ReportTag
from classifier.ocr import service as ocr_service
from classifier.ocr.models import ReportPhotoEvidence
from classifier.ocr.service import OCR_REPORT_JOB
from classifier.predictor import TextInput, _binary
from classifier.service import active_predictor
from ingest import service as ingest_service
from ingest import unit_import
from ingest.models import Report, ReportStatus
from ingest.schemas import IncomingMessage
from tests.ingest.builders import T0, message, photo
from wenming.db import transaction
from wenming.queue.models import Job
from wenming.settings import Settings
from wiring.replay import replay_file

DEMO = Path(__file__).resolve().parents[2] / "demo" / "data"
BANNERS = ["新时代文明实践站 学雷锋志愿服务活动", "垃圾分类进社区"]


def _inputs() -> list[TextInput]:
    """Every held-out text as it comes, then a share of them beside banner lines, and texts with nothing to read."""
    examples = corpus.heldout_examples()
    items = [TextInput(e.text, e.photos) for e in examples]
    for n, e in enumerate(examples[::3]):
        banner = examples[(n * 7) % len(examples)].text[:24]
        items.append(TextInput(e.text, e.photos + 1, (banner, BANNERS[n % 2]), None))
        items.append(TextInput(e.text[:5], 2, (banner,), None))  # vague text: the banner counts in full
    items += [TextInput("", 3), TextInput(None, 0), TextInput("  ", 1, ("  ",)), TextInput("今天的活动", 0, ())]
    return items


def test_the_model_over_many_texts_gives_every_text_its_own_answer_bit_for_bit(settings: Settings) -> None:
    predictor = active_predictor(settings)
    items = _inputs()
    one_by_one = [
        predictor.classify(i.text, photo_count=i.photo_count, extra_texts=i.extra_texts, post_date=i.post_date)
        for i in items
    ]
    together = predictor.classify_many(items)
    assert len(together) == len(items)
    for item, one, many in zip(items, one_by_one, together, strict=True):
        assert many.model_dump() == one.model_dump(), item
        assert many.confidence.hex() == one.confidence.hex(), item
    prepared = [predictor.prepare(i.text, i.photo_count, i.extra_texts) for i in items]
    logits = predictor.model.logits_many(
        [p.features for p in prepared], [p.rule_scores for p in prepared], [_binary(p) for p in prepared]
    )
    assert sum(not _binary(p) for p in prepared) > 100  # the weighted path is exercised too
    for p, (z, idx, vals) in zip(prepared, logits, strict=True):
        z1, idx1, vals1 = predictor.model.logits(p.features, p.rule_scores, binary=_binary(p))
        assert np.array_equal(z, z1) and idx == idx1 and np.array_equal(vals, vals1)


def _state(session: Session) -> dict[str, Any]:
    """What classification leaves behind, read back from the database."""
    session.expire_all()
    reports = {r.id: (r.label, r.confidence, r.status, r.activity_date) for r in session.scalars(select(Report))}
    current = {
        c.report_id: (c.label, c.secondary_labels, c.confidence, c.facts, c.evidence, c.model_version, c.source)
        for c in session.scalars(select(Classification).where(Classification.is_current.is_(True)))
    }
    per_report = Counter(session.scalars(select(Classification.report_id).where(Classification.is_current.is_(True))))
    history = Counter(session.scalars(select(Classification.report_id)))
    tags = sorted(session.execute(select(ReportTag.report_id, ReportTag.label, ReportTag.is_primary, ReportTag.score)))
    return {
        "reports": reports,
        "current": current,
        "one_current": set(per_report.values()),
        "history": history,
        "tags": tags,
    }


def _demo(factory: sessionmaker[Session], settings: Settings) -> list[int]:
    """The demo file stored and assembled (not classified), then a history: half classified by the model, a few
    corrected by staff, a few with banner lines read from their photos."""
    with transaction(factory) as session:
        unit_import.import_units_file(session, DEMO / "units.csv")
    replay_file(factory, settings, DEMO / "messages.jsonl")
    with transaction(factory) as session:
        reports = list(session.scalars(select(Report).order_by(Report.id)))
        classifier_service.classify_reports(session, settings, reports[::2])
        for report in reports[1:60:9]:
            classifier_service.correct_classification(
                session, report.id, label="volunteer", actor="测试员", reason="人工更正"
            )
        for n, report in enumerate(r for r in reports[3:] if r.photo_count):
            if n >= 12:
                break
            session.add(ReportPhotoEvidence(report_id=report.id, banner_lines=[BANNERS[n % 2]] if n % 3 else []))
        return [r.id for r in reports]


@contextmanager
def _statements(session: Session) -> Iterator[list[str]]:
    """The SQL statements the session sends meanwhile."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    event.listen(session.get_bind(), "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(session.get_bind(), "before_cursor_execute", record)


def test_classify_reports_in_one_call_leaves_the_same_rows_as_one_by_one(
    committed_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"media_dir": tmp_path / "media"})
    ids = _demo(committed_factory, settings)
    assert len(ids) > 300
    with committed_factory() as session:
        reports = list(session.scalars(select(Report).where(Report.id.in_(ids)).order_by(Report.id)))
        one_by_one = [classifier_service.classify_report(session, settings, r) for r in reports]
        session.flush()
        expected = _state(session)
        session.rollback()
    with committed_factory() as session:
        reports = list(session.scalars(select(Report).where(Report.id.in_(ids)).order_by(Report.id)))
        banners = {e.report_id: e.banner_lines for e in session.scalars(select(ReportPhotoEvidence))}
        with _statements(session) as statements:
            together = classifier_service.classify_reports(session, settings, reports)
        got = _state(session)
        inputs = [(r.id, r.text, r.photo_count, r.post_date) for r in reports]
        session.rollback()
    assert [row is None for row in together] == [row is None for row in one_by_one]
    staff = {c for c, (*_, source) in expected["current"].items() if source == ClassificationSource.STAFF.value}
    assert len(staff) == 7 and {r[0] for r, row in zip(inputs, together, strict=True) if row is None} == staff
    assert expected["one_current"] == {1}
    for key in expected:
        assert got[key] == expected[key], key
    # a handful of statements for the whole batch, not several per report
    assert len(statements) <= 12, statements
    # and the rows say what the one-text call (the model's reference path) says
    read = {report_id: lines for report_id, lines in banners.items() if lines}
    assert len(read) >= 6
    for report_id, text, photo_count, post_date in inputs:
        if report_id in staff:
            continue
        lines = read.get(report_id, [])
        result = classifier_service.classify_text(
            text, photo_count=photo_count, extra_texts=lines, post_date=post_date, settings=settings
        )
        label, secondary, confidence, facts, evidence, version, _ = got["current"][report_id]
        assert (label, confidence, facts, version) == (
            result.label,
            result.confidence,
            result.facts,
            result.model_version,
        )
        assert secondary == [s.model_dump() for s in result.secondary]
        assert evidence == [*(f"横幅：{line}" for line in lines), *result.evidence]
        status = got["reports"][report_id][2]
        if status != ReportStatus.WITHDRAWN.value:
            assert status == (ReportStatus.NEEDS_REVIEW if result.needs_review else ReportStatus.CLASSIFIED).value


class _Batches:
    """A hook that records how it was called."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def __call__(self, session: Session, report: Report) -> None:
        self.calls.append([report.id])

    def many(self, session: Session, reports: Sequence[Report]) -> None:
        self.calls.append([r.id for r in reports])


def _burst() -> list[IncomingMessage]:
    """Four senders' reports (three with photos) and a chat line, received before one assembly run."""
    burst = []
    for n, sender in enumerate(("u1", "u2", "u3", "u4")):
        at = T0 + timedelta(minutes=10 * n)
        burst.append(message(sender=sender, text=f"县第{n + 1}单位开展文明劝导志愿服务活动", at=at))
        burst += [message(sender=sender, image=photo(10 * n + i), at=at + timedelta(minutes=1)) for i in range(n)]
    return burst


def test_assembly_hands_every_changed_report_to_the_hook_at_once(session: Session, settings: Settings) -> None:
    for incoming in _burst():
        ingest_service.receive(session, settings, incoming)
    hook = _Batches()
    ingest_service.assemble_pending(session, settings, on_report=hook)
    assert len(hook.calls) == 1 and len(hook.calls[0]) == 4
    # a plain function still sees each report once
    seen: list[int] = []
    ingest_service.receive(session, settings, message(sender="u5", text="县第五单位开展学雷锋活动", at=T0))
    ingest_service.assemble_pending(session, settings, on_report=lambda _s, r: seen.append(r.id))
    assert len(seen) == 1


def test_the_batch_hook_classifies_and_queues_photos_as_one_by_one(session: Session, settings: Settings) -> None:
    for incoming in _burst():
        ingest_service.receive(session, settings, incoming)
    ingest_service.assemble_pending(session, settings, on_report=pipeline.report_hook(settings))
    reports = list(session.scalars(select(Report).order_by(Report.id)))
    assert len(reports) == 4 and all(r.label is not None and r.status != "unclassified" for r in reports)
    jobs = {j.payload["report_id"]: j for j in session.scalars(select(Job).where(Job.kind == OCR_REPORT_JOB))}
    assert set(jobs) == {r.id for r in reports if r.photo_count}
    for report in reports:
        if report.photo_count:  # the batch queued exactly the job the one-report call would: asking again adds none
            assert ocr_service.enqueue_ocr_for_report(session, report.id, settings).id == jobs[report.id].id
            assert jobs[report.id].priority == ocr_service.ocr_priority(report)
