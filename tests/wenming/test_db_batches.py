"""Batch writes (``wenming.db``): PostgreSQL takes them as arrays, SQLite as executemany; both store the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.models import ChatGroup, RawMessage
from wenming.db import insert_many_ignoring_conflicts, update_many

KEY = ["platform", "group_id", "platform_message_id"]
SENT = datetime(2026, 10, 9, 1, 30, tzinfo=UTC)


def _raw(n: int, **changes: Any) -> dict[str, Any]:
    row = {
        "platform": "qq",
        "group_id": None,
        "sender_id": None,
        "sender_name": f"发送者{n}",
        "other_names": ["旧名", f"别名{n}"] if n % 2 else None,
        "platform_message_id": f"m{n}",
        "sent_at": SENT + timedelta(minutes=n),
        "kind": "text",
        "text": f"第 {n} 条：组织志愿者清扫街巷",
        "payload": {"segments": [{"type": "text", "data": {"text": "清扫"}}], "n": n},
        "status": "pending",
    }
    return row | changes


def _stored(session: Session, ids: list[int]) -> list[RawMessage]:
    session.expire_all()
    return list(session.scalars(select(RawMessage).where(RawMessage.id.in_(ids)).order_by(RawMessage.id)))


def test_insert_ignoring_conflicts_keeps_values_order_and_skips_known_keys(session: Session) -> None:
    group = ChatGroup(platform="qq", platform_id="g-batch", name="文明实践群")
    session.add(group)
    session.flush()
    group_id = group.id
    first = insert_many_ignoring_conflicts(session, RawMessage, [_raw(n, group_id=group_id) for n in (1, 2)], KEY)
    again = [_raw(n, group_id=group_id) for n in (2, 3, 4, 3)]  # one stored already, one twice in the batch
    second = insert_many_ignoring_conflicts(session, RawMessage, again, KEY, ("id", "platform_message_id"))
    assert sorted(message_id for _, message_id in second) == ["m3", "m4"]
    ids = sorted(row[0] for row in [*first, *second])
    stored = _stored(session, ids)
    assert [r.platform_message_id for r in stored] == ["m1", "m2", "m3", "m4"]  # ids follow the rows' order
    assert stored[0].other_names == ["旧名", "别名1"] and stored[0].payload["segments"][0]["data"]["text"] == "清扫"
    assert stored[0].sent_at == SENT + timedelta(minutes=1) and stored[0].received_at is not None
    nulls = session.scalar(select(func.count()).where(RawMessage.id.in_(ids), RawMessage.other_names.is_(None)))
    assert nulls == 2  # JSON None is SQL NULL, not a JSON null


def test_update_many_sets_each_row_its_own_values_and_leaves_others(session: Session) -> None:
    ids = [row[0] for row in insert_many_ignoring_conflicts(session, RawMessage, [_raw(n) for n in range(5)], KEY)]
    ids.sort()
    changes = [
        {"id": ids[0], "status": "assembled", "reason": None, "other_names": ["新名"]},
        {"id": ids[2], "status": "ignored", "reason": "staff", "other_names": None},
        {"id": ids[4], "status": "ignored", "reason": "staff", "other_names": ["未用"]},
        {"id": ids[4], "status": "rejected", "reason": "recall", "other_names": []},  # the later row wins
    ]
    update_many(session, RawMessage.__table__, changes)
    stored = {r.id: r for r in _stored(session, ids)}
    assert [stored[i].status for i in ids] == ["assembled", "pending", "ignored", "pending", "rejected"]
    assert [stored[i].reason for i in ids] == [None, None, "staff", None, "recall"]
    assert stored[ids[0]].other_names == ["新名"] and stored[ids[2]].other_names is None
    assert stored[ids[4]].other_names == [] and stored[ids[1]].other_names == ["旧名", "别名1"]


def test_rows_of_different_columns_are_refused(session: Session) -> None:
    with pytest.raises(ValueError, match="same columns"):
        update_many(session, RawMessage.__table__, [{"id": 1, "status": "ignored"}, {"id": 2, "reason": "x"}])
    with pytest.raises(ValueError, match="same columns"):
        insert_many_ignoring_conflicts(session, RawMessage, [_raw(1), _raw(2) | {"error": "x"}], KEY)
