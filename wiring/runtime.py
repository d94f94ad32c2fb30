"""The composition root of `wenming run`: API, adapters, spool drain, assembly, scheduler, one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.base import Adapter
from bot.onebot.adapter import OneBotAdapter
from bot.posts import jobs, public_charts, scheduler
from bot.sink import IngestSink
from bot.webhooks.base import RobotChannel
from bot.webhooks.setup import build_channels
from capture import service as capture_service
from wenming.db import read_transaction, transaction
from wenming.queue import service as queue_service
from wenming.queue.models import JobKind, JobStatus
from wenming.queue.worker import Worker, start_in_thread
from wenming.settings import Settings
from wiring.handlers import default_handlers
from wiring.server import uvicorn_options

log = logging.getLogger(__name__)

KNOWN_ADAPTERS = ("onebot", "wechat")


def build_app(settings: Settings, routers: list[APIRouter]) -> FastAPI:
    """The staff API and console with the adapters' routers mounted."""
    from api.app import create_app

    return create_app(settings, extra_routers=routers)


@dataclass
class Services:
    """Everything `wenming run` keeps alive, stopped in reverse order."""

    settings: Settings
    factory: sessionmaker[Session]
    engine: Engine
    sink: IngestSink
    adapters: dict[str, Adapter] = field(default_factory=dict)
    robots: dict[str, RobotChannel] = field(default_factory=dict)  # official robots (wecom, dingtalk) by kind
    http: httpx.AsyncClient | None = None
    scheduler: Any = None
    worker: Worker | None = None
    worker_thread: threading.Thread | None = None
    ocr_child: subprocess.Popen[bytes] | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def routers(self) -> list[APIRouter]:
        """Every adapter's own endpoints (``Adapter.routers``), and the public charts robots link to."""
        routers = [router for adapter in self.adapters.values() for router in adapter.routers()]
        if self.settings.post_public_base_url:
            routers.append(public_charts.create_router(self.settings))
        return routers

    def post_targets(self) -> dict[str, Any]:
        """Every channel posts can go through, by platform: chat adapters and official robots."""
        return {a.platform.value: a for a in self.adapters.values()} | dict(self.robots)


def make_services(
    settings: Settings,
    factory: sessionmaker[Session],
    engine: Engine,
    names: list[str] | None = None,
    *,
    insecure_local: bool = False,
) -> Services:
    """Build the configured adapters (``WENMING_BOT_ADAPTERS``) around one ingest sink."""
    names = list(names if names is not None else settings.bot_adapters)
    unknown = [n for n in names if n not in KNOWN_ADAPTERS]
    if unknown:
        raise ValueError(f"未知的适配器：{'、'.join(unknown)}（可选：onebot、wechat）")
    services = Services(settings, factory, engine, IngestSink(factory, settings))
    if "onebot" in names or settings.post_webhooks:
        services.http = httpx.AsyncClient(follow_redirects=True)
    if "onebot" in names:
        assert services.http is not None
        services.adapters["onebot"] = OneBotAdapter(
            settings, services.sink, services.http, insecure_local=insecure_local
        )
    if settings.post_webhooks:
        assert services.http is not None
        services.robots = build_channels(settings, services.http)
    if "wechat" in names:
        from bot.wechat.adapter import WeChatAdapter

        services.adapters["wechat"] = WeChatAdapter(settings, services.sink)
    return services


async def _every(seconds: float, work: Callable[[], Awaitable[Any]], what: str) -> None:
    while True:
        try:
            await work()
        except Exception:  # keep the loop alive; the database may be briefly away
            log.exception("%s 失败", what)
        await asyncio.sleep(seconds)


async def start(services: Services, *, with_scheduler: bool = True, with_worker: bool = True) -> None:
    """Start adapters, the periodic drain/assemble and status writers, the post scheduler and a job worker."""
    s = services.settings
    if with_worker:
        handlers = default_handlers()
        kinds = [kind for kind in handlers if kind != OCR_KIND]  # OCR runs in a child process, see _ocr_in_child
        services.worker, services.worker_thread = start_in_thread(services.factory, s, handlers, kinds=kinds)
        services.tasks.append(
            asyncio.create_task(_every(s.bot_assemble_interval_seconds, lambda: _ocr_in_child(services), "图片识别"))
        )
    for adapter in services.adapters.values():
        await adapter.start()
    services.tasks.append(
        asyncio.create_task(_every(s.bot_status_interval_seconds, lambda: _write_status(services), "写入状态"))
    )
    services.tasks.append(
        asyncio.create_task(_every(s.bot_assemble_interval_seconds, lambda: _drain_and_assemble(services), "整理报告"))
    )
    if with_scheduler:
        runtime = jobs.PostRuntime(services.factory, s, services.post_targets(), loop=asyncio.get_running_loop())
        jobs.install_runtime(runtime)
        services.scheduler = scheduler.build_scheduler(s, services.engine)
        scheduler.start(services.scheduler, s)


async def stop(services: Services) -> None:
    """Graceful shutdown: no new jobs, adapters closed, last state written, queued work finished."""
    if services.scheduler is not None:
        services.scheduler.shutdown(wait=False)
        jobs.install_runtime(None)
    for task in services.tasks:
        task.cancel()
    for task in services.tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for adapter in services.adapters.values():
        await adapter.stop()
    with contextlib.suppress(Exception):
        await _drain_and_assemble(services)
    with contextlib.suppress(Exception):
        await _write_status(services, final=True)
    if services.http is not None:
        await services.http.aclose()
    if services.worker is not None and services.worker_thread is not None:
        services.worker.stop()
        await asyncio.to_thread(services.worker_thread.join, 30)
    if services.ocr_child is not None and services.ocr_child.poll() is None:
        services.ocr_child.terminate()  # the worker finishes or releases its job (SIGTERM), then exits
        await asyncio.to_thread(services.ocr_child.wait, 60)


OCR_KIND = JobKind.OCR_REPORT.value


async def _ocr_in_child(services: Services) -> None:
    """Start ``wenming worker --burst --kind ocr_report`` when photos wait to be read and none is running.

    The OCR model takes ~400 MB once loaded and memory is not given back while the process lives, so ``run`` never
    loads it: a child process does the reading and exits when the queue is empty, and ``run`` stays small.
    """
    s = services.settings
    if not s.ocr_enabled or (services.ocr_child is not None and services.ocr_child.poll() is None):
        return
    status = await asyncio.to_thread(_queue_status, services.factory)
    if not status.by_kind.get(OCR_KIND, {}).get(JobStatus.QUEUED.value):
        return
    env = os.environ | {
        "WENMING_DATABASE_URL": s.database_url,
        "WENMING_DATA_DIR": str(s.data_dir),
        "WENMING_MEDIA_DIR": str(s.media_dir),
    }
    command = [sys.executable, "-c", "from wiring.cli.main import app; app()", "worker", "--burst", "--kind", OCR_KIND]
    log.info("有照片待识别文字，启动识别进程（识别完成后自动退出）")
    services.ocr_child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def _queue_status(factory: sessionmaker[Session]) -> queue_service.QueueStatus:
    with read_transaction(factory) as session:
        return queue_service.queue_status(session, dead_limit=0)


class _Server(uvicorn.Server):
    """Uvicorn minus its own signal capture, which re-raises Ctrl+C after shutdown (a traceback for the user)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _request_exit(server: uvicorn.Server) -> None:
    """First Ctrl+C / SIGTERM: finish requests and shut down in order; a second one: stop waiting for them."""
    if server.should_exit:
        server.force_exit = True
    server.should_exit = True


async def serve(
    services: Services,
    app: FastAPI,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    with_scheduler: bool = True,
    on_started: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the whole service until Ctrl+C or SIGTERM, then stop everything in order; ``on_started`` runs beside it."""
    server = _Server(
        uvicorn.Config(app, host=host, port=port, log_level=log_level, **uvicorn_options(services.settings))
    )
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not on the main thread / Windows
            loop.add_signal_handler(sig, _request_exit, server)
            handled.append(sig)
    await start(services, with_scheduler=with_scheduler)
    beside: asyncio.Task[None] | None = None
    try:
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if on_started is not None and server.started:
            beside = asyncio.create_task(on_started())
        await serving
    finally:
        if beside is not None:
            beside.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await beside
        await stop(services)
        for sig in handled:
            loop.remove_signal_handler(sig)


async def _write_status(services: Services, final: bool = False) -> None:
    statuses = [a.status() for a in services.adapters.values()]
    if final:
        for status in statuses:
            status.connected, status.detail = False, "wenming run 已停止"

    def write() -> None:
        with transaction(services.factory) as session:
            capture_service.save_adapter_states(session, statuses)

    await asyncio.to_thread(write)


async def _drain_and_assemble(services: Services) -> None:
    def work() -> None:
        if services.sink.spool.pending():
            services.sink.drain()
        services.sink.assemble_sync()

    await asyncio.to_thread(work)
