"""Twenty posters announce the same new group, members, names, photo and message at once (issue 16, finding 4).

Check-then-insert used to lose messages on PostgreSQL: the loser of each race got an IntegrityError, answered 409/500,
and OneBot implementations do not retry. With ``INSERT … ON CONFLICT DO NOTHING`` every distinct message is stored
exactly once and every poster is answered normally. SQLite serializes writers, so there it runs as a smaller check.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.sink import Delivery, IngestSink
from ingest.models import ChatGroup, Media, Member, MemberName, RawMessage
from tests.conftest import USE_POSTGRES
from tests.ingest.builders import T0, message, photo
from wenming.settings import Settings

POSTERS = 20 if USE_POSTGRES else 6
MEMBERS = 3
PHOTO = photo(7)


def _post_all(sink: IngestSink, poster: int, start: threading.Barrier, results: list[Delivery | BaseException]) -> None:
    """One poster: its own texts from shared new members, a shared photo, and the one message everybody relays."""
    batch = [
        message(
            sender=f"new{k}",
            name=f"新成员{k}",
            group="g-new",
            text=f"第{poster}路第{k}条",
            message_id=f"m{poster}-{k}",
            at=T0 + timedelta(seconds=k),
        )
        for k in range(MEMBERS)
    ]
    batch.append(message(sender="new0", name="新成员0", group="g-new", image=PHOTO, message_id=f"p{poster}"))
    batch.append(message(sender="new1", name="新成员1", group="g-new", text="大家好", message_id="shared"))
    start.wait()
    for incoming in batch:
        try:
            results.append(sink.deliver_sync(incoming))
        except BaseException as exc:  # the test reports what a poster would have seen
            results.append(exc)


def test_concurrent_posters_of_new_members_store_every_message_once(
    settings: Settings, fresh_database_url: str, committed_factory: sessionmaker[Session]
) -> None:
    sink = IngestSink(committed_factory, settings.model_copy(update={"database_url": fresh_database_url}))
    start = threading.Barrier(POSTERS)
    results: list[Delivery | BaseException] = []
    threads = [threading.Thread(target=_post_all, args=(sink, n, start, results)) for n in range(POSTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert [r for r in results if isinstance(r, BaseException)] == []
    deliveries = [r for r in results if isinstance(r, Delivery)]
    assert len(deliveries) == POSTERS * (MEMBERS + 2)
    assert not any(d.spooled for d in deliveries)
    distinct = POSTERS * (MEMBERS + 1) + 1
    assert len({d.outcome.raw_message_id for d in deliveries if d.outcome}) == distinct
    with committed_factory() as session:
        counts = [session.scalar(select(func.count()).select_from(m)) for m in (ChatGroup, Member, MemberName, Media)]
        assert counts == [1, MEMBERS, MEMBERS, 1]
        assert session.scalar(select(func.count()).select_from(RawMessage)) == distinct
        assert session.scalar(select(func.count(func.distinct(RawMessage.platform_message_id)))) == distinct
