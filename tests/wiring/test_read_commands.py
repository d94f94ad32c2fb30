"""Commands that only look never wait for a writer: staff read while the bot or the worker writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import text

from tests.wiring.clikit import UNITS_CSV, Cli, cli, cli_data_dir
from wenming.db import create_db_engine, make_session_factory
from wiring.cli import common

__all__ = ["cli", "cli_data_dir"]

READ_COMMANDS = [
    ("units", "list"),
    ("reports", "stats"),
    ("score", "month", "2026-09"),
    ("score", "quarter", "2026Q3"),
    ("score", "year", "2026"),
    ("score", "explain", "长兴县人民医院", "2026"),
    ("score", "records", "长兴县人民医院", "2026"),
    ("status",),
    ("bot", "status"),
    ("bot", "policy", "list"),
    ("users", "list"),
]


def _in_thread(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_read_commands_do_not_wait_for_a_held_write_lock(cli: Cli) -> None:
    cli.ok("db", "upgrade")
    roster = cli.root / "units.csv"
    roster.write_text(UNITS_CSV, encoding="utf-8")
    cli.ok("units", "import", str(roster))
    engine = create_db_engine(common.settings().database_url)
    writer = make_session_factory(engine)()
    writer.execute(text("UPDATE units SET headcount = headcount + 1"))  # a write transaction, left open
    exits: dict[tuple[str, ...], int] = {}
    try:

        def read_everything() -> None:
            for command in READ_COMMANDS:
                exits[command] = cli(*command).exit_code

        started = time.monotonic()
        reader = _in_thread(read_everything)
        reader.join(timeout=20)
        assert not reader.is_alive(), f"a read command waited for the writer (done: {list(exits)})"
        assert exits == dict.fromkeys(READ_COMMANDS, 0)
        assert time.monotonic() - started < 20
        if engine.dialect.name == "sqlite":  # the lock is real: a command that writes does wait for it
            adder = _in_thread(
                lambda: exits.update(add=cli("users", "add", "zhao", "--password", "good-pass-1").exit_code)
            )
            adder.join(timeout=1.0)
            assert adder.is_alive()
    finally:
        writer.rollback()
        writer.close()
    if engine.dialect.name == "sqlite":
        adder.join(timeout=20)
        assert exits["add"] == 0
    engine.dispose()
