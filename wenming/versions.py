"""Database-held version counters, so caches in every process (``serve --workers N``) see the same writes.

A service that changes what a cached view shows calls :func:`touch` with the view's scope; the counter is bumped in
the same transaction, just before it commits (the row lock is held only for that last statement), so a reader
that sees the new counter also sees the new data. Readers ask :func:`current` once per request: one primary-key
look-up instead of recomputing, and instead of trusting a timer for other processes' writes.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, String, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from wenming.db import Base

RANKINGS = "rankings"  # leaderboards, the dashboard, period results: anything computed from reports and records
_TOUCHED = "wenming_touched_versions"


class CacheVersion(Base):
    """One counter per cached scope; bumped by the writes that change the scope's views."""

    __tablename__ = "cache_versions"

    scope: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


def touch(session: Session, scope: str = RANKINGS) -> None:
    """Mark the session's transaction as changing ``scope``; the counter moves when it commits."""
    session.info.setdefault(_TOUCHED, set()).add(scope)


def current(session: Session, scope: str = RANKINGS) -> int:
    """The scope's committed version (0 before the first write)."""
    return session.execute(select(CacheVersion.version).where(CacheVersion.scope == scope)).scalar() or 0


def bump(session: Session, scope: str) -> None:
    """Add one to the scope's counter inside the session's transaction."""
    table = CacheVersion.__table__
    done = session.execute(update(table).where(table.c.scope == scope).values(version=table.c.version + 1))
    if not getattr(done, "rowcount", 0):
        session.execute(insert(table).values(scope=scope, version=1))


@event.listens_for(Session, "before_commit")
def _bump_touched(session: Session) -> None:
    for scope in sorted(session.info.pop(_TOUCHED, ())):
        bump(session, scope)


@event.listens_for(Session, "after_soft_rollback")
def _forget_touched(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # a savepoint's rollback keeps the outer transaction's marks
        session.info.pop(_TOUCHED, None)
