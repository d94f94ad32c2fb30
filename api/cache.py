"""A small result cache: one computation per key at a time, dropped by writes.

Rankings aggregate every unit and take hundreds of milliseconds; a hundred staff opening the dashboard at
once should cost one computation, not a hundred. Leaderboards put the database-held rankings version
(``wenming.versions``) in their keys, so a write by any process (the bot, the CLI, another API worker) shows on
the next request. List totals instead follow this process's commits (``follow_local_writes``): any commit that
wrote through this process invalidates them at once, other processes' writes show after at most ``ttl`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_version = 0
_version_lock = threading.Lock()
_WROTE = "wenming_api_wrote"


def data_version() -> int:
    """Bumped after every commit that flushed changes in this process."""
    return _version


def _bump() -> None:
    global _version
    with _version_lock:
        _version += 1


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        _bump()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous: Any) -> None:
    session.info.pop(_WROTE, None)


class ResultCache:
    """Thread-safe, single-flight, time- and version-bounded cache of computed values."""

    def __init__(self, ttl_seconds: float, max_entries: int = 256, *, follow_local_writes: bool = True):
        self.ttl = ttl_seconds
        self.follow_local_writes = follow_local_writes
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, int, Any]] = {}
        self._inflight: dict[Hashable, threading.Event] = {}

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The cached value for ``key``, computing it once even when many threads ask together."""
        if self.ttl <= 0:
            return compute()
        while True:
            with self._lock:
                hit = self._fresh(key)
                if hit is not None:
                    return hit[2]
                waiter = self._inflight.get(key)
                if waiter is None:
                    self._inflight[key] = threading.Event()
                    break
            waiter.wait(timeout=60)
        version = data_version()
        try:
            value = compute()
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[key] = (time.monotonic() + self.ttl, version, value)
            return value
        finally:
            with self._lock:
                self._inflight.pop(key).set()

    def peek(self, key: Hashable) -> Any:
        """The cached value for ``key`` if fresh, else None; never computes (safe on the event loop)."""
        if self.ttl <= 0:
            return None
        with self._lock:
            hit = self._fresh(key)
        return None if hit is None else hit[2]

    def _fresh(self, key: Hashable) -> tuple[float, int, Any] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stale = self.follow_local_writes and entry[1] != data_version()
        if entry[0] < time.monotonic() or stale:
            del self._entries[key]
            return None
        return entry
