"""Image downloads with a size cap, a time limit and retries, through an injected httpx client."""

from __future__ import annotations

import asyncio
import logging

import httpx

log = logging.getLogger(__name__)


class MediaError(RuntimeError):
    """The image could not be fetched; the message is the Chinese reason."""


async def _fetch_once(client: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    async with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise MediaError(f"图片下载失败：HTTP {response.status_code}")
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise MediaError(f"图片过大（{int(declared)} 字节，上限 {max_bytes}）")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise MediaError(f"图片过大（超过上限 {max_bytes} 字节）")
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise MediaError("图片下载得到 0 字节")
    return data


async def download(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, timeout: float, retries: int, backoff: float = 0.5
) -> bytes:
    """GET ``url`` within ``timeout`` per attempt; retries transport errors and 5xx, not oversize files."""
    last: Exception | None = None
    for attempt in range(retries):
        try:
            return await asyncio.wait_for(_fetch_once(client, url, max_bytes), timeout)
        except MediaError as exc:
            if "过大" in str(exc) or "HTTP 4" in str(exc):
                raise
            last = exc
        except (httpx.HTTPError, TimeoutError) as exc:
            last = exc
        log.info("图片下载第 %d 次失败：%s", attempt + 1, last)
        if attempt + 1 < retries:
            await asyncio.sleep(backoff * (2**attempt))
    if isinstance(last, TimeoutError):
        raise MediaError(f"图片下载超时（{timeout:g} 秒，已重试 {retries} 次）")
    raise MediaError(f"图片下载失败（已重试 {retries} 次）：{last}")
