"""The monthly post from real captured messages: OneBot events → ingest → classifier → scoring → post."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx

from bot.onebot.adapter import OneBotAdapter
from bot.posts import jobs
from bot.sink import IngestSink
from ingest.models import Unit
from tests.bot import onebot_events as ev
from wenming.db import transaction
from wenming.settings import Settings

CST = ZoneInfo("Asia/Shanghai")
POSTS = [
    ("县人民医院-王医生", 11, "长兴县人民医院10月9日组织医务志愿者到雉城街道开展义诊志愿服务，服务群众150人次。", 9),
    ("县人民医院-王医生", 11, "长兴县人民医院10月16日开展文明交通劝导志愿服务活动，参与职工20人。", 16),
    (
        "长兴中学-徐老师",
        12,
        "长兴中学10月12日组织青年教师志愿者到城南社区开展垃圾分类宣传志愿服务活动，参与师生30人。",
        12,
    ),
]


def test_monthly_post_ranks_units_from_captured_reports(sink: IngestSink, live_settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with transaction(sink.factory) as session:
        session.add_all(
            [
                Unit(name="长兴县人民医院", aliases=["县人民医院"]),
                Unit(name="长兴中学", aliases=["长中"]),
                Unit(name="长兴县公安局", aliases=["县公安局"]),
            ]
        )
    adapter = OneBotAdapter(live_settings, sink, httpx.AsyncClient())
    for n, (card, user, text, day) in enumerate(POSTS):
        event = ev.group_message_array(
            message_id=500 + n,
            time=int(datetime(2026, 10, day, 10, 0, tzinfo=CST).timestamp()),
            user_id=user,
            message=[{"type": "text", "data": {"text": text}}],
            sender={"user_id": user, "card": card, "nickname": "x"},
        )
        asyncio.run(adapter.handle_event(event))
    sink.assemble_sync()

    runtime = jobs.PostRuntime(sink.factory, live_settings)  # the real scoring service
    results = asyncio.run(jobs.run_post(runtime, "monthly_ranking", period="2026-10", dry_run=True, out_dir=tmp_path))
    public, staff = results
    # public groups get highlights by default: how many met the minimum, no ranking, nobody named for being low
    assert "本月 1 个单位达到每月 2 次文明实践活动的要求（共 3 个单位）" in public.text
    assert "长兴县公安局" not in public.text and "🥇" not in public.text
    assert staff.text.splitlines()[1].startswith("🥇 长兴县人民医院")
    assert "长兴县公安局" in staff.text.splitlines()[-1]  # staff see who is under the minimum
    assert staff.png_path is not None and staff.png_path.stat().st_size > 10_000
