"""Alembic owns the schema: it migrates both ways and the code refuses an outdated database."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from wenming import schema
from wenming.db import Base, create_db_engine
from wiring.models import load_all_models


def test_upgrade_downgrade_upgrade_round_trip(fresh_database_url: str) -> None:
    schema.upgrade(fresh_database_url)
    schema.downgrade(fresh_database_url, "base")
    engine = create_db_engine(fresh_database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    schema.upgrade(fresh_database_url)
    load_all_models()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    schema.ensure_current(engine)
    engine.dispose()


def test_unmigrated_database_is_refused_with_a_clear_message(fresh_database_url: str) -> None:
    engine = create_db_engine(fresh_database_url)
    with pytest.raises(schema.SchemaOutdatedError, match="wenming db upgrade"):
        schema.ensure_current(engine)
    engine.dispose()


def test_outdated_database_is_refused(fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    schema.upgrade(fresh_database_url)
    engine = create_db_engine(fresh_database_url)
    monkeypatch.setattr(schema, "head_revision", lambda: "9999")
    with pytest.raises(schema.SchemaOutdatedError, match="落后"):
        schema.ensure_current(engine)
    engine.dispose()
