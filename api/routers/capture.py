"""The capture door for agents an office runs itself: signed batches of messages (and photos) into ingest.

Agents authenticate with their own HMAC signature, not staff tokens: ``X-Wenming-Agent``, ``X-Wenming-Timestamp``
and ``X-Wenming-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "\\n" + body)>`` (docs/capture.md).
"""

from __future__ import annotations

import logging

import anyio.to_thread
from fastapi import APIRouter, BackgroundTasks, FastAPI, Request

from api.deps import AppSettings, DbSession
from api.errors import ApiError, ErrorResponse
from capture import service as capture_service
from capture.schemas import BatchIn, BatchResult
from classifier import pipeline
from wenming.db import transaction
from wenming.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/capture", tags=["采集代理"])

SIGNED = {
    401: {"model": ErrorResponse, "description": "签名缺失或不符、时间戳超出 5 分钟、请求重放、采集代理未知或已吊销"},
    413: {"model": ErrorResponse, "description": "请求体超过 WENMING_CAPTURE_MAX_BODY_BYTES"},
}


async def _body(request: Request, limit: int) -> bytes:
    """The raw body (it is what is signed), refused beyond ``limit`` bytes before it is all read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"请求体超过 {limit} 字节，请分成更小的批次上传")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"请求体超过 {limit} 字节，请分成更小的批次上传")
        chunks.append(chunk)
    return b"".join(chunks)


def _signed(request: Request) -> dict[str, str | None]:
    headers = request.headers
    return {
        "name": headers.get("x-wenming-agent"),
        "timestamp": headers.get("x-wenming-timestamp"),
        "signature": headers.get("x-wenming-signature"),
    }


def _refused(exc: capture_service.CaptureError) -> ApiError:
    if isinstance(exc, capture_service.AgentAuthError):
        err = ApiError(401, str(exc), code="agent_unauthorized")
        err.headers["WWW-Authenticate"] = 'Wenming-HMAC realm="capture"'
        return err
    return ApiError(400, str(exc))


def _assemble(app: FastAPI, settings: Settings) -> None:
    """After the batch is committed: assemble, classify and queue OCR, as for live capture."""
    from ingest import service as ingest_service

    try:
        with transaction(app.state.session_factory) as session:
            ingest_service.assemble_pending(session, settings, on_report=pipeline.report_hook(settings))
    except Exception:  # stored messages stay "received"; the next batch or `wenming run` assembles them
        log.exception("采集代理上传后整理报送失败")


@router.post(
    "/batches",
    response_model=BatchResult,
    responses=SIGNED,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": BatchIn.model_json_schema()}}}
    },
)
async def push_batch(
    request: Request, db: DbSession, settings: AppSettings, background: BackgroundTasks
) -> BatchResult:
    """上传一批消息（规范化格式，照片按 SHA-256 随批附带或引用已上传的），逐条返回：已存入、重复或被拒及原因。"""
    body = await _body(request, settings.capture_max_body_bytes)
    try:
        result = await anyio.to_thread.run_sync(
            lambda: capture_service.receive_batch(db, settings, body=body, **_signed(request))
        )
    except capture_service.CaptureError as exc:
        raise _refused(exc) from None
    if result.stored:
        background.add_task(anyio.to_thread.run_sync, _assemble, request.app, settings)
    return result


@router.post("/ping", responses=SIGNED)
async def ping(request: Request, db: DbSession, settings: AppSettings) -> dict[str, str]:
    """检查采集代理的密钥和电脑时钟（签名的空请求体）。"""
    body = await _body(request, 1024)
    try:
        agent = await anyio.to_thread.run_sync(
            lambda: capture_service.authenticate(db, settings, body=body, **_signed(request))
        )
    except capture_service.CaptureError as exc:
        raise _refused(exc) from None
    return {"agent": agent.name, "message": f"采集代理「{agent.name}」密钥与时钟正常"}
