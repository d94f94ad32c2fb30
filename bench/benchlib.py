"""Helpers shared by the benches: the machine load printed beside every result (ratios only mean something with it),
and an empty database to start from."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url

from wenming.db import create_db_engine


def reset_database(url: str) -> None:
    """Empty the database ``url`` names: PostgreSQL's public schema dropped and made again, a SQLite file removed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    engine.dispose()


def load_line(when: str) -> str:
    """Return the 1/5/15-minute load average, so a reader can judge the figures printed next to it."""
    one, five, fifteen = os.getloadavg()
    return f"load average ({when}): {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
