"""Storing a batch set-based (``receive_many``) ends exactly as storing its messages one by one (issue 18).

Each test stores the same deliveries twice inside one test transaction — message by message with the store as it
was before (``per_message_reference``, kept verbatim), then as one batch — rolling back in between, and compares
every stored row by natural keys and id order, and the outcomes. Runs on SQLite and, with
``WENMING_DATABASE_URL``, on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, aliased

from ingest import media as media_store
from ingest import repository, service
from ingest.models import ChatGroup, Media, Member, MemberName, RawMessage, RawStatus
from ingest.schemas import IngestOutcome
from tests.ingest import per_message_reference as reference
from tests.ingest.builders import T0, message, photo
from wenming import db
from wenming.settings import Settings


def _snapshot(session: Session, outcomes: Sequence[IngestOutcome]) -> dict[str, Any]:
    """Every row the store writes, by natural keys in id order; outcomes with ids replaced by their rank."""
    sender, group = aliased(Member), aliased(ChatGroup)
    raws = session.execute(
        select(
            RawMessage.id, RawMessage.platform, group.platform_id, sender.platform_user_id, RawMessage.sender_name,
            RawMessage.other_names, RawMessage.platform_message_id, RawMessage.recalls_message_id,
            RawMessage.sent_at, RawMessage.kind, RawMessage.text, Media.sha256, RawMessage.media_ref,
            RawMessage.payload, RawMessage.status, RawMessage.reason, RawMessage.error,
        )
        .outerjoin(group, group.id == RawMessage.group_id)
        .outerjoin(sender, sender.id == RawMessage.sender_id)
        .outerjoin(Media, Media.id == RawMessage.media_id)
        .order_by(RawMessage.id)
    ).all()  # fmt: skip
    rank = {row[0]: n for n, row in enumerate(raws)}
    names = session.execute(
        select(Member.platform_user_id, ChatGroup.platform_id, MemberName.name, MemberName.first_seen_at,
               MemberName.last_seen_at)
        .join(Member, Member.id == MemberName.member_id)
        .join(ChatGroup, ChatGroup.id == MemberName.group_id)
        .order_by(MemberName.id)
    ).all()  # fmt: skip
    return {
        "raws": [tuple(row[1:]) for row in raws],
        "outcomes": [(rank[o.raw_message_id], o.duplicate, o.status, o.error) for o in outcomes],
        "groups": session.execute(select(ChatGroup.platform_id, ChatGroup.name).order_by(ChatGroup.id)).all(),
        "members": session.execute(
            select(Member.platform_user_id, Member.display_name, Member.first_seen_at, Member.last_seen_at).order_by(
                Member.id
            )
        ).all(),
        "names": names,
        "media": session.execute(
            select(Media.sha256, Media.phash, Media.path, Media.mime, Media.bytes, Media.width, Media.height).order_by(
                Media.id
            )
        ).all(),
    }


def _both_ways(
    session: Session,
    settings: Settings,
    batch: Sequence[Any],
    before: Callable[[Session], object] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Store ``batch`` one by one, roll back, store it as one batch: the two snapshots (one-by-one first)."""
    results = []
    for way in ("one by one", "batch"):
        savepoint = session.begin_nested()
        run = settings.model_copy(update={"media_dir": settings.media_dir / way.replace(" ", "_")})
        if before is not None:
            before(session)
        if way == "batch":
            outcomes = service.receive_many(session, run, batch)
        else:
            outcomes = [_receive_one(session, run, item) for item in batch]
        session.flush()
        session.expire_all()
        results.append(_snapshot(session, outcomes))
        savepoint.rollback()
        session.info.pop("ingest.cache", None)  # the rolled-back rows must not be remembered
        session.info.pop(reference.CACHE_KEY, None)
        session.expunge_all()
    return results[0], results[1]


def _receive_one(session: Session, settings: Settings, item: Any) -> IngestOutcome:
    """The old per-message path: ``receive``, or ``record_rejected`` for a line already known to be bad."""
    if isinstance(item, service.Rejected):
        return reference.record_rejected(session, payload=item.payload, error=item.error, platform=item.platform)
    return reference.receive(session, settings, item)


def _same(session: Session, settings: Settings, batch: Sequence[Any], **kwargs: Any) -> dict[str, Any]:
    one_by_one, batched = _both_ways(session, settings, batch, **kwargs)
    for table in one_by_one:
        assert batched[table] == one_by_one[table], table
    return batched


def test_duplicates_within_one_batch_are_stored_once(session: Session, settings: Settings) -> None:
    twice = message(text="今天开展文明实践活动", message_id="wx-1")
    no_id = message(text="收到", message_id=False, sender="u2", name="县人民医院-李四")
    batch = [twice, no_id, message(text="另一条"), twice, no_id, twice]
    result = _same(session, settings, batch)
    assert len(result["raws"]) == 3
    assert [(rank, duplicate) for rank, duplicate, *_ in result["outcomes"]] == [
        (0, False), (1, False), (2, False), (0, True), (1, True), (0, True),
    ]  # fmt: skip


def test_duplicates_of_stored_rows_answer_with_the_stored_row(session: Session, settings: Settings) -> None:
    long_text = "长" * (settings.max_text_length + 5)
    stored_ok, stored_bad = message(text="已存的报送", message_id="s-1"), message(text=long_text, message_id="s-2")

    def store_first(s: Session) -> None:
        service.receive(s, settings, stored_ok)
        service.receive(s, settings, stored_bad)

    batch = [message(text="新消息"), stored_bad, stored_ok, stored_ok]
    result = _same(session, settings, batch, before=store_first)
    assert [o[:3] for o in result["outcomes"]] == [(2, False, "received"), (1, True, "rejected"), (0, True, "received"),
                                                   (0, True, "received")]  # fmt: skip
    assert "文本过长" in (result["outcomes"][1][3] or "")


def test_same_new_photo_twice_in_a_batch_is_one_media_row_decoded_once(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[int] = []
    inspect = media_store.inspect_image

    def counting(data: bytes, run: Settings) -> tuple[str, str, int, int, str]:
        decoded.append(len(data))
        return inspect(data, run)

    monkeypatch.setattr(media_store, "inspect_image", counting)
    picture, other = photo(11), photo(12)
    batch = [message(image=picture), message(image=other, sender="u2"), message(image=picture, sender="u3")]
    outcomes = service.receive_many(session, settings, batch)
    assert len(decoded) == 2
    rows = session.scalars(select(RawMessage).where(RawMessage.id.in_([o.raw_message_id for o in outcomes]))).all()
    media_ids = {raw.platform_message_id: raw.media_id for raw in rows}
    assert media_ids[batch[0].message_id] == media_ids[batch[2].message_id] != media_ids[batch[1].message_id]
    assert session.scalar(select(Media.id).where(Media.sha256 == media_store.hashlib.sha256(picture).hexdigest()))
    decoded.clear()
    again = service.receive_many(session, settings, [message(image=picture), message(image=other)])
    assert decoded == [] and all(o.status == RawStatus.RECEIVED for o in again)  # stored before: never decoded


def test_photos_stored_before_and_new_ones_end_as_one_by_one(session: Session, settings: Settings) -> None:
    old, new = photo(21), photo(22)
    stored = message(image=old)

    def store_first(s: Session) -> None:
        service.receive(s, settings, stored)

    batch = [message(image=new), message(image=old), message(image=new, sender="u2"), message(image=photo(23))]
    result = _same(session, settings, batch, before=store_first)
    assert len(result["media"]) == 3


def test_member_seen_out_of_time_order_ends_as_one_by_one(session: Session, settings: Settings) -> None:
    def at(minutes: int) -> Any:
        return T0 + timedelta(minutes=minutes)

    batch = [
        message(text="a", at=at(20), name="县教育局-王五"),
        message(text="b", at=at(0), name="县教育局-早"),
        message(text="c", at=at(30), name=None),
        message(text="d", at=at(30), name="县教育局-晚", other_names=["王五", "老王"]),
        message(text="e", at=at(10), name="县教育局-王五"),
        message(text="f", at=at(30), name=None, group="g2"),
    ]
    result = _same(session, settings, batch)
    [(user, display, first, last)] = result["members"]
    assert (user, display, first, last) == ("u1", "县教育局-晚", at(0), at(30))
    spans = {(group, name): (first, last) for _, group, name, first, last in result["names"]}
    assert spans[("g1", "县教育局-王五")] == (at(10), at(20))
    assert spans[("g1", "老王")] == (at(30), at(30))


def test_member_stored_before_is_updated_as_one_by_one(session: Session, settings: Settings) -> None:
    stored = message(text="早先", at=T0 + timedelta(hours=1), name="旧名")

    def store_first(s: Session) -> None:
        service.receive(s, settings, stored)

    batch = [
        message(text="更早", at=T0, name="更早的名"),
        message(text="同时", at=T0 + timedelta(hours=1), name="同一时刻的新名"),
        message(text="新群", at=T0 + timedelta(minutes=5), name="旧名", group="g3"),
    ]
    result = _same(session, settings, batch, before=store_first)
    assert result["members"][0][1:] == ("同一时刻的新名", T0, T0 + timedelta(hours=1))


def test_rejected_and_good_messages_mixed_end_as_one_by_one(session: Session, settings: Settings) -> None:
    batch = [
        message(text="好的报送"),
        {"platform": "qq", "text": "缺字段"},
        {"platform": "fax", "group_id": "g1", "sent_at": T0.isoformat(), "kind": "text"},
        service.Rejected(payload={"line": "{broken"}, error="无法解析的行", platform="wechat"),
        message(text="长" * (settings.max_text_length + 1)),
        message(image=b"not an image at all"),
        message(image=photo(31)[:400]),
        message(kind="image", media_error="链接已过期"),
        message(image=photo(32), from_self=True),
        message(text="又一条好的", sender="u9", name="长兴中学-赵六"),
        service.Rejected(payload={"line": 2}, error="第二行也坏了"),
    ]
    result = _same(session, settings, batch)
    statuses = [status for _, _, status, _ in result["outcomes"]]
    assert statuses == ["received", "rejected", "rejected", "rejected", "rejected", "rejected", "rejected",
                        "rejected", "ignored", "received", "rejected"]  # fmt: skip
    assert [rank for rank, *_ in result["outcomes"]] == list(range(len(batch)))  # ids in delivery order


def test_batch_larger_than_the_chunk_size_ends_as_one_by_one(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "MAX_ROWS_PER_INSERT", 3)
    monkeypatch.setattr(repository, "IN_CHUNK", 2)
    repeated = message(text="重复", message_id="dup")
    batch = [
        message(text=f"第{n}条", sender=f"u{n % 5}", name=f"单位{n % 4}-成员", at=T0 + timedelta(minutes=7 * n % 11),
                image=photo(40 + n % 3) if n % 4 == 0 else None, group=f"g{n % 3}")
        for n in range(14)
    ] + [repeated, service.Rejected(payload={}, error="坏行"), repeated]  # fmt: skip
    result = _same(session, settings, batch)
    assert len(result["raws"]) == 16 and len(result["members"]) == 5 and len(result["groups"]) == 3


def test_batch_beyond_the_real_chunk_size_takes_a_handful_of_statements(session: Session, settings: Settings) -> None:
    batch = [
        message(text=f"第{n}条", sender=f"s{n}", name=f"单位-{n}", at=T0 + timedelta(seconds=n)) for n in range(1100)
    ]
    statements: list[str] = []
    bind = session.connection()

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(bind, "before_cursor_execute", count)
    try:
        outcomes = service.receive_many(session, settings, batch)
        session.flush()
    finally:
        event.remove(bind, "before_cursor_execute", count)
    assert len({o.raw_message_id for o in outcomes}) == 1100 and not any(o.duplicate for o in outcomes)
    inserts, look_ups = -(-1100 // db.MAX_ROWS_PER_INSERT), -(-1100 // repository.IN_CHUNK)
    # a group: look-up, insert, read back; members and names: the same by chunks; raw messages: one insert per chunk
    assert len(statements) <= 3 + 2 * (2 * look_ups + inserts) + inserts <= 30
    assert not [sql for sql in statements if sql.startswith("UPDATE")]  # new members go in as they end
    rows = session.execute(
        select(Member.platform_user_id, Member.display_name).where(Member.platform_user_id.like("s%"))
    )
    assert dict(rows.all()) == {f"s{n}": f"单位-{n}" for n in range(1100)}
