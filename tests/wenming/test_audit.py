"""The audit trail: one row per change, and migration 0009 keeps every row of the old ``corrections`` table."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from wenming import audit, schema
from wenming.audit import AuditEntry, AuditKind
from wenming.db import create_db_engine
from wenming.errors import DomainError

AT = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)


def test_record_keeps_who_what_and_the_snapshots(session: Session) -> None:
    row = audit.record(
        session,
        "staff:li",
        AuditKind.UNIT,
        subject=("unit", 7),
        before={"name": "县教育局", "on": date(2026, 1, 2)},
        after={"name": "县教育体育局", "level": AuditKind.UNIT},
        reason="机构改革",
    )
    stored = session.scalars(select(AuditEntry).where(AuditEntry.id == row.id)).one()
    assert (stored.kind, stored.actor, stored.subject_type, stored.subject_id) == ("unit", "staff:li", "unit", "7")
    assert stored.before == {"name": "县教育局", "on": "2026-01-02"} and stored.after["level"] == "unit"
    assert AuditKind.zh_of(stored.kind) == "单位信息"
    assert audit.history(session, ("unit", 7)) == [stored]


def test_report_and_member_rows_are_found_by_their_subject(session: Session) -> None:
    audit.record(session, "staff:li", AuditKind.REPORT_UNIT, subject=("report", 5), after={"unit_id": 1})
    audit.record(session, "staff:li", AuditKind.MEMBER_UNIT, subject=("member", 5), after={"unit_id": 1})
    [report_row] = session.scalars(select(AuditEntry).where(AuditEntry.report_id == 5)).all()
    [member_row] = session.scalars(select(AuditEntry).where(AuditEntry.member_id == 5)).all()
    assert (report_row.kind, report_row.report_id, report_row.member_id) == ("report_unit", 5, None)
    assert (member_row.kind, member_row.member_id, member_row.report_id) == ("member_unit", 5, None)


def test_a_change_without_an_actor_is_refused(session: Session) -> None:
    with pytest.raises(DomainError, match="请注明操作人"):
        audit.record(session, "  ", AuditKind.UNIT)


def _seed_corrections(engine: Engine) -> None:
    """A report, a member and four old audit rows, written as revision 0008 stored them."""
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO chat_groups (id, platform, platform_id, created_at) VALUES (1, 'qq', 'g', :at)"),
            {"at": AT},
        )
        conn.execute(
            text(
                "INSERT INTO members (id, platform, platform_user_id, is_staff, first_seen_at, last_seen_at) "
                "VALUES (3, 'qq', 'u', false, :at, :at)"
            ),
            {"at": AT},
        )
        conn.execute(
            text(
                "INSERT INTO reports (id, group_id, sender_id, first_message_at, last_message_at, post_date, "
                "photo_count, status, possible_repost, created_at, updated_at) "
                "VALUES (9, 1, 3, :at, :at, :day, 0, 'corrected', false, :at, :at)"
            ),
            {"at": AT, "day": date(2026, 10, 12)},
        )
        rows = [
            (1, "classification", 9, None, '{"label": "other"}', '{"label": "news"}'),
            (2, "member_unit", None, 3, '{"unit_id": null}', '{"unit_id": 4}'),
            (3, "unit", None, None, "{}", '{"unit_id": 4, "name": "县教育局"}'),
            (4, "staff_user", None, None, "{}", '{"user": "li"}'),
        ]
        for id_, kind, report_id, member_id, before, after in rows:
            conn.execute(
                text(
                    "INSERT INTO corrections (id, kind, report_id, member_id, actor, before, after, reason, created_at)"
                    " "
                    "VALUES (:id, :kind, :report_id, :member_id, 'staff:li', :before, :after, '原因', :at)"
                ),
                {
                    "id": id_,
                    "kind": kind,
                    "report_id": report_id,
                    "member_id": member_id,
                    "before": before,
                    "after": after,
                    "at": AT,
                },
            )


def test_migration_moves_every_correction_into_the_audit_log_and_back(fresh_database_url: str) -> None:
    schema.upgrade(fresh_database_url, "0008")
    engine = create_db_engine(fresh_database_url)
    _seed_corrections(engine)
    schema.upgrade(fresh_database_url)
    with Session(engine) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert [(r.id, r.kind, r.subject_type, r.subject_id) for r in rows] == [
            (1, "classification", "report", "9"),
            (2, "member_unit", "member", "3"),
            (3, "unit", "unit", "4"),
            (4, "staff_user", None, None),
        ]
        assert rows[0].after == {"label": "news"} and rows[2].after["name"] == "县教育局"
        assert {(r.actor, r.reason, r.created_at) for r in rows} == {("staff:li", "原因", AT)}
        new = audit.record(session, "cli:root", AuditKind.JOB, subject=("job", 1))
        session.commit()
        assert new.id == 5  # ids continue after the copied rows (PostgreSQL's sequence was moved on)
    schema.downgrade(fresh_database_url, "0008")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT id, kind, report_id, member_id FROM corrections ORDER BY id")).all()
    assert [tuple(r) for r in back] == [
        (1, "classification", 9, None),
        (2, "member_unit", None, 3),
        (3, "unit", None, None),
        (4, "staff_user", None, None),
        (5, "job", None, None),
    ]
    schema.upgrade(fresh_database_url)
    engine.dispose()
