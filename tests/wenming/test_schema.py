"""Alembic owns the schema: it migrates both ways and the code refuses an outdated database."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from wenming import schema
from wenming.db import Base, create_db_engine
from wiring.models import load_all_models

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [ROOT / name for name in ("wenming", "accounts", "ingest", "classifier", "scoring", "api", "bot", "wiring")]


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


def test_models_and_migrations_describe_the_same_schema(fresh_database_url: str) -> None:
    """Alembic owns the schema: a model changed without a migration (or the reverse) shows up here."""
    schema.upgrade(fresh_database_url)
    load_all_models()
    engine = create_db_engine(fresh_database_url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLite cannot reflect expression indexes: they are checked by name below
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        found = inspect(engine)
        stored = {ix["name"] for table in found.get_table_names() for ix in found.get_indexes(table)}
    assert diff == []
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            stored |= set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'")).scalars())
    declared = {ix.name for table in Base.metadata.tables.values() for ix in table.indexes}
    assert declared <= stored
    engine.dispose()


def test_each_table_declares_its_indexes_with_its_own_model() -> None:
    """An index is written in the module of the model that owns its table, never in a package that reads it."""
    load_all_models()
    owners = {m.local_table.name: m.class_.__module__ for m in Base.registry.mappers}
    sources = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts): path.read_text(encoding="utf-8")
        for package in PACKAGES
        for path in Path(package).rglob("*.py")
    }
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            named_in = {module for module, text in sources.items() if f'"{index.name}"' in text}
            assert named_in <= {owners[table.name]}, f"{index.name} on {table.name}: named in {sorted(named_in)}"


def test_head_read_from_migration_sources_is_alembics_head() -> None:
    """The CLI reads head without importing alembic; it must name the same revision alembic would."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(str(schema.MIGRATIONS_DIR)).get_heads()
    assert schema.head_revision() == ",".join(sorted(heads))
