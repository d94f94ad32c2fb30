"""What every command shares: settings, the engine, a console, and Chinese errors instead of tracebacks."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from wenming import schema
from wenming.engine import create_db_engine
from wenming.errors import DomainError
from wenming.settings import Settings, get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


class UserError(Exception):
    """An error whose message is meant for the user, printed without a traceback."""


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one red Chinese line and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (UserError, DomainError, schema.SchemaOutdatedError) as exc:
            err_console.print(f"[red]错误：[/red]{exc}")
            raise typer.Exit(1) from None
        except OperationalError as exc:
            err_console.print(f"[red]错误：[/red]无法连接或操作数据库：{exc.orig}")
            raise typer.Exit(1) from None

    return wrapper


_actor: str | None = None


def set_actor(name: str | None) -> None:
    """The root ``--actor`` option: who this command's changes are recorded as."""
    global _actor
    _actor = name.strip() if name and name.strip() else None


def login_name() -> str:
    """The operating-system account running the command (not an environment variable anyone can set)."""
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def actor() -> str:
    """Who the audit log names for a change made from the command line: ``--actor``, else ``cli:<login>``."""
    return _actor or f"cli:{login_name()}"


_engines: dict[str, Engine] = {}
_engine: Engine | None = None  # the engine last handed out; older tests reset it, the per-URL cache makes that moot


def settings() -> Settings:
    return get_settings()


def engine(check_schema: bool = True) -> Engine:
    """The engine for the configured URL (one per URL, so re-configured runs never mix databases)."""
    global _engine
    url = settings().database_url
    eng = _engines.get(url)
    if eng is None:
        eng = _engines[url] = create_db_engine(url)
    _engine = eng
    if check_schema:
        schema.ensure_current(eng)
    return eng


def reset_engines() -> None:
    """Dispose every cached engine; tests call it between databases, commands after a schema change."""
    global _engine
    for eng in _engines.values():
        eng.dispose()
    _engines.clear()
    _engine = None


def session_factory() -> sessionmaker[Session]:
    from wenming.db import make_session_factory  # the ORM, only for commands that use sessions

    return make_session_factory(engine())


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """One committed transaction for a command step that writes (``reading`` for one that only looks)."""
    from wenming.db import transaction

    with transaction(session_factory()) as session:
        yield session


@contextmanager
def reading() -> Iterator[Session]:
    """A read-only command step: on SQLite it begins DEFERRED, so looking never waits for a writer's lock."""
    from wenming.db import read_transaction

    with read_transaction(session_factory()) as session:
        yield session
