"""The FastAPI application: versioned JSON API under /api/v1, the staff console, health probes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from api.cache import ResultCache
from api.deps import require_viewer, touch_token_now
from api.errors import ErrorResponse, install_error_handlers
from api.limits import BodyLimitMiddleware
from api.ready import VersionReader, pooled_read_session, version_source
from api.routers import auth, capture, messages, misc, people, periods, reports, scores, system, units
from wenming.db import create_db_engine, make_read_session_factory, make_session_factory
from wenming.settings import Settings, get_settings

API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).parent / "static"

DESCRIPTION = """文明单位动态管理系统的工作人员接口。

认证：`Authorization: Bearer <令牌>`（令牌用 `wenming users token` 创建），或控制台登录后的会话 Cookie
（会话方式的写操作须带 `X-CSRF-Token` 头）。角色：admin（管理员）、reviewer（审核员）、viewer（只读）；
所有写操作需要 reviewer 或 admin，用户管理需要 admin。

所有错误的格式相同：`{"error": {"code": "...", "message": "中文说明", "details": ...}}`。
列表均支持 `page`、`page_size` 分页，并返回 `total`。
"""


def api_routers() -> list[APIRouter]:
    """The JSON API's resource routers, all mounted under /api/v1."""
    return [
        auth.router,
        units.router,
        people.router,
        reports.router,
        messages.router,
        scores.router,
        scores.records_router,
        periods.router,
        system.router,
        misc.router,
        capture.router,
    ]


def _lifespan(connections: int):  # type: ignore[no-untyped-def]
    """As many worker threads as database slots; the engine is closed when the server stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(connections, 8)
        yield
        await app.state.close_versions()
        app.state.engine.dispose()

    return lifespan


def _install_docs(app: FastAPI, settings: Settings) -> None:
    """The OpenAPI schema and Swagger UI: for logged-in staff only, unless the office makes them public."""
    guard = [] if settings.public_api_docs else [Depends(require_viewer)]

    @app.get(f"{API_PREFIX}/openapi.json", include_in_schema=False, dependencies=guard)
    def openapi_schema() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False, dependencies=guard)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="Wenming 接口文档",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )


def create_app(settings: Settings | None = None, extra_routers: Iterable[APIRouter] = ()) -> FastAPI:
    """Build the app; ``extra_routers`` (e.g. the OneBot endpoints from ``bot/``) are mounted as given."""
    settings = settings or get_settings()
    connections = settings.api_db_connections
    app = FastAPI(
        lifespan=_lifespan(connections),
        title="Wenming 文明单位管理接口",
        version="1.0",
        description=DESCRIPTION,
        openapi_url=None,  # served below, behind login unless WENMING_PUBLIC_API_DOCS=true
        docs_url=None,  # served below from the package's own copy of Swagger UI: offices are often offline
        redoc_url=None,
        responses={
            400: {"model": ErrorResponse, "description": "请求有误"},
            401: {"model": ErrorResponse, "description": "未登录或令牌无效"},
            403: {"model": ErrorResponse, "description": "权限不足"},
            404: {"model": ErrorResponse, "description": "不存在"},
            422: {"model": ErrorResponse, "description": "数据校验失败"},
        },
    )
    # One kept connection per request slot (see api.deps.get_db): a smaller pool opened and closed overflow
    # connections all the time (SQLite's connect-time PRAGMAs were 8 % of a request). The overflow is for work
    # beside the requests (a token's last-use update, the scheduler in ``wenming run``).
    # One more kept connection for the version counters' reads on SQLite (api.ready.version_source).
    engine = create_db_engine(settings.database_url, pool_size=connections + 1, max_overflow=max(2, connections // 4))
    app.state.db_slots = anyio.CapacityLimiter(connections)
    read_versions, app.state.close_versions = version_source(engine)
    app.state.versions = VersionReader(read_versions)
    app.state.open_read = pooled_read_session
    app.state.write_token_use = touch_token_now
    app.state.board_cache = ResultCache(settings.api_leaderboard_cache_seconds, follow_local_writes=False)
    app.state.list_cache = ResultCache(
        settings.api_leaderboard_cache_seconds, max_entries=1024, follow_local_writes=False
    )
    app.state.token_touches = {}  # token id -> monotonic time of the last last_used_at write
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.read_session_factory = make_read_session_factory(engine)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, settings=settings)

    for router in api_routers():
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(misc.health_router)

    _install_docs(app, settings)

    from api.console import install_console  # the console imports templates; keep the API importable alone

    install_console(app)
    from api import console_periods, unit_pages  # console pages 考核期/申诉 and the signed unit pages

    app.include_router(console_periods.router)
    app.include_router(unit_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # Extra routers (bot webhooks and the like) are mounted at their own paths, outside /api/v1.
    for router in extra_routers:
        app.include_router(router)
    return app
