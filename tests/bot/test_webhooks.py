"""Official robots as post targets: the exact request shapes of WeCom group robots and DingTalk custom robots,
their signatures, limits and error codes, through ``httpx.MockTransport``; and a leaderboard post through both."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import random
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from PIL import Image
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.base import SendError
from bot.models import PostRecord
from bot.posts import jobs
from bot.posts.policy import PolicyError, set_policy
from bot.webhooks.base import RateLimiter, RobotChannel, split_by_bytes
from bot.webhooks.dingtalk import DingTalkRobot
from bot.webhooks.setup import build_channels
from bot.webhooks.wecom import WeComRobot, fit_image
from tests.bot.fakes import png_bytes
from tests.bot.test_posts import FakeScoring
from wenming.db import transaction
from wenming.settings import PostWebhook, Settings

WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa"
DING_URL = "https://oapi.dingtalk.com/robot/send?access_token=c0ffee0123456789"
DING_SECRET = "SEC4d2f0a1b7c9e8d6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1"


class Recorder:
    """A robot endpoint: records each request and answers with the queued JSON bodies (default errcode 0)."""

    def __init__(self, *answers: dict[str, Any] | int) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else {"errcode": 0, "errmsg": "ok"}
        if isinstance(answer, int):
            return httpx.Response(answer, text="busy")
        return httpx.Response(200, json=answer)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content.decode("utf-8")) for r in self.requests]


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _wecom(recorder: Recorder, time: FakeTime | None = None) -> WeComRobot:
    time = time or FakeTime()
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    limiter = RateLimiter(20, 60.0, clock=time.clock, sleep=time.sleep)
    return WeComRobot("工作人员群", PostWebhook(kind="wecom", url=WECOM_URL), client, limiter=limiter, sleep=time.sleep)


def _dingtalk(recorder: Recorder, *, secret: str | None = DING_SECRET, link: str | None = None) -> DingTalkRobot:
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    config = PostWebhook(kind="dingtalk", url=DING_URL, secret=secret)
    return DingTalkRobot(
        "公开群", config, client, clock=lambda: 1763600000.123, chart_link=(lambda png: link) if link else None
    )


def test_wecom_sends_markdown_then_the_chart_as_base64_with_md5() -> None:
    recorder = Recorder()
    png = png_bytes("red", (120, 80))
    text = "【2026年10月 文明单位活跃度排行（前 3 名）】\n🥇 长兴县人民医院  活跃度 23.5\n计分方法：实践次数×2"
    asyncio.run(_wecom(recorder).send_image(png, text))
    assert [str(r.url) for r in recorder.requests] == [WECOM_URL, WECOM_URL]
    assert all(
        r.method == "POST" and r.headers["content-type"].startswith("application/json") for r in recorder.requests
    )
    markdown, image = recorder.bodies()
    assert markdown == {
        "msgtype": "markdown",
        "markdown": {
            "content": "**【2026年10月 文明单位活跃度排行（前 3 名）】**\n"
            "🥇 长兴县人民医院  活跃度 23.5\n计分方法：实践次数×2"
        },
    }
    assert image["msgtype"] == "image" and set(image["image"]) == {"base64", "md5"}
    sent = base64.b64decode(image["image"]["base64"])
    assert sent == png and image["image"]["md5"] == hashlib.md5(png).hexdigest()
    assert "长兴县人民医院" in recorder.requests[0].content.decode("utf-8")  # UTF-8 on the wire, not \\u escapes


def test_wecom_markdown_over_4096_bytes_is_split_between_lines() -> None:
    recorder = Recorder()
    lines = ["【2026年10月 文明单位活跃度排行（共 80 个单位）】"] + [
        f"{i}. 长兴县第{i}文明实践示范单位  活跃度 {i}.5（实践 9 次，活跃 7 天）" for i in range(1, 81)
    ]
    asyncio.run(_wecom(recorder).send_text("\n".join(lines)))
    contents = [b["markdown"]["content"] for b in recorder.bodies()]
    assert len(contents) > 1
    assert all(len(c.encode("utf-8")) <= 4096 for c in contents)
    assert "\n".join(contents) == "\n".join(["**" + lines[0] + "**", *lines[1:]])  # nothing lost or cut mid-line


def test_wecom_chart_over_2_mb_is_sent_as_jpeg_within_the_limit() -> None:
    noisy = Image.frombytes("RGB", (1000, 900), random.Random(7).randbytes(1000 * 900 * 3))
    buffer = io.BytesIO()
    noisy.save(buffer, "PNG")
    assert buffer.tell() > 2 * 1024 * 1024
    fitted = fit_image(buffer.getvalue())
    assert len(fitted) <= 2 * 1024 * 1024 and fitted[:3] == b"\xff\xd8\xff"


def test_wecom_errcode_is_a_failure_even_with_http_200_and_never_shows_the_key() -> None:
    recorder = Recorder({"errcode": 93000, "errmsg": "invalid webhook url, hint: [1763600000_01]"})
    robot = _wecom(recorder)
    with pytest.raises(SendError) as failure:
        asyncio.run(robot.send_text("【测试】"))
    message = str(failure.value)
    assert "errcode=93000" in message and "Webhook 地址无效" in message and "企业微信机器人「工作人员群」" in message
    assert "693a91f6" not in message and robot.last_error == message
    http_error = Recorder(502)
    with pytest.raises(SendError, match="HTTP 502"):
        asyncio.run(_wecom(http_error).send_text("【测试】"))


def test_wecom_rate_limit_answer_waits_a_minute_and_retries_once() -> None:
    time = FakeTime()
    recorder = Recorder({"errcode": 45009, "errmsg": "api freq out of limit"})
    asyncio.run(_wecom(recorder, time).send_text("【测试】"))
    assert len(recorder.requests) == 2 and 60.0 in time.slept
    twice = Recorder({"errcode": 45009, "errmsg": "x"}, {"errcode": 45009, "errmsg": "x"})
    with pytest.raises(SendError, match="每分钟 20 条"):
        asyncio.run(_wecom(twice, FakeTime()).send_text("【测试】"))


def test_twenty_messages_a_minute_per_robot_the_21st_waits() -> None:
    time = FakeTime()
    recorder = Recorder()
    robot = _wecom(recorder, time)

    async def send_many() -> list[float]:
        stamps = []
        for i in range(25):
            await robot.send_text(f"第 {i} 条")
            stamps.append(time.now)
        return stamps

    stamps = asyncio.run(send_many())
    assert len(recorder.requests) == 25
    assert stamps[19] == 1000.0 and stamps[20] == 1060.0  # the 21st waits for the first to leave the window
    for i in range(len(stamps)):
        assert sum(1 for t in stamps if stamps[i] <= t < stamps[i] + 60) <= 20


def test_dingtalk_signs_the_url_as_documented_and_sends_markdown() -> None:
    recorder = Recorder()
    asyncio.run(
        _dingtalk(recorder).send_text(
            "【2026年11月 中旬提醒（截至 15 日）】本月实践活动不足 2 次的单位：\n· 长兴中学：已报 1 次"
        )
    )
    [request] = recorder.requests
    query = urllib.parse.parse_qs(request.url.query.decode("ascii"))
    assert str(request.url).startswith(DING_URL + "&timestamp=")
    assert query["access_token"] == ["c0ffee0123456789"] and query["timestamp"] == ["1763600000123"]
    # What DingTalk does on its side: HMAC-SHA256 keyed by the secret over "timestamp\nsecret", base64.
    expected = hmac.new(DING_SECRET.encode(), f"1763600000123\n{DING_SECRET}".encode(), hashlib.sha256).digest()
    assert base64.b64decode(query["sign"][0]) == expected
    assert recorder.bodies() == [
        {
            "msgtype": "markdown",
            "markdown": {
                "title": "2026年11月 中旬提醒（截至 15 日）",  # what the notification shows
                "text": "#### 【2026年11月 中旬提醒（截至 15 日）】本月实践活动不足 2 次的单位：  \n"
                "· 长兴中学：已报 1 次",
            },
        }
    ]


def test_dingtalk_without_secret_posts_to_the_plain_url() -> None:
    recorder = Recorder()
    asyncio.run(_dingtalk(recorder, secret=None).send_text("【测试】"))
    assert str(recorder.requests[0].url) == DING_URL


def test_dingtalk_chart_is_a_link_when_served_publicly_else_text_only() -> None:
    linked = Recorder()
    url = "https://wenming.example.gov.cn/charts/AbCdEfGhIjKlMnOpQrStUvWxYz012345.png"
    asyncio.run(_dingtalk(linked, link=url).send_image(png_bytes(), "【十月排行】\n🥇 长兴县人民医院"))
    assert linked.bodies()[0]["markdown"]["text"].endswith(f"  \n![十月排行]({url})")
    plain = Recorder()
    asyncio.run(_dingtalk(plain).send_image(png_bytes(), "【十月排行】\n🥇 长兴县人民医院"))
    assert plain.bodies()[0]["markdown"]["text"] == "#### 【十月排行】  \n🥇 长兴县人民医院"
    assert all(b["msgtype"] == "markdown" for b in plain.bodies())  # no upload attempt: custom robots cannot


def test_dingtalk_security_rejection_is_explained() -> None:
    recorder = Recorder({"errcode": 310000, "errmsg": "sign not match"})
    with pytest.raises(SendError, match="加签密钥"):
        asyncio.run(_dingtalk(recorder).send_text("【测试】"))


def test_webhook_settings_refuse_foreign_urls_and_mask_the_key() -> None:
    with pytest.raises(ValidationError, match=r"qyapi\.weixin\.qq\.com"):
        PostWebhook(kind="wecom", url="https://evil.example.com/cgi-bin/webhook/send?key=1")
    with pytest.raises(ValidationError, match="只有钉钉机器人"):
        PostWebhook(kind="wecom", url=WECOM_URL, secret="SEC1")
    hook = PostWebhook(kind="dingtalk", url=DING_URL, secret=DING_SECRET)
    assert hook.masked_url() == "https://oapi.dingtalk.com/robot/send?access_token=c0ff…"
    assert "c0ffee" not in repr(hook) and DING_SECRET not in repr(hook)


def test_split_by_bytes_keeps_every_character() -> None:
    text = ["一" * 3000, "二三", "四" * 10]
    chunks = split_by_bytes(text, 4096, "\n")
    assert "".join(chunks).replace("\n", "") == "".join(text)
    assert all(len(c.encode()) <= 4096 for c in chunks)


@pytest.fixture
def robot_runtime(
    committed_factory: sessionmaker[Session], live_settings: Settings
) -> tuple[jobs.PostRuntime, Recorder]:
    settings = live_settings.model_copy(
        update={
            "post_webhooks": {
                "县文明办工作群": PostWebhook(kind="wecom", url=WECOM_URL),
                "文明单位联络群": PostWebhook(kind="dingtalk", url=DING_URL, secret=DING_SECRET),
            },
            "post_public_base_url": "https://wenming.example.gov.cn",
        }
    )
    robots = {name: hook.kind for name, hook in settings.post_webhooks.items()}
    with transaction(committed_factory) as session:
        set_policy(session, "wecom", "县文明办工作群", "staff_only", robots=robots)
        set_policy(session, "dingtalk", "文明单位联络群", "top_n", top_n=3, robots=robots)
    recorder = Recorder()
    channels = build_channels(settings, httpx.AsyncClient(transport=httpx.MockTransport(recorder)))
    runtime = jobs.PostRuntime(
        committed_factory,
        settings,
        adapters=dict(channels),
        clock=lambda: datetime(2026, 11, 1, 1, 0, tzinfo=UTC),
        scoring=FakeScoring(),
    )
    return runtime, recorder


def test_leaderboard_goes_out_through_wecom_and_dingtalk_per_policy(robot_runtime: Any, tmp_path: Any) -> None:
    runtime, recorder = robot_runtime
    results = asyncio.run(jobs.run_post(runtime, "monthly_ranking"))
    assert sorted((r.platform, r.group_id, r.status) for r in results) == [
        ("dingtalk", "文明单位联络群", "sent"),
        ("wecom", "县文明办工作群", "sent"),
    ]
    by_host: dict[str, list[dict[str, Any]]] = {}
    for request, body in zip(recorder.requests, recorder.bodies(), strict=True):
        by_host.setdefault(request.url.host, []).append(body)
    wecom, dingtalk = by_host["qyapi.weixin.qq.com"], by_host["oapi.dingtalk.com"]
    assert [b["msgtype"] for b in wecom] == ["markdown", "image"]
    assert "未达每月 2 次实践的单位（2 个）：长兴县教育局、长兴县公安局" in wecom[0]["markdown"]["content"]  # staff
    assert base64.b64decode(wecom[1]["image"]["base64"]).startswith(b"\x89PNG")
    [ding] = dingtalk
    text = ding["markdown"]["text"]
    assert "🥉 长兴中学" in text and "长兴县公安局" not in text  # public: top 3 only, Chinese as composed
    link = text.rsplit("(", 1)[1].rstrip(")")
    assert link.startswith("https://wenming.example.gov.cn/charts/") and link.endswith(".png")
    served = runtime.settings.data_dir / "posts" / "public" / link.rsplit("/", 1)[1]
    assert served.read_bytes().startswith(b"\x89PNG")
    with runtime.factory() as session:
        records = sorted((r.platform, r.status) for r in session.scalars(select(PostRecord)))
    assert records == [("dingtalk", "sent"), ("wecom", "sent")]
    again = asyncio.run(jobs.run_post(runtime, "monthly_ranking"))
    assert {r.status for r in again} == {"skipped"} and len(recorder.requests) == 3


def test_robot_failure_marks_the_post_failed_with_the_reason(robot_runtime: Any) -> None:
    runtime, recorder = robot_runtime
    recorder.answers = [{"errcode": 93000, "errmsg": "invalid webhook url"}]
    runtime.clock = lambda: datetime(2026, 11, 15, 1, 0, tzinfo=UTC)
    [result] = asyncio.run(jobs.run_post(runtime, "reminder"))  # staff only: the WeCom robot
    assert (result.platform, result.status) == ("wecom", "failed") and "Webhook 地址无效" in (result.error or "")
    with runtime.factory() as session:
        [record] = session.scalars(select(PostRecord))
    assert record.status == "failed" and "errcode=93000" in (record.error or "")
    [retried] = asyncio.run(jobs.run_post(runtime, "reminder"))  # a later run retries a failed post
    assert retried.status == "sent"


def test_robot_policy_needs_a_configured_robot_of_that_kind(committed_factory: sessionmaker[Session]) -> None:
    with transaction(committed_factory) as session, pytest.raises(PolicyError, match="WENMING_POST_WEBHOOKS"):
        set_policy(session, "wecom", "不存在的机器人", "top_n", robots={"公开群": "dingtalk"})


def test_unknown_robot_name_is_a_send_error() -> None:
    channel = RobotChannel("wecom", {})
    with pytest.raises(SendError, match="未配置名为「工作群」的企业微信机器人"):
        asyncio.run(channel.send_text("工作群", "【测试】"))


def test_cli_sets_a_robot_policy_from_the_environment_and_masks_its_key(
    cli_env: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from tests.support import cli_settings
    from wiring.cli.main import app

    hooks = {"县文明办工作群": {"kind": "wecom", "url": WECOM_URL}}
    with cli_settings(monkeypatch, post_webhooks=json.dumps(hooks, ensure_ascii=False)):
        runner = CliRunner()
        done = runner.invoke(app, ["bot", "policy", "set", "wecom", "县文明办工作群", "staff_only"])
        assert done.exit_code == 0, done.output
        assert "已设置 企业微信机器人 县文明办工作群：仅工作人员" in done.output
        missing = runner.invoke(app, ["bot", "policy", "set", "dingtalk", "县文明办工作群", "top_n"])
        assert missing.exit_code == 1 and "没有名为「县文明办工作群」的钉钉机器人" in missing.output
        listed = runner.invoke(app, ["bot", "policy", "list"], env={"COLUMNS": "200"})
    assert "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a…" in listed.output
    assert "693a91f6" not in listed.output


def test_published_chart_is_served_only_under_its_random_name(settings: Settings) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from bot.posts import public_charts

    assert public_charts.publish(settings, png_bytes()) is None  # no public address: nothing is exposed
    settings = settings.model_copy(update={"post_public_base_url": "https://wenming.example.gov.cn/"})
    url = public_charts.publish(settings, png_bytes("green"))
    assert url is not None and url.startswith("https://wenming.example.gov.cn/charts/")
    app = FastAPI()
    app.include_router(public_charts.create_router(settings))
    client = TestClient(app)
    served = client.get(url.removeprefix("https://wenming.example.gov.cn"))
    assert served.status_code == 200 and served.content == png_bytes("green")
    for probe in ("/charts/..%2F..%2Fwenming.db", "/charts/short.png", "/charts/" + "A" * 32 + ".png"):
        assert client.get(probe).status_code == 404
