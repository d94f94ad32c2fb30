"""Image downloads with a size cap, a time limit and retries, through an injected httpx client.

This is the one place an image URL from a chat platform is fetched (segment ``url`` and ``get_image`` alike), so
guarding outbound requests (address checks against SSRF) belongs here. QQ image URLs expire within one to two
hours, which is why photos are fetched when the message arrives: every attempt below ends within about a minute.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

log = logging.getLogger(__name__)

Resolver = Callable[[str], Awaitable[list[str]]]
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class MediaError(RuntimeError):
    """The image could not be fetched; the message is the Chinese reason. Permanent errors are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


async def resolve_host(host: str) -> list[str]:
    """Every address the system resolver gives for ``host`` (what the connection could end up using)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class FetchPolicy:
    """Where image fetches may go: http(s) only, public addresses unless the host is allow-listed."""

    allowed_hosts: Collection[str] = ()
    max_redirects: int = 3
    resolver: Resolver = field(default=resolve_host)


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local or ip.is_loopback)


async def check_url(url: str, policy: FetchPolicy) -> None:
    """Refuse anything but http(s) to a public address (or an allow-listed host), before connecting."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise MediaError("图片地址无效", permanent=True) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise MediaError(f"图片地址只允许 http(s)，拒绝 {parsed.scheme or '无协议'} 地址", permanent=True)
    host = parsed.host.lower()
    if host in {h.lower() for h in policy.allowed_hosts}:
        return
    try:
        addresses = [host] if _is_ip(host) else await policy.resolver(host)
    except OSError:
        raise MediaError(f"图片地址的主机 {host} 无法解析") from None
    if not addresses or not all(_public(a) for a in addresses):
        raise MediaError(
            f"拒绝下载：图片地址 {host} 指向内网、本机或保留地址（如确需使用，加入 WENMING_MEDIA_ALLOWED_HOSTS）",
            permanent=True,
        )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _status_error(status: int) -> MediaError:
    if 400 <= status < 500:  # QQ answers an expired link with a client error: retrying cannot bring it back
        return MediaError(f"图片下载失败：HTTP {status}（图片链接可能已过期或无权访问）", permanent=True)
    return MediaError(f"图片下载失败：HTTP {status}")


async def _fetch_once(client: httpx.AsyncClient, url: str, max_bytes: int, policy: FetchPolicy) -> bytes:
    """One attempt; redirects are followed here, one hop at a time, each hop checked like the first URL."""
    for _hop in range(policy.max_redirects + 1):
        await check_url(url, policy)
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.status_code in REDIRECTS and response.headers.get("location"):
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code != 200:
                raise _status_error(response.status_code)
            return await _read_capped(response, max_bytes)
    raise MediaError(f"图片地址重定向超过 {policy.max_redirects} 次", permanent=True)


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
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
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    retries: int,
    backoff: float = 1.0,
    policy: FetchPolicy | None = None,
) -> bytes:
    """GET ``url`` within ``timeout`` per attempt; retries transport errors, timeouts, 5xx and empty bodies."""
    policy = policy or FetchPolicy()
    last: Exception | None = None
    for attempt in range(retries):
        try:
            return await asyncio.wait_for(_fetch_once(client, url, max_bytes, policy), timeout)
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
