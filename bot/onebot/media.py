"""Image downloads with a size cap, a time limit and retries, through an injected httpx client.

This is the one place an image URL from a chat platform is fetched (segment ``url`` and ``get_image`` alike), so
guarding outbound requests (address checks against SSRF) belongs here. QQ image URLs expire within one to two
hours, which is why photos are fetched when the message arrives: every attempt below ends within about a minute.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

log = logging.getLogger(__name__)


class MediaError(RuntimeError):
    """The image could not be fetched; the message is the Chinese reason. Permanent errors are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def _status_error(status: int) -> MediaError:
    if 400 <= status < 500:  # QQ answers an expired link with a client error: retrying cannot bring it back
        return MediaError(f"图片下载失败：HTTP {status}（图片链接可能已过期或无权访问）", permanent=True)
    return MediaError(f"图片下载失败：HTTP {status}")


async def _fetch_once(client: httpx.AsyncClient, url: str, max_bytes: int) -> bytes:
    async with client.stream("GET", url) as response:
        if response.status_code != 200:
            raise _status_error(response.status_code)
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise MediaError(f"图片过大（{int(declared)} 字节，上限 {max_bytes}）", permanent=True)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise MediaError(f"图片过大（超过上限 {max_bytes} 字节）", permanent=True)
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise MediaError("图片下载得到 0 字节")
    return data


async def download(
    client: httpx.AsyncClient, url: str, *, max_bytes: int, timeout: float, retries: int, backoff: float = 1.0
) -> bytes:
    """GET ``url`` within ``timeout`` per attempt; retries transport errors, timeouts, 5xx and empty bodies."""
    last: Exception | None = None
    for attempt in range(retries):
        try:
            return await asyncio.wait_for(_fetch_once(client, url, max_bytes), timeout)
        except MediaError as exc:
            if exc.permanent:
                raise
            last = exc
        except (httpx.HTTPError, TimeoutError) as exc:
            last = exc
        log.info("图片下载第 %d 次失败：%s", attempt + 1, last)
        if attempt + 1 < retries:
            await asyncio.sleep(backoff * (2**attempt))
    if isinstance(last, TimeoutError | httpx.TimeoutException):
        raise MediaError(f"图片下载超时（每次 {timeout:g} 秒，共试 {retries} 次）")
    raise MediaError(f"图片下载失败（共试 {retries} 次）：{last}")
