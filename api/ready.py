"""Views served from ready bytes on the event loop: no worker thread, session or query unless the bytes are missing.

A cached leaderboard or report-list page needs three things per request, none of which has to leave the event loop
when all goes well: the caller (a bearer token verified in the last seconds, ``accounts.service``), the database's
version counters (``wenming.versions``; one coalesced read shared by the requests that arrived before it began) and
the bytes under that version. Only a miss opens a read session, in a worker thread, holding a request slot.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
from fastapi import Request, Response
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from accounts import service as auth
from accounts.models import Role
from api.cache import ResultCache
from api.deps import SESSION_COOKIE, bearer_token, resolve_principal, token_use_due, unauthorized
from api.errors import ApiError
from wenming import versions

Versions = dict[str, int]


class VersionReader:
    """Coalesced reads of every version counter: each caller gets a read that began after it asked.

    Under load a hundred requests share one primary-key read instead of queueing a hundred: callers that arrive
    while a read runs wait for the next one (the running read may predate a write they must see), and that next
    read serves everyone who arrived before it began. So a write committed before a request arrived is always seen.
    """

    def __init__(self, read: Callable[[], Awaitable[Versions]]) -> None:
        self._read = read
        self._next: asyncio.Future[Versions] | None = None  # the read not begun yet, joined by new callers
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False
        self._task: asyncio.Task[None] | None = None

    async def current(self) -> Versions:
        """The committed versions, read after this call began."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests, a restarted server): nothing of the old one is valid
            self._loop, self._next, self._running = loop, None, False
        if self._next is None:
            self._next = loop.create_future()
            if not self._running:
                self._running = True
                self._task = loop.create_task(self._run())
        return await asyncio.shield(self._next)

    async def _run(self) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None
                try:
                    waiting.set_result(await self._read())
                except Exception as exc:  # every waiter gets the error (a 500), the next read tries again
                    waiting.set_exception(exc)
        finally:
            self._running = False


def in_thread(read: Callable[[], Versions]) -> Callable[[], Awaitable[Versions]]:
    """A blocking read run in a thread of its own (never queued behind the request threads)."""
    limiter = anyio.CapacityLimiter(1)

    async def threaded() -> Versions:
        return await anyio.to_thread.run_sync(read, limiter=limiter)

    return threaded


class VersionConnection:
    """The version read on one connection kept for it (no pool checkout or pre-ping per read); reopened on error.

    On SQLite it runs on the event loop itself (``inline``): a primary-key read of a WAL database takes tens of
    microseconds and never waits for a writer, whereas a worker thread had to win the GIL from the busy loop
    first, which under load took longer than everything else in a request.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def __call__(self) -> Versions:
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None:
                        self._conn = self.engine.connect()
                    try:
                        return versions.read_all(self._conn)
                    finally:
                        self._conn.rollback()  # end the read: no snapshot is kept between reads
                except DBAPIError:
                    self.close()
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    async def inline(self) -> Versions:
        """The read, on the calling event loop (SQLite only, see above)."""
        return self()

    async def aclose(self) -> None:
        self.close()

    def close(self) -> None:
        """Give the connection back (server shutdown, or after an error)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except DBAPIError:
                conn.invalidate()


class AsyncVersionConnection:
    """The version read on PostgreSQL through psycopg's own asyncio connection: one round trip, no thread at all."""

    QUERY = "SELECT scope, version FROM cache_versions"

    def __init__(self, engine: Engine) -> None:
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn: Any = None
        self._lock: asyncio.Lock | None = None

    async def __call__(self) -> Versions:
        import psycopg

        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
                    cursor = await self._conn.execute(self.QUERY)
                    return {scope: int(version) for scope, version in await cursor.fetchall()}
                except psycopg.OperationalError:
                    await self.aclose()
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    async def aclose(self) -> None:
        """Close the connection (server shutdown, or after an error)."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            await conn.close()


def version_source(engine: Engine) -> tuple[Callable[[], Awaitable[Versions]], Callable[[], Awaitable[None]]]:
    """The cheapest committed-version read for the engine's database, and how to close it."""
    if engine.dialect.name == "sqlite":
        sqlite = VersionConnection(engine)
        return sqlite.inline, sqlite.aclose
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        pg = AsyncVersionConnection(engine)
        return pg, pg.aclose
    other = VersionConnection(engine)
    return in_thread(other), other.aclose


@asynccontextmanager
async def pooled_read_session(request: Request) -> AsyncIterator[Session]:
    """A read-only session holding one of the request slots (see api.deps.get_db); closed in a worker thread."""
    async with request.app.state.db_slots:
        session: Session = request.app.state.read_session_factory()
        try:
            yield session
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(session.close)


async def in_read_session(request: Request, work: Callable[[Session], Any]) -> Any:
    """Run ``work`` with a read session in a worker thread (``app.state.open_read``: the tests substitute theirs)."""
    async with request.app.state.open_read(request) as session:
        return await anyio.to_thread.run_sync(work, session)


async def caller(request: Request, role: Role) -> auth.Principal:
    """Who is calling, from the verified-token cache when possible; 401 without a valid credential, 403 below ``role``.

    The same rules as ``api.deps.resolve_principal`` (which runs when the cache has no answer): a bearer token
    wins over the cookie, and a presented but invalid token is an error.
    """
    token = bearer_token(request)
    principal = auth.verified_principal(token) if token is not None else None
    if principal is None and (token is not None or request.cookies.get(SESSION_COOKIE)):
        principal = await in_read_session(request, lambda session: resolve_principal(request, session))
    if principal is None:
        raise unauthorized()
    if not principal.can(role):
        raise ApiError(403, f"此操作需要「{role.zh}」或更高权限")
    request.state.principal = principal
    return principal


async def ready_response(
    request: Request,
    cache: ResultCache,
    key: tuple[Hashable, ...],
    scopes: tuple[str, ...],
    build: Callable[[Session], bytes],
) -> Response:
    """``build``'s bytes for ``key`` under the scopes' current versions, with an ETag; ``304`` when the client has
    them.

    The ETag is derived from the key and the version alone, so a revalidation costs the coalesced version read
    and nothing else. On a miss the bytes are built once (single-flight) in a read session, and compressed once:
    a client that accepts gzip (browsers, httpx, requests) gets the compressed copy (a board is ~0.5 MB of JSON).
    """
    current = await request.app.state.versions.current()
    version = ".".join(str(current.get(scope, 0)) for scope in scopes)
    full_key = (*key, version)
    digest = hashlib.blake2b(repr(full_key).encode(), digest_size=12).hexdigest()
    await _note_token_use(request)
    plain_tag, gzip_tag = f'"{version}-{digest}"', f'"{version}-{digest}-gz"'
    headers = {"Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
    sent = {tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")}
    for tag in (gzip_tag, plain_tag):
        if tag in sent:  # same key and version: the client's copy, in whichever encoding, is current
            return Response(status_code=304, headers=headers | {"ETag": tag})
    body = cache.peek(full_key)
    if body is None:
        body = await in_read_session(request, lambda session: cache.get(full_key, lambda: encoded(build(session))))
    if body[1] is not None and accepts_gzip(request.headers.get("accept-encoding", "")):
        headers |= {"ETag": gzip_tag, "Content-Encoding": "gzip"}
        return Response(body[1], media_type="application/json", headers=headers)
    return Response(body[0], media_type="application/json", headers=headers | {"ETag": plain_tag})


GZIP_MIN_BYTES = 1024  # smaller bodies gain less than the header costs


def encoded(body: bytes) -> tuple[bytes, bytes | None]:
    """The body and, when worth it, its gzip copy (made once per cached entry, not per request)."""
    return body, gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_MIN_BYTES else None


def accepts_gzip(header: str) -> bool:
    """Whether an ``Accept-Encoding`` header admits gzip (``gzip;q=0`` refuses it)."""
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


async def _note_token_use(request: Request) -> None:
    """A bearer token's last use, written at most once per interval and process (as ``api.deps._finish`` does);
    ``app.state.write_token_use`` is ``api.deps.touch_token_now`` (the tests write in their own transaction)."""
    principal = getattr(request.state, "principal", None)
    if token_use_due(request, principal):
        await anyio.to_thread.run_sync(request.app.state.write_token_use, request, principal)


async def ready_viewer(request: Request) -> auth.Principal:
    """The ``Viewer`` dependency of the ready views: no session unless the token cache has no answer."""
    return await caller(request, Role.VIEWER)
