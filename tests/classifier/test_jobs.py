"""Retraining and re-classification as background jobs: queued by staff, run by a worker, never twice."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from classifier import jobs as classifier_jobs
from classifier import registry
from classifier import service as classifier_service
from classifier.models import Classification
from ingest.models import Report
from tests.classifier.ocr_support import feed_report
from wenming.db import transaction
from wenming.queue.models import Job
from wenming.queue.worker import JobContext, PermanentJobError, Worker
from wenming.settings import Settings
from wiring.handlers import default_handlers

ENGLISH = "Volunteers from our bureau cleaned the riverside park today"


def test_retraining_in_the_background_reaches_existing_reports(
    committed_factory: sessionmaker[Session], isolated_settings: Settings
) -> None:
    settings = isolated_settings
    with transaction(committed_factory) as session:
        corrected = feed_report(session, settings, text=ENGLISH, sender="a")
        other = feed_report(session, settings, text=ENGLISH, sender="b")  # another unit posts the same words
        for report in (corrected, other):
            classifier_service.classify_report(session, settings, report)
        assert other.label != "volunteer"
        classifier_service.correct_classification(
            session, corrected.id, label="volunteer", actor="staff:test", reason="英文志愿活动"
        )
        job = classifier_jobs.enqueue_training(session)

    worker = Worker(committed_factory, settings, default_handlers())
    worker.run(burst=True)
    assert (worker.stats.done, worker.stats.dead) == (2, 0)  # the training, then one re-classification chunk

    with transaction(committed_factory) as session:
        trained = session.get_one(Job, job.id)
        assert trained.status == "done" and trained.result is not None
        assert (trained.result["version"], trained.result["corrections"]) == ("v1", 1)
        assert registry.current_version(settings) == "v1"
        again = session.get_one(Report, other.id)
        assert (again.label, again.status) == ("volunteer", "classified")
        current = session.scalars(
            select(Classification).where(Classification.report_id == other.id, Classification.is_current)
        ).one()
        assert current.model_version == "v1"
        staff = session.get_one(Report, corrected.id)
        assert staff.status == "corrected"  # a staff correction is never re-classified
        assert classifier_jobs.enqueue_training(session).id == job.id  # nothing new to learn: not queued again


def test_reclassification_is_split_into_small_jobs_once_per_model_version(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(classifier_jobs, "RECLASSIFY_CHUNK", 2)
    reports = [feed_report(session, settings, text=f"志愿者清洁家园第{n}次", sender=f"s{n}") for n in range(5)]
    jobs = classifier_jobs.enqueue_reclassify(session, settings)
    assert [j.payload["report_ids"] for j in jobs] == [[r.id for r in reports[i : i + 2]] for i in (0, 2, 4)]
    assert [j.id for j in classifier_jobs.enqueue_reclassify(session, settings)] == [j.id for j in jobs]


def test_a_reclassification_job_without_report_ids_is_a_dead_letter(session: Session, settings: Settings) -> None:
    joined = sessionmaker(bind=session.bind, join_transaction_mode="create_savepoint")
    context = JobContext(session, settings, joined, 1, classifier_jobs.RECLASSIFY_JOB, {"report_ids": "all"}, 1, "w")
    with pytest.raises(PermanentJobError, match="报送编号列表"):
        classifier_jobs.handle_reclassify(context)
