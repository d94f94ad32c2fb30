"""Database-held version counters, so caches in every process (``serve --workers N``) see the same writes.

A service that changes what a cached view shows calls :func:`touch` with the view's scope; the counter is bumped in
the same transaction, just before it commits (the row lock is held only for that last statement), so a reader
that sees the new counter also sees the new data. Readers ask :func:`current` (or :func:`read_all`) once per
request: one primary-key look-up instead of recomputing, and instead of trusting a timer for other processes' writes.

The ``reports`` scope (the report list) is not touched by hand: every session write to a table the list shows —
a report or its tags inserted, changed or deleted, a unit's name or a member's display name changed — marks it
(:func:`_mark_flushed`, :func:`_mark_statement`), so a new write path cannot forget it.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import BigInteger, Connection, String, event, insert, inspect, select, update
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, SessionTransaction, mapped_column
from sqlalchemy.sql.elements import TextClause

from wenming.db import Base

RANKINGS = "rankings"  # leaderboards, the dashboard, period results: anything computed from reports and records
REPORTS = "reports"  # the report list: reports, their tags, and the unit and sender names shown beside them
_TOUCHED = "wenming_touched_versions"

# Tables the report list reads -> the columns whose change shows in it (None: any change, insert or delete).
_LISTED: dict[str, frozenset[str] | None] = {
    "reports": None,
    "report_tags": None,
    "units": frozenset({"name"}),
    "members": frozenset({"display_name"}),
}
_TEXT_WRITE = re.compile(
    r"^\s*(?:insert\s+into\s+\"?(reports|report_tags)\b|update\s+\"?(reports|report_tags|units|members)\b"
    r"|delete\s+from\s+\"?(reports|report_tags|units|members)\b)",
    re.IGNORECASE,
)


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


def read_all(connection: Connection | Session) -> dict[str, int]:
    """Every scope's committed version in one query (a scope never written is absent: version 0)."""
    table = CacheVersion.__table__
    return {scope: int(version) for scope, version in connection.execute(select(table.c.scope, table.c.version))}


def bump(session: Session, *scopes: str) -> None:
    """Add one to each scope's counter inside the session's transaction (one statement once the rows exist)."""
    table = CacheVersion.__table__
    done = session.execute(update(table).where(table.c.scope.in_(scopes)).values(version=table.c.version + 1))
    if getattr(done, "rowcount", 0) != len(scopes):
        present = set(session.scalars(select(table.c.scope).where(table.c.scope.in_(scopes))))
        for scope in sorted(set(scopes) - present):
            session.execute(insert(table).values(scope=scope, version=1))


@event.listens_for(Session, "before_commit")
def _bump_touched(session: Session) -> None:
    session.flush()  # commit flushes only after this hook: the writes it would flush must be marked first
    scopes = session.info.pop(_TOUCHED, ())
    if scopes:
        bump(session, *sorted(scopes))


@event.listens_for(Session, "after_soft_rollback")
def _forget_touched(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # a savepoint's rollback keeps the outer transaction's marks
        session.info.pop(_TOUCHED, None)


def _changes_listed(obj: Any, session: Session, created: bool) -> bool:
    """Whether flushing ``obj`` (new when ``created``, else changed) changes what the list shows."""
    table = getattr(obj, "__tablename__", None)
    if table not in _LISTED:
        return False
    columns = _LISTED[table]
    if columns is None:
        return created or session.is_modified(obj, include_collections=False)
    if created:
        return False  # a new unit or member is named by no listed report yet
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in columns)


@event.listens_for(Session, "after_flush")
def _mark_flushed(session: Session, _context: Any) -> None:
    if REPORTS in session.info.get(_TOUCHED, ()):
        return
    deleted = any(getattr(obj, "__tablename__", None) in _LISTED for obj in session.deleted)
    if (
        deleted
        or any(_changes_listed(obj, session, True) for obj in session.new)
        or any(_changes_listed(obj, session, False) for obj in session.dirty)
    ):
        touch(session, REPORTS)


@event.listens_for(Session, "do_orm_execute")
def _mark_statement(state: ORMExecuteState) -> None:
    statement = state.statement
    if isinstance(statement, TextClause):
        if _TEXT_WRITE.match(statement.text):
            touch(state.session, REPORTS)
        return
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    name = getattr(getattr(statement, "table", None), "name", None)
    if name in _LISTED and not (state.is_insert and _LISTED[name] is not None):
        touch(state.session, REPORTS)
