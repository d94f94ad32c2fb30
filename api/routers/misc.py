"""Photos (served only to signed-in staff), the audit log, and the health probes."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from PIL import Image, ImageOps
from sqlalchemy import text

from api import repository as repo
from api import schemas
from api.deps import AppSettings, DbSession, OptionalId, Paging, ResourceId, Viewer, as_utc
from api.errors import ErrorResponse, NotFound
from ingest.models import Media
from wenming import schema
from wenming.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(tags=["图片与审计"])
health_router = APIRouter(tags=["健康检查"])

THUMB_SIZE = 320


def media_file(settings: Settings, media: Media) -> Path:
    """The stored file, refusing any path that would leave the media directory."""
    root = settings.media_dir.resolve()
    path = (root / media.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("图片文件不存在")
    return path


def thumbnail(settings: Settings, media: Media, source: Path) -> Path:
    """A cached JPEG thumbnail under the data directory, made on first request."""
    out = settings.data_dir / "thumbs" / f"{media.sha256}_{THUMB_SIZE}.jpg"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as img:
        img = ImageOps.exif_transpose(img)
        img.thumbnail((THUMB_SIZE, THUMB_SIZE))
        tmp = out.with_suffix(".tmp")
        img.convert("RGB").save(tmp, "JPEG", quality=80)
        tmp.replace(out)
    return out


@router.get("/media/{media_id}", response_class=FileResponse, responses={404: {"model": ErrorResponse}})
def get_media(
    media_id: ResourceId,
    db: DbSession,
    settings: AppSettings,
    _me: Viewer,
    size: Annotated[Literal["full", "thumb"], Query(description="full：原图；thumb：缩略图")] = "full",
) -> FileResponse:
    """A report photo (or one kept in a message); no other stored image is served, and only to signed-in staff."""
    media = db.get(Media, media_id)
    if media is None or not (repo.media_reports(db, media_id) or repo.media_in_messages(db, media_id)):
        raise NotFound("图片不存在")
    path = media_file(settings, media)
    headers = {"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"}
    if size == "thumb":
        return FileResponse(thumbnail(settings, media, path), media_type="image/jpeg", headers=headers)
    return FileResponse(path, media_type=media.mime, headers=headers)


@router.get("/audit", response_model=schemas.Page[schemas.AuditEntryOut])
def audit_log(
    db: DbSession,
    settings: AppSettings,
    _me: Viewer,
    paging: Paging,
    kind: Annotated[
        str | None, Query(max_length=30, description="classification、report_unit、member_unit、unit…")
    ] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    report_id: OptionalId = None,
    member_id: OptionalId = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> schemas.Page:
    """Every staff change, newest first."""
    stmt = repo.audit_query(kind, actor, report_id, member_id, as_utc(since, settings), as_utc(until, settings))
    rows, total = repo.paged(db, stmt, paging.offset, paging.page_size)
    items = [schemas.AuditEntryOut.model_validate(r[0]) for r in rows]
    return schemas.Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@health_router.get("/healthz", response_model=schemas.Health)
def healthz() -> schemas.Health:
    """The process is up (no database access, for liveness probes)."""
    return schemas.Health(status="ok")


@health_router.get("/readyz", response_model=schemas.Health, responses={503: {"model": schemas.Health}})
def readyz(request: Request) -> JSONResponse:
    """Ready or not, nothing more (the reason goes to the server log): the database answers, schema at head."""
    engine = request.app.state.engine
    head = schema.head_revision()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = schema.current_revision(engine)
    except Exception as exc:
        log.warning("未就绪：数据库无法连接（%s）", type(exc).__name__)
        return JSONResponse(schemas.Health(status="unavailable").model_dump(), status_code=503)
    if current != head:
        log.warning("未就绪：数据库结构版本 %s 与程序版本 %s 不一致，请运行 wenming db upgrade", current, head)
        return JSONResponse(schemas.Health(status="unavailable").model_dump(), status_code=503)
    return JSONResponse(schemas.Health(status="ok").model_dump())
