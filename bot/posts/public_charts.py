"""Charts linked from robot posts that cannot carry an image (DingTalk): unguessable URLs under /charts/."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

from wenming.settings import Settings

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")


def chart_dir(settings: Settings) -> Path:
    return settings.data_dir / "posts" / "public"


def publish(settings: Settings, png: bytes) -> str | None:
    """Save the chart under a random name and return its public URL; None when no public address is set."""
    if not settings.post_public_base_url:
        return None
    token = secrets.token_urlsafe(24)  # 32 characters: the URL is the capability
    directory = chart_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{token}.png").write_bytes(png)
    return f"{settings.post_public_base_url.rstrip('/')}/charts/{token}.png"


def create_router(settings: Settings) -> APIRouter:
    """``GET /charts/<token>.png``: only files ``publish`` wrote; names are checked, never used as paths otherwise."""
    router = APIRouter(tags=["posts"])

    @router.get("/charts/{name}", include_in_schema=False)
    def chart(name: str) -> Response:
        token = name.removesuffix(".png")
        path = chart_dir(settings) / f"{token}.png"
        if not name.endswith(".png") or not TOKEN_RE.match(token) or not path.is_file():
            return JSONResponse({"error": {"code": "not_found", "message": "图表不存在或已删除"}}, status_code=404)
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})

    return router
