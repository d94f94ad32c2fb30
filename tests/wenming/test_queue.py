"""The job queue: idempotent enqueue, ordered claims, retries with backoff, dead letters, leases, status."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import Unit
from wenming.db import transaction, utcnow
from wenming.queue import repository
from wenming.queue import service as queue_service
from wenming.queue.models import Job, JobStatus
from wenming.queue.worker import JobContext, PermanentJobError, Worker, start_in_thread, wait_until_idle
from wenming.settings import Settings


def record(ctx: JobContext) -> dict[str, str]:
    """A handler with a visible side effect committed together with the job: one unit row per job."""
    time.sleep(float(ctx.payload.get("sleep", 0)))
    ctx.session.add(Unit(name=f"job-{ctx.job_id}"))
    return {"worker": ctx.worker_id}


def flaky(ctx: JobContext) -> None:
    """Fails until its third attempt."""
    if ctx.attempt < 3:
        raise RuntimeError(f"暂时失败 {ctx.attempt}")
    ctx.session.add(Unit(name=f"flaky-{ctx.job_id}"))


def broken(ctx: JobContext) -> None:
    ctx.session.add(Unit(name=f"broken-{ctx.job_id}"))  # must be rolled back
    raise PermanentJobError("报送不存在")


HANDLERS = {"test.record": record, "test.flaky": flaky, "test.broken": broken}


@pytest.fixture
def queue_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"queue_lease_seconds": 30, "queue_retry_base_seconds": 0.0, "queue_poll_seconds": 0.05}
    )


def _job(committed_factory: sessionmaker[Session], job_id: int) -> Job:
    with transaction(committed_factory) as session:
        return session.get_one(Job, job_id)


def _units(committed_factory: sessionmaker[Session], prefix: str) -> int:
    with transaction(committed_factory) as session:
        return session.scalar(select(func.count()).where(Unit.name.like(f"{prefix}%"))) or 0


def test_same_key_never_makes_a_second_job(session: Session, settings: Settings) -> None:
    first = queue_service.enqueue(session, "ocr.report", {"report_id": 1}, key="ocr:1")
    again = queue_service.enqueue(session, "ocr.report", {"report_id": 1}, key="ocr:1")
    other = queue_service.enqueue(session, "ocr.report", {"report_id": 2}, key="ocr:2")
    unkeyed = [queue_service.enqueue(session, "ocr.report", {}) for _ in range(2)]
    assert again.id == first.id
    assert len({first.id, other.id, *(job.id for job in unkeyed)}) == 4
    assert session.scalar(select(func.count()).select_from(Job)) == 4


def test_the_queue_says_whether_a_job_is_new(session: Session) -> None:
    first = queue_service.submit(session, "ocr.report", {"report_id": 1}, key="ocr:1")
    again = queue_service.submit(session, "ocr.report", {"report_id": 1}, key="ocr:1")
    assert (first.created, again.created, again.duplicate) == (True, False, True)
    assert again.job.id == first.job.id
    assert all(queue_service.submit(session, "ocr.report", {}).created for _ in range(2))  # no key: always new


def test_claim_takes_due_jobs_by_priority_then_age(session: Session, settings: Settings) -> None:
    low = queue_service.enqueue(session, "k", {"n": 1})
    high = queue_service.enqueue(session, "k", {"n": 2}, priority=5)
    later = queue_service.enqueue(session, "k", {"n": 3}, priority=9, delay_seconds=600)
    other_kind = queue_service.enqueue(session, "other", {}, priority=10)

    first = repository.claim(session, "w1", 30, ["k"])
    second = repository.claim(session, "w1", 30, ["k"])
    assert (first and first.id, second and second.id) == (high.id, low.id)
    assert repository.claim(session, "w1", 30, ["k"]) is None  # `later` is not due, `other` is not ours
    assert first is not None and first.status == "running" and first.attempts == 1
    assert first.locked_until is not None and first.locked_until > utcnow() + timedelta(seconds=25)
    session.refresh(later)
    session.refresh(other_kind)
    assert later.status == other_kind.status == "queued"


def test_worker_runs_job_and_commits_its_work_with_it(
    committed_factory: sessionmaker[Session], queue_settings: Settings
) -> None:
    with transaction(committed_factory) as session:
        job_id = queue_service.enqueue(session, "test.record", {}).id
    stats = Worker(committed_factory, queue_settings, HANDLERS, worker_id="w-a").run(burst=True)
    job = _job(committed_factory, job_id)
    assert (stats.done, job.status, job.attempts, job.locked_by) == (1, "done", 1, "w-a")
    assert job.result == {"worker": "w-a"}
    assert _units(committed_factory, "job-") == 1


def test_failing_job_retries_with_backoff_then_succeeds(
    committed_factory: sessionmaker[Session], queue_settings: Settings
) -> None:
    with transaction(committed_factory) as session:
        job_id = queue_service.enqueue(session, "test.flaky", {}).id
    worker = Worker(committed_factory, queue_settings, HANDLERS)
    worker.run(burst=True)
    job = _job(committed_factory, job_id)
    assert (job.status, job.attempts, worker.stats.retried, worker.stats.done) == ("done", 3, 2, 1)
    assert _units(committed_factory, "flaky-") == 1


def test_backoff_grows_exponentially_and_is_capped(settings: Settings) -> None:
    tuned = settings.model_copy(update={"queue_retry_base_seconds": 10.0, "queue_retry_max_seconds": 300.0})
    rng = random.Random(1)
    delays = [queue_service.retry_delay(tuned, attempt, rng) for attempt in (1, 2, 3, 10)]
    assert 10 <= delays[0] <= 12 and 20 <= delays[1] <= 24 and 40 <= delays[2] <= 48
    assert 300 <= delays[3] <= 360


def test_retry_waits_for_backoff(committed_factory: sessionmaker[Session], queue_settings: Settings) -> None:
    slow_retry = queue_settings.model_copy(update={"queue_retry_base_seconds": 120.0})
    with transaction(committed_factory) as session:
        job_id = queue_service.enqueue(session, "test.flaky", {}).id
    Worker(committed_factory, slow_retry, HANDLERS).run(burst=True)
    job = _job(committed_factory, job_id)
    assert job.status == "queued" and job.attempts == 1
    assert job.run_after > utcnow() + timedelta(seconds=110)
    assert job.last_error is not None and "暂时失败 1" in job.last_error


def test_exhausted_and_permanent_failures_become_visible_dead_letters(
    committed_factory: sessionmaker[Session], queue_settings: Settings
) -> None:
    with transaction(committed_factory) as session:
        flaky_id = queue_service.enqueue(session, "test.flaky", {}, max_attempts=2).id
        broken_id = queue_service.enqueue(session, "test.broken", {}).id
        unknown_id = queue_service.enqueue(session, "nobody.handles", {}).id
    Worker(committed_factory, queue_settings, HANDLERS, kinds=[*HANDLERS, "nobody.handles"]).run(burst=True)
    assert (_job(committed_factory, flaky_id).status, _job(committed_factory, flaky_id).attempts) == ("dead", 2)
    assert (_job(committed_factory, broken_id).status, _job(committed_factory, broken_id).attempts) == ("dead", 1)
    assert "没有处理此类任务的程序" in (_job(committed_factory, unknown_id).last_error or "")
    assert _units(committed_factory, "broken-") == 0  # the failed attempt's writes were rolled back

    with transaction(committed_factory) as session:
        status = queue_service.queue_status(session)
        assert status.total(JobStatus.DEAD) == 3 and status.backlog == 0
        assert {dead.id for dead in status.dead} == {flaky_id, broken_id, unknown_id}
        assert any("报送不存在" in (dead.error or "") for dead in status.dead)
        assert queue_service.retry_dead(session, broken_id) == [broken_id]
    job = _job(committed_factory, broken_id)
    assert (job.status, job.attempts) == ("queued", 0)


def test_expired_lease_is_reaped_and_retried(
    committed_factory: sessionmaker[Session], queue_settings: Settings
) -> None:
    with transaction(committed_factory) as session:
        job_id = queue_service.enqueue(session, "test.record", {}).id
        claimed = repository.claim(session, "gone-worker", 30, None)
        assert claimed is not None
    worker = Worker(committed_factory, queue_settings, HANDLERS)
    assert worker.work_one() is False  # lease still valid: nobody else may take it
    with transaction(committed_factory) as session:
        session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    worker.run(burst=True)
    job = _job(committed_factory, job_id)
    assert (job.status, job.attempts, worker.stats.reaped) == ("done", 2, 1)
    assert _units(committed_factory, "job-") == 1


def test_expired_lease_on_last_attempt_goes_to_dead_letters(
    committed_factory: sessionmaker[Session], queue_settings: Settings
) -> None:
    with transaction(committed_factory) as session:
        job_id = queue_service.enqueue(session, "test.record", {}, max_attempts=1).id
        repository.claim(session, "gone-worker", 30, None)
        session.execute(update(Job).values(locked_until=utcnow() - timedelta(seconds=1)))
    Worker(committed_factory, queue_settings, HANDLERS).run(burst=True)
    job = _job(committed_factory, job_id)
    assert job.status == "dead" and "租约过期" in (job.last_error or "")


def test_heartbeat_keeps_a_slow_job_from_being_taken(
    committed_factory: sessionmaker[Session], queue_settings: Settings
) -> None:
    short_lease = queue_settings.model_copy(update={"queue_lease_seconds": 2})
    with transaction(committed_factory) as session:
        job_id = queue_service.enqueue(session, "test.record", {"sleep": 3.0}).id
    slow = Worker(committed_factory, short_lease, HANDLERS, worker_id="slow")
    thread = threading.Thread(target=slow.work_one)
    thread.start()
    while _job(committed_factory, job_id).status != "running":
        time.sleep(0.05)
    other = Worker(committed_factory, short_lease, HANDLERS, worker_id="other")
    takeovers = []
    while thread.is_alive():
        takeovers.append(other.work_one())
        time.sleep(0.3)
    thread.join()
    job = _job(committed_factory, job_id)
    assert not any(takeovers) and other.stats.reaped == 0
    assert (job.status, job.attempts, job.locked_by) == ("done", 1, "slow")


def test_worker_that_lost_its_lease_rolls_back(
    committed_factory: sessionmaker[Session], queue_settings: Settings
) -> None:
    def hijacked(ctx: JobContext) -> None:
        ctx.session.add(Unit(name=f"job-{ctx.job_id}"))
        with transaction(committed_factory) as other:  # another worker re-claimed it meanwhile
            other.execute(update(Job).where(Job.id == ctx.job_id).values(lease_token="someone-else"))

    with transaction(committed_factory) as session:
        job_id = queue_service.enqueue(session, "test.hijacked", {}).id
    worker = Worker(committed_factory, queue_settings, {"test.hijacked": hijacked})
    worker.run(burst=True)
    assert worker.stats.lost == 1 and worker.stats.done == 0
    assert _job(committed_factory, job_id).status == "running"
    assert _units(committed_factory, "job-") == 0


def test_in_process_worker_picks_up_jobs_as_they_arrive(
    committed_factory: sessionmaker[Session], queue_settings: Settings
) -> None:
    worker, thread = start_in_thread(committed_factory, queue_settings, HANDLERS, name="demo")
    try:
        with transaction(committed_factory) as session:
            ids = [queue_service.enqueue(session, "test.record", {}).id for _ in range(3)]
        assert wait_until_idle(committed_factory, timeout=20)
    finally:
        worker.stop()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert sorted(worker.stats.job_ids) == ids and _units(committed_factory, "job-") == 3


def test_worker_survives_a_database_outage(committed_factory: sessionmaker[Session], queue_settings: Settings) -> None:
    with transaction(committed_factory) as session:
        job_id = queue_service.enqueue(session, "test.record", {}).id
    outages = iter([True, True])

    def flaky_factory() -> Session:
        if next(outages, False):
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        return committed_factory()

    worker = Worker(flaky_factory, queue_settings, HANDLERS)  # type: ignore[arg-type]
    worker.run(burst=True)
    assert (worker.stats.db_errors, worker.stats.done, _job(committed_factory, job_id).status) == (2, 1, "done")
