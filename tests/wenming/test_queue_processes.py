"""Real worker processes: a SIGKILLed worker's job is retried exactly once; two PostgreSQL workers never share a job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.models import Unit
from tests.conftest import USE_POSTGRES
from tests.support import wait_until
from wenming.db import create_db_engine, make_session_factory, transaction
from wenming.queue import service as queue_service
from wenming.queue.models import Job
from wenming.queue.worker import JobContext, Worker
from wenming.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def record(ctx: JobContext) -> dict[str, str]:
    """Sleeps on the first attempt when asked (so it can be killed mid-job), then writes one row per job."""
    if ctx.attempt == 1:
        time.sleep(float(ctx.payload.get("first_attempt_sleep", 0)))
    time.sleep(float(ctx.payload.get("sleep", 0)))
    ctx.session.add(Unit(name=f"job-{ctx.job_id}"))
    return {"worker": ctx.worker_id}


HANDLERS = {"test.record": record}


def _settings(url: str, lease: int) -> Settings:
    return Settings(
        database_url=url,
        queue_lease_seconds=lease,
        queue_poll_seconds=0.05,
        queue_retry_base_seconds=0.0,
        _env_file=None,  # type: ignore[call-arg]
    )


def worker_process_main(url: str, lease: int, worker_id: str) -> None:
    """Entry point of a child worker process; prints its statistics as JSON on a clean exit."""
    engine = create_db_engine(url)
    worker = Worker(make_session_factory(engine), _settings(url, lease), HANDLERS, worker_id=worker_id)
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    stats = worker.run()
    print(json.dumps({"done": stats.done, "lost": stats.lost, "job_ids": stats.job_ids}), flush=True)


def _spawn(url: str, lease: int, worker_id: str) -> subprocess.Popen[str]:
    code = (
        "import sys; from tests.wenming.test_queue_processes import worker_process_main as m; "
        "m(sys.argv[1], int(sys.argv[2]), sys.argv[3])"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, url, str(lease), worker_id],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _job(committed_factory: sessionmaker[Session], job_id: int) -> Job:
    with transaction(committed_factory) as session:
        return session.get_one(Job, job_id)


def test_sigkilled_worker_job_is_retried_once_never_lost(
    committed_factory: sessionmaker[Session], fresh_database_url: str
) -> None:
    settings = _settings(fresh_database_url, lease=4)
    with transaction(committed_factory) as session:
        job_id = queue_service.enqueue(session, "test.record", {"first_attempt_sleep": 60}).id
    child = _spawn(fresh_database_url, 4, "doomed")
    try:
        wait_until(lambda: _job(committed_factory, job_id).status == "running", timeout=30)
        time.sleep(0.5)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    killed = _job(committed_factory, job_id)
    assert (killed.status, killed.locked_by, killed.attempts) == ("running", "doomed", 1)

    rescuer = Worker(committed_factory, settings, HANDLERS, worker_id="rescuer")
    assert rescuer.work_one() is False  # the lease has not expired yet: the job is not handed out twice
    wait_until(lambda: rescuer.work_one(), timeout=20)
    job = _job(committed_factory, job_id)
    assert (job.status, job.attempts, job.locked_by, rescuer.stats.reaped) == ("done", 2, "rescuer", 1)
    with transaction(committed_factory) as session:
        assert session.scalar(select(func.count()).where(Unit.name == f"job-{job_id}")) == 1


@pytest.mark.skipif(not USE_POSTGRES, reason="several workers at once need PostgreSQL (SKIP LOCKED)")
def test_two_postgres_workers_never_take_the_same_job(
    committed_factory: sessionmaker[Session], fresh_database_url: str
) -> None:
    children = [_spawn(fresh_database_url, 30, name) for name in ("w1", "w2")]
    try:
        time.sleep(1.5)  # both workers are up and polling before the jobs arrive
        with transaction(committed_factory) as session:
            ids = [queue_service.enqueue(session, "test.record", {"sleep": 0.005}).id for _ in range(300)]
        wait_until(lambda: _count_done(committed_factory) == len(ids), timeout=60)
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
    outputs = [json.loads(child.communicate(timeout=30)[0].strip().splitlines()[-1]) for child in children]

    done_by = [set(out["job_ids"]) for out in outputs]
    assert done_by[0].isdisjoint(done_by[1])
    assert done_by[0] | done_by[1] == set(ids)
    assert all(out["done"] > 0 and out["lost"] == 0 for out in outputs)
    with transaction(committed_factory) as session:
        assert set(session.scalars(select(Job.attempts))) == {1}
        assert session.scalar(select(func.count()).where(Unit.name.like("job-%"))) == len(ids)


def _count_done(committed_factory: sessionmaker[Session]) -> int:
    with transaction(committed_factory) as session:
        return session.scalar(select(func.count()).where(Job.status == "done")) or 0
