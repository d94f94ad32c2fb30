"""The leaderboard cache: one computation for many concurrent callers, dropped by any write."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.orm import Session

from api.cache import ResultCache, data_version
from tests.api.conftest import Data


def test_concurrent_callers_share_one_computation() -> None:
    cache = ResultCache(ttl_seconds=60)
    calls = 0
    gate = threading.Event()

    def slow() -> str:
        nonlocal calls
        calls += 1
        gate.wait(5)
        return "排名"

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(20)]
    for t in threads:
        t.start()
    time.sleep(0.1)
    gate.set()
    for t in threads:
        t.join(5)
    assert results == ["排名"] * 20 and calls == 1


def test_a_committed_write_invalidates_and_a_failed_computation_is_not_cached(session: Session, data: Data) -> None:
    cache = ResultCache(ttl_seconds=60)
    counter = iter(range(100))
    assert cache.get("k", lambda: next(counter)) == 0
    assert cache.get("k", lambda: next(counter)) == 0
    before = data_version()
    data.unit("县审计局")
    session.commit()  # the test's savepoint; still a commit of flushed changes
    assert data_version() > before
    assert cache.get("k", lambda: next(counter)) == 1

    def boom() -> int:
        raise RuntimeError("scoring failed")

    with pytest.raises(RuntimeError):
        cache.get("other", boom)
    assert cache.get("other", lambda: 7) == 7


def test_entries_expire_and_zero_ttl_disables() -> None:
    cache = ResultCache(ttl_seconds=0.05)
    counter = iter(range(100))
    assert cache.get("k", lambda: next(counter)) == 0
    time.sleep(0.08)
    assert cache.get("k", lambda: next(counter)) == 1
    off = ResultCache(ttl_seconds=0)
    assert [off.get("k", lambda: next(counter)) for _ in range(2)] == [2, 3]
