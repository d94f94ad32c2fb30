"""`wenming run` mounts whatever endpoints each adapter brings, with no adapter special-cased."""

from __future__ import annotations

import anyio
from fastapi import APIRouter

from bot.base import Adapter, AdapterStatus, GroupInfo
from ingest.models import Platform
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
