"""Finding 2: image fetches go only to public http(s) addresses, redirects included, within size limits."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from bot.onebot import media
from bot.onebot.adapter import OneBotAdapter
from tests.bot import onebot_events as ev
from tests.bot.fakes import RecordingSink, png_bytes
from tests.security.conftest import PUBLIC
from wenming.settings import Settings

PNG = png_bytes()
ADDRESSES = {
    "img.qq.example": [PUBLIC],
    "metadata.internal": ["169.254.169.254"],
    "intranet.example": ["10.0.0.5"],
    "both.example": [PUBLIC, "127.0.0.1"],  # one private answer is enough to refuse
    "napcat.lan": ["192.168.1.20"],
}


async def resolver(host: str) -> list[str]:
    if host not in ADDRESSES:
        raise OSError("no such host")
    return ADDRESSES[host]


@pytest.fixture(autouse=True)
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The names above resolve as listed; nothing asks the real DNS."""
    monkeypatch.setattr(media, "resolve_host", resolver, raising=False)


def _adapter(settings: Settings, routes: dict[str, httpx.Response]) -> tuple[OneBotAdapter, RecordingSink, list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return routes.get(str(request.url), httpx.Response(200, content=PNG))

    sink = RecordingSink()
    quick = settings.model_copy(update={"media_download_retries": 1, "media_download_backoff_seconds": 0.0})
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    return OneBotAdapter(quick, sink, http), sink, seen


def _image_event(url: str | None = None, file: str = "abc.image") -> dict[str, Any]:
    data = {"file": file} | ({"url": url} if url else {})
    return ev.group_message_array(501, message=[{"type": "image", "data": data}])


def _fetch(adapter: OneBotAdapter, sink: RecordingSink, event: dict[str, Any]) -> tuple[bytes | None, str | None]:
    asyncio.run(adapter.handle_event(event))
    [message] = sink.messages
    return (message.media.data if message.media else None), message.media_error


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/api/v1/users",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://intranet.example/secret.png",
        "http://metadata.internal/",
        "http://both.example/a.png",
        "http://0.0.0.0/",
        "http://[::ffff:10.0.0.1]/",
    ],
)
def test_private_and_loopback_addresses_are_never_fetched(settings: Settings, url: str) -> None:
    adapter, sink, seen = _adapter(settings, {})
    data, error = _fetch(adapter, sink, _image_event(url))
    assert data is None and seen == []
    assert "内网" in (error or "")


def test_a_redirect_to_a_private_address_is_refused_at_the_hop(settings: Settings) -> None:
    first = "http://img.qq.example/a.png"
    adapter, sink, seen = _adapter(
        settings, {first: httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data/"})}
    )
    data, error = _fetch(adapter, sink, _image_event(first))
    assert data is None and seen == [first]
    assert "内网" in (error or "")


def test_redirects_are_followed_a_few_hops_at_most(settings: Settings) -> None:
    hops = {f"http://img.qq.example/{i}": httpx.Response(302, headers={"location": f"/{i + 1}"}) for i in range(6)}
    adapter, sink, seen = _adapter(settings, hops)
    data, error = _fetch(adapter, sink, _image_event("http://img.qq.example/0"))
    assert data is None and len(seen) == 4 and "重定向" in (error or "")
    adapter, sink, seen = _adapter(settings, {k: v for k, v in hops.items() if k.endswith(("/0", "/1"))})
    data, _ = _fetch(adapter, sink, _image_event("http://img.qq.example/0"))
    assert data == PNG and seen[-1] == "http://img.qq.example/2"


def test_a_file_field_with_an_http_url_goes_through_the_same_checks(settings: Settings) -> None:
    adapter, sink, seen = _adapter(settings, {})
    data, error = _fetch(adapter, sink, _image_event(file="http://intranet.example/x.png"))
    assert data is None and seen == [] and "内网" in (error or "")


def test_only_http_and_https(settings: Settings) -> None:
    adapter, sink, seen = _adapter(settings, {})
    data, error = _fetch(adapter, sink, _image_event("file:///etc/passwd"))
    assert data is None and seen == [] and "http" in (error or "")


def test_an_allow_listed_host_on_the_lan_is_fetched(settings: Settings) -> None:
    allowed = settings.model_copy(update={"media_allowed_hosts": ["napcat.lan"]})
    adapter, sink, seen = _adapter(allowed, {})
    data, _ = _fetch(adapter, sink, _image_event("http://napcat.lan:6099/img/a.png"))
    assert data == PNG and seen == ["http://napcat.lan:6099/img/a.png"]


def test_the_allow_list_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WENMING_MEDIA_ALLOWED_HOSTS", "127.0.0.1, napcat.lan")
    assert Settings(_env_file=None).media_allowed_hosts == ["127.0.0.1", "napcat.lan"]  # type: ignore[call-arg]


def test_a_public_image_larger_than_the_limit_stops_while_streaming(settings: Settings) -> None:
    big = "http://img.qq.example/big.png"

    async def endless() -> Any:
        for _ in range(10_000):
            yield b"x" * 65536

    adapter, sink, _ = _adapter(settings.model_copy(update={"max_image_bytes": 1 << 20}), {})
    adapter.http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=endless())))
    data, error = _fetch(adapter, sink, _image_event(big))
    assert data is None and "过大" in (error or "")
