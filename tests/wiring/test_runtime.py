"""`wenming run` mounts whatever endpoints each adapter brings, with no adapter special-cased."""

from __future__ import annotations

import anyio
from fastapi import APIRouter
from pytest import MonkeyPatch
from sqlalchemy.orm import Session, sessionmaker

from bot.base import Adapter, AdapterStatus, GroupInfo
from bot.sink import IngestSink
from ingest.models import Platform
from wenming.db import transaction
from wenming.queue import service as queue_service
from wenming.settings import Settings
from wiring import runtime


class WebhookAdapter(Adapter):
    """A platform that calls us (like a WeCom callback): its only distinctive part is its own route."""

    name = "webhook"
    platform = Platform.WECHAT

    def routers(self) -> list[APIRouter]:
        router = APIRouter(prefix="/webhook")

        @router.post("/events")
        def events() -> dict[str, str]:
            return {"ok": "yes"}

        return [router]

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def status(self) -> AdapterStatus:
        return AdapterStatus(self.name, self.platform.value, connected=True)

    async def send_text(self, group_id: str, text: str) -> str | None:
        return None

    async def send_image(self, group_id: str, png: bytes, caption: str | None = None) -> str | None:
        return None

    async def list_groups(self) -> list[GroupInfo]:
        return []


def test_every_adapter_brings_its_own_routes(settings: Settings) -> None:
    services = runtime.make_services(settings, None, None, ["onebot"])  # type: ignore[arg-type]
    services.adapters["webhook"] = WebhookAdapter()
    try:
        paths = {route.path for router in services.routers() for route in router.routes}  # type: ignore[attr-defined]
    finally:
        assert services.http is not None
        anyio.run(services.http.aclose)
    assert {"/onebot/v11/ws", "/onebot/v11/http", "/webhook/events"} <= paths


def test_an_adapter_that_dials_out_has_no_routes() -> None:
    from bot.wechat.adapter import WeChatAdapter

    assert WeChatAdapter.routers is Adapter.routers


class _StartedProcess:
    """What ``subprocess.Popen`` returned: still running until told otherwise."""

    def __init__(self, args: list[str], **_kwargs: object) -> None:
        self.args = args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode


def test_run_reads_photos_in_a_child_process_only_while_photos_wait(
    settings: Settings, fresh_database_url: str, committed_factory: sessionmaker[Session], monkeypatch: MonkeyPatch
) -> None:
    """`wenming run` never loads the OCR model itself: a burst worker is started when OCR jobs are queued."""
    settings = settings.model_copy(update={"database_url": fresh_database_url, "ocr_enabled": True})
    started: list[_StartedProcess] = []

    def popen(args: list[str], **kwargs: object) -> _StartedProcess:
        started.append(_StartedProcess(args, **kwargs))
        return started[-1]

    monkeypatch.setattr(runtime.subprocess, "Popen", popen)
    sink = IngestSink(committed_factory, settings)
    services = runtime.Services(settings, committed_factory, committed_factory.kw["bind"], sink)

    anyio.run(runtime._ocr_in_child, services)
    assert started == []  # nothing to read: no process, no model

    with transaction(committed_factory) as session:
        queue_service.enqueue(session, runtime.OCR_KIND, {"report_id": 1})
    anyio.run(runtime._ocr_in_child, services)
    anyio.run(runtime._ocr_in_child, services)  # still running: not a second one
    assert len(started) == 1 and started[0].args[-4:] == ["worker", "--burst", "--kind", runtime.OCR_KIND]

    started[0].returncode = 0  # it exited with the job still queued (e.g. a crash): the next tick starts another
    anyio.run(runtime._ocr_in_child, services)
    assert len(started) == 2
