"""The worker loop: claim a job, keep its lease alive while the handler runs, commit the result with the job."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from wenming.db import read_transaction, transaction, utcnow
from wenming.queue import repository
from wenming.queue.service import retry_delay
from wenming.settings import Settings

log = logging.getLogger(__name__)


class PermanentJobError(Exception):
    """A failure that retrying cannot fix (bad payload, missing record): the job goes to the dead letters."""


class LeaseLostError(RuntimeError):
    """Another worker took the job over after our lease expired; our work is rolled back."""


@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the job's data, a session to write in (committed with the job), the settings.

    ``factory`` is for a handler's own short reads before slow work (``wenming.db.read_transaction``): the job's
    session should only be touched once the slow part is done, since on SQLite its transaction holds the lock.
    """

    session: Session
    settings: Settings
    factory: sessionmaker[Session]
    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    worker_id: str


Handler = Callable[[JobContext], dict[str, Any] | None]


@dataclass
class WorkerStats:
    done: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0
    reaped: int = 0
    db_errors: int = 0
    job_ids: list[int] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return self.done + self.retried + self.dead + self.lost


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _Heartbeat:
    """Renews a job's lease from a side thread so a long handler is not mistaken for a dead worker."""

    def __init__(self, factory: sessionmaker[Session], job_id: int, token: str, lease_seconds: float) -> None:
        self._factory, self._job_id, self._token, self._lease = factory, job_id, token, lease_seconds
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        interval = max(self._lease / 3.0, 0.2)
        while not self._stop.wait(interval):
            try:
                with transaction(self._factory) as session:
                    if not repository.renew_lease(session, self._job_id, self._token, self._lease):
                        self.lost = True
                        return
            except Exception:  # a transient database error must not kill the job; the next beat retries
                log.warning("续租失败（任务 %s），稍后重试", self._job_id, exc_info=True)


class Worker:
    """One worker: run it in as many processes as the database allows (PostgreSQL: many; SQLite: one)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        handlers: Mapping[str, Handler],
        *,
        worker_id: str | None = None,
        kinds: list[str] | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.handlers = dict(handlers)
        self.worker_id = worker_id or default_worker_id()
        self.kinds = kinds or sorted(self.handlers)
        self.stats = WorkerStats()
        self._stopping = threading.Event()
        self._next_reap = 0.0

    def stop(self) -> None:
        """Ask the loop to exit after the current job (SIGTERM, Ctrl-C)."""
        self._stopping.set()

    def run(self, *, burst: bool = False, max_jobs: int | None = None) -> WorkerStats:
        """Work until stopped; ``burst`` exits as soon as nothing is due."""
        while not self._stopping.is_set():
            if max_jobs is not None and self.stats.processed >= max_jobs:
                break
            try:
                if self.work_one():
                    continue
            except DBAPIError:  # database restarting or unreachable: keep the worker alive and try again
                log.warning("数据库暂时不可用，稍后重试", exc_info=True)
                self.stats.db_errors += 1
                self._stopping.wait(max(self.settings.queue_poll_seconds, 1.0))
                continue
            if burst:
                break
            self._stopping.wait(self.settings.queue_poll_seconds)
        return self.stats

    def work_one(self) -> bool:
        """Claim one job and run it; False when nothing was due. Expired leases are reaped when idle or every
        few seconds, so a busy worker does not pay for it on every job."""
        reaped = False
        if time.monotonic() >= self._next_reap:
            self._reap()
            reaped = True
        claimed = self._claim()
        if claimed is None and not reaped:
            self._reap()
            claimed = self._claim()
        if claimed is None:
            return False
        self._execute(*claimed)
        return True

    def _reap(self) -> None:
        with transaction(self.factory) as session:
            self.stats.reaped += repository.reap_expired(session)
        self._next_reap = time.monotonic() + min(self.settings.queue_lease_seconds / 4.0, 5.0)

    def _claim(self) -> tuple[int, str, dict[str, Any], int, str] | None:
        with transaction(self.factory) as session:
            job = repository.claim(session, self.worker_id, self.settings.queue_lease_seconds, self.kinds)
            if job is None:
                return None
            return job.id, job.kind, dict(job.payload or {}), job.attempts, job.lease_token or ""

    def _execute(self, job_id: int, kind: str, payload: dict[str, Any], attempt: int, token: str) -> None:
        handler = self.handlers.get(kind)
        try:
            with _Heartbeat(self.factory, job_id, token, self.settings.queue_lease_seconds) as beat:
                if handler is None:
                    raise PermanentJobError(f"没有处理此类任务的程序：{kind}")
                with transaction(self.factory) as session:
                    context = JobContext(
                        session, self.settings, self.factory, job_id, kind, payload, attempt, self.worker_id
                    )
                    result = handler(context)
                    session.flush()
                    if beat.lost or not repository.mark_done(session, job_id, token, result):
                        raise LeaseLostError(f"任务 {job_id} 的租约已被其他工作进程接管")
        except LeaseLostError:
            log.warning("任务 %s 租约丢失，本次结果已回滚", job_id)
            self.stats.lost += 1
            return
        except Exception as exc:
            self._record_failure(job_id, token, attempt, exc)
            return
        self.stats.done += 1
        self.stats.job_ids.append(job_id)

    def _record_failure(self, job_id: int, token: str, attempt: int, exc: Exception) -> None:
        permanent = isinstance(exc, PermanentJobError)
        error = f"{exc.__class__.__name__}: {exc}"
        if not permanent:
            error += "\n" + "".join(traceback.format_exception(exc, limit=-3))
        retry_at = utcnow() + timedelta(seconds=retry_delay(self.settings, attempt))
        with transaction(self.factory) as session:
            status = repository.mark_failed(session, job_id, token, error, permanent=permanent, retry_at=retry_at)
        if status == "dead":
            log.error("任务 %s 已失败并转入死信：%s", job_id, exc)
            self.stats.dead += 1
        elif status is None:
            self.stats.lost += 1
        else:
            log.warning("任务 %s 第 %s 次失败，稍后重试：%s", job_id, attempt, exc)
            self.stats.retried += 1


def start_in_thread(
    factory: sessionmaker[Session],
    settings: Settings,
    handlers: Mapping[str, Handler],
    *,
    name: str = "worker",
    kinds: list[str] | None = None,
) -> tuple[Worker, threading.Thread]:
    """Run one worker beside the bot or the demo (``wenming run``); stop with ``worker.stop()`` then join."""
    worker = Worker(factory, settings, handlers, worker_id=f"{default_worker_id()}:{name}", kinds=kinds)
    thread = threading.Thread(target=worker.run, name=f"wenming-{name}", daemon=True)
    thread.start()
    return worker, thread


def wait_until_idle(factory: sessionmaker[Session], timeout: float, poll: float = 0.2) -> bool:
    """Block until no job is queued or running (tests and demos); False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with read_transaction(factory) as session:
            counts = repository.counts(session)
        if not any(n for (_kind, state), n in counts.items() if state in ("queued", "running")):
            return True
        time.sleep(poll)
    return False
