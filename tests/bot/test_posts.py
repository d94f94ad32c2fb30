"""Scheduled posts: per-group policy, CJK charts, exactly-once posting, and the scheduler across a restart.

Scoring is coded against its contract (``load_rubric``, ``monthly_ranking``, ``quarter_table``,
``annual_scores``); these tests feed small in-test rankings shaped like that contract.
"""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.executors.debug import DebugExecutor
from apscheduler.schedulers.base import BaseScheduler
from PIL import Image, ImageChops, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.base import Adapter, AdapterStatus, GroupInfo, SendError
from bot.models import PostPolicy, PostRecord
from bot.posts import compose, jobs, scheduler
from bot.posts.chart import cjk_font, renders_cjk
from bot.posts.policy import PolicyError, set_policy
from ingest.models import Member, Platform, Unit
from wenming import fonts
from wenming.db import create_db_engine, transaction
from wenming.settings import Settings

CST = ZoneInfo("Asia/Shanghai")
UNITS = ["长兴县人民医院", "国家税务总局长兴县税务局", "长兴中学", "长兴县教育局", "长兴县公安局"]


def _ranking(year: int = 2026, month: int = 10, unit_ids: list[int] | None = None) -> Any:
    ids = unit_ids or list(range(1, 6))
    stats = [(9, 7, 23.5), (4, 5, 12.0), (3, 3, 7.5), (1, 1, 2.5), (0, 0, 0.0)]
    rows = [
        SimpleNamespace(
            rank=i + 1,
            unit_id=ids[i],
            unit_name=UNITS[i],
            practice_count=p,
            active_days=d,
            liveliness=s,
            meets_minimum=p >= 2,
        )
        for i, (p, d, s) in enumerate(stats)
    ]
    rows[4].rank = 5
    return SimpleNamespace(year=year, month=month, formula="活跃度 = 实践次数×2 + 活跃天数×0.5", rows=rows)


class FakeScoring:
    """The scoring service contract with in-test data."""

    def __init__(self, unit_ids: list[int] | None = None) -> None:
        self.unit_ids = unit_ids
        self.calls: list[tuple[str, int, int]] = []
        self.published: dict[tuple[str, int, int], Any] = {}

    def published_board(self, session: Session, rubric: str, kind: str, year: int, number: int) -> Any:
        return self.published.get((kind, year, number))

    def load_rubric(self, name: str) -> Any:
        return SimpleNamespace(name=name, liveliness=SimpleNamespace(min_practice_per_month=2))

    def monthly_ranking(self, session: Session, settings: Settings, rubric: Any, year: int, month: int) -> Any:
        self.calls.append(("monthly", year, month))
        return _ranking(year, month, self.unit_ids)

    def quarter_table(self, session: Session, settings: Settings, rubric: Any, year: int, quarter: int) -> Any:
        columns = [SimpleNamespace(key="practice", title="实践活动"), SimpleNamespace(key="news", title="新闻宣传")]
        rows = [
            SimpleNamespace(rank=i + 1, unit_name=name, items={"practice": 10 - i, "news": 5 - i}, total=15 - 2 * i)
            for i, name in enumerate(UNITS)
        ]
        return SimpleNamespace(
            title=f"{year}年第{quarter}季度 汇总表", year=year, quarter=quarter, columns=columns, rows=rows
        )

    def annual_scores(self, session: Session, settings: Settings, rubric: Any, year: int) -> list[Any]:
        return [
            SimpleNamespace(unit_name="长兴中学", score=58.0, warning=True, rectification=False),
            SimpleNamespace(unit_name="长兴县公安局", score=52.0, warning=True, rectification=True),
            SimpleNamespace(unit_name="长兴县人民医院", score=92.0, warning=False, rectification=False),
        ]


class RecordingAdapter(Adapter):
    """A platform stand-in that records what would be posted."""

    name = "fake"
    platform = Platform.QQ

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, str, bytes | None]] = []
        self.private: list[tuple[str, str]] = []
        self.fail = fail

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    def status(self) -> AdapterStatus:
        return AdapterStatus("fake", "qq", True)

    async def send_text(self, group_id: str, text: str) -> str | None:
        return await self.send_image(group_id, b"", text)

    async def send_image(self, group_id: str, png: bytes, caption: str | None = None) -> str | None:
        if self.fail:
            raise SendError("机器人未连接")
        self.sent.append((group_id, caption or "", png or None))
        return f"m{len(self.sent)}"

    async def send_private(self, user_id: str, text: str) -> str | None:
        self.private.append((user_id, text))
        return f"p{len(self.private)}"

    async def list_groups(self) -> list[GroupInfo]:
        return []


@pytest.fixture
def runtime(committed_factory: sessionmaker[Session], live_settings: Settings) -> jobs.PostRuntime:
    with transaction(committed_factory) as session:
        set_policy(session, "qq", "650433512", "top_n", top_n=3)
        set_policy(session, "qq", "staff-1", "staff_only")
        set_policy(session, "wechat", "不发布的群", "none")
    return jobs.PostRuntime(
        committed_factory,
        live_settings,
        adapters={"qq": RecordingAdapter()},
        clock=lambda: datetime(2026, 11, 1, 1, 0, tzinfo=UTC),
        scoring=FakeScoring(),
    )


def test_public_top_n_hides_bottom_places_staff_sees_everything() -> None:
    ranking = _ranking()
    public = compose.monthly_ranking_post(ranking, PostPolicy.TOP_N, 3, 2)
    assert "长兴中学" in public.text and "长兴县教育局" not in public.text and "长兴县公安局" not in public.text
    full = compose.monthly_ranking_post(ranking, PostPolicy.FULL, 3, 2)
    assert "长兴县公安局" in full.text and "未达" not in full.text
    staff = compose.monthly_ranking_post(ranking, PostPolicy.STAFF_ONLY, 3, 2)
    assert "未达每月 2 次实践的单位（2 个）：长兴县教育局、长兴县公安局" in staff.text


def test_an_empty_month_gives_nobody_a_medal_or_a_place() -> None:
    ranking = _ranking()
    for row in ranking.rows:
        row.rank, row.practice_count, row.active_days, row.liveliness = 1, 0, 0, 0.0
    for policy in PostPolicy.TOP_N, PostPolicy.FULL, PostPolicy.STAFF_ONLY:
        text = compose.monthly_ranking_post(ranking, policy, 3, 2).text
        assert "🥇" not in text and "本月暂无单位在群内报送活动" in text, (policy, text)
    full = compose.monthly_ranking_post(_ranking(), PostPolicy.FULL, 3, 2).text
    assert "🥇 长兴县人民医院" in full and "— 长兴县公安局" in full  # the unit with nothing keeps no place


def test_chart_png_renders_cjk_glyphs_not_boxes() -> None:
    assert renders_cjk(cjk_font(34))
    assert not renders_cjk(ImageFont.load_default())  # the check does fail on a font without Chinese
    post = compose.monthly_ranking_post(_ranking(), PostPolicy.TOP_N, 3, 2)
    chart = Image.open(io.BytesIO(post.png or b"")).convert("RGB")
    assert chart.format is None or chart.size[0] == 1080
    title = "2026年10月 文明单位活跃度排行"
    expected = Image.new("RGB", chart.size, "#ffffff")
    ImageDraw.Draw(expected).text((40, 24), title, font=cjk_font(34), fill="#8b1a1a")
    box = (30, 15, 700, 70)
    assert ImageChops.difference(chart.crop(box), expected.crop(box)).getbbox() is None
    tofu = Image.new("RGB", chart.size, "#ffffff")
    ImageDraw.Draw(tofu).text((40, 24), "\ue000" * len(title), font=cjk_font(34), fill="#8b1a1a")
    assert ImageChops.difference(chart.crop(box), tofu.crop(box)).getbbox() is not None


def test_without_a_cjk_font_the_post_goes_out_as_text_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "_fc_list", lambda: "")
    fonts.cjk_font.cache_clear()
    cjk_font.cache_clear()
    try:
        post = compose.monthly_ranking_post(_ranking(), PostPolicy.TOP_N, 3, 2)
    finally:
        fonts.cjk_font.cache_clear()
        cjk_font.cache_clear()
    assert post.png is None and "🥇" in post.text and "长兴中学" in post.text


def test_policy_input_is_checked(committed_factory: sessionmaker[Session]) -> None:
    with transaction(committed_factory) as session, pytest.raises(PolicyError, match="发布策略应为"):
        set_policy(session, "qq", "1", "bottom_only")


def test_dry_run_saves_png_and_records_nothing(runtime: jobs.PostRuntime, tmp_path: Any) -> None:
    results = asyncio.run(jobs.run_post(runtime, "monthly_ranking", dry_run=True, out_dir=tmp_path / "out"))
    assert [r.status for r in results] == ["dry_run", "dry_run"]
    assert all(r.png_path and r.png_path.read_bytes().startswith(b"\x89PNG") for r in results)
    assert results[0].period == "2026-10"
    assert runtime.adapters["qq"].sent == []
    with runtime.factory() as session:
        assert list(session.scalars(select(PostRecord))) == []


def test_posts_follow_policy_and_are_recorded_exactly_once(runtime: jobs.PostRuntime) -> None:
    results = asyncio.run(jobs.run_post(runtime, "monthly_ranking"))
    assert sorted((r.group_id, r.status, r.message_id) for r in results) == [
        ("650433512", "sent", "m1"),
        ("staff-1", "sent", "m2"),
    ]
    again = asyncio.run(jobs.run_post(runtime, "monthly_ranking"))
    assert {r.status for r in again} == {"skipped"}
    adapter = runtime.adapters["qq"]
    assert len(adapter.sent) == 2 and adapter.sent[0][2] is not None  # with the chart
    with runtime.factory() as session:
        records = list(session.scalars(select(PostRecord).order_by(PostRecord.group_id)))
    assert [(r.group_id, r.status, r.platform_message_id, r.period) for r in records] == [
        ("650433512", "sent", "m1", "2026-10"),
        ("staff-1", "sent", "m2", "2026-10"),
    ]


def test_failed_post_is_recorded_and_retried_later(runtime: jobs.PostRuntime) -> None:
    runtime.adapters["qq"] = RecordingAdapter(fail=True)
    failed = asyncio.run(jobs.run_post(runtime, "quarterly_summary"))
    assert {r.status for r in failed} == {"failed"} and failed[0].period == "2026Q3"
    runtime.adapters["qq"] = RecordingAdapter()
    retried = asyncio.run(jobs.run_post(runtime, "quarterly_summary"))
    assert {r.status for r in retried} == {"sent"}


def test_reminder_goes_to_staff_and_privately_to_lagging_units(runtime: jobs.PostRuntime) -> None:
    with transaction(runtime.factory) as session:
        units = [Unit(name=name) for name in UNITS]
        session.add_all(units)
        session.flush()
        session.add(Member(platform="qq", platform_user_id="3001", unit_id=units[4].id, display_name="公安-李"))
        session.add(Member(platform="qq", platform_user_id="3002", unit_id=units[0].id, display_name="医院-王"))
        ids = [u.id for u in units]
    runtime.scoring = FakeScoring(unit_ids=ids)
    runtime.clock = lambda: datetime(2026, 11, 15, 1, 0, tzinfo=UTC)
    results = asyncio.run(jobs.run_post(runtime, "reminder"))
    adapter = runtime.adapters["qq"]
    assert [g for g, _, _ in adapter.sent] == ["staff-1"]  # never the public group
    assert "长兴县教育局：已报 1 次" in adapter.sent[0][1]
    assert adapter.private == [("3001", adapter.private[0][1])] and "长兴县公安局" in adapter.private[0][1]
    assert {r.period for r in results} == {"2026-11"}


def test_year_warning_is_staff_only(runtime: jobs.PostRuntime) -> None:
    asyncio.run(jobs.run_post(runtime, "year_warning"))
    [(group, text, _)] = runtime.adapters["qq"].sent
    assert group == "staff-1" and "长兴县公安局：52 分（连续低于预警线，限期整改）" in text


class ManualScheduler(BaseScheduler):
    """Runs due jobs only when told, on the calling thread (DebugExecutor)."""

    def wakeup(self) -> None: ...

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)

    def _create_default_executor(self) -> DebugExecutor:
        return DebugExecutor()


def _freeze(monkeypatch: pytest.MonkeyPatch, runtime: jobs.PostRuntime, moment: datetime) -> None:
    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)

    import apscheduler.executors.base as executors_base
    import apscheduler.schedulers.base as schedulers_base

    monkeypatch.setattr(schedulers_base, "datetime", Frozen)
    monkeypatch.setattr(executors_base, "datetime", Frozen)
    runtime.clock = lambda: moment


def _boot(runtime: jobs.PostRuntime, url: str) -> ManualScheduler:
    engine = create_db_engine(url)
    sched = scheduler.build_scheduler(runtime.settings, engine, scheduler_cls=ManualScheduler)
    scheduler.start(sched, runtime.settings)
    return sched


def test_scheduler_restart_in_misfire_window_posts_exactly_once(
    runtime: jobs.PostRuntime, fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs.install_runtime(runtime)
    try:
        _freeze(monkeypatch, runtime, datetime(2026, 10, 31, 23, 59, tzinfo=CST))
        first = _boot(runtime, fresh_database_url)
        first._process_jobs()
        assert first.get_job("monthly_ranking").next_run_time == datetime(2026, 11, 1, 9, 0, tzinfo=CST)
        first.shutdown(wait=False)  # the process is down across 09:00 on the 1st

        _freeze(monkeypatch, runtime, datetime(2026, 11, 1, 10, 30, tzinfo=CST))
        second = _boot(runtime, fresh_database_url)  # restarted inside the misfire grace time
        second._process_jobs()
        second.shutdown(wait=False)

        _freeze(monkeypatch, runtime, datetime(2026, 11, 1, 10, 31, tzinfo=CST))
        third = _boot(runtime, fresh_database_url)
        third._process_jobs()
        assert third.get_job("monthly_ranking").next_run_time == datetime(2026, 12, 1, 9, 0, tzinfo=CST)
        third.shutdown(wait=False)
    finally:
        jobs.install_runtime(None)
    adapter = runtime.adapters["qq"]
    assert sorted(g for g, _, _ in adapter.sent) == ["650433512", "staff-1"]  # one post per group
    assert runtime.scoring.calls == [("monthly", 2026, 10)]
    with runtime.factory() as session:
        assert len(list(session.scalars(select(PostRecord)))) == 2


def test_cli_policy_and_dry_run_post(
    cli_env: sessionmaker[Session], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from wiring.cli.main import app

    monkeypatch.setattr(jobs, "_scoring_service", lambda: FakeScoring())
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    assert runner.invoke(app, ["bot", "policy", "set", "qq", "650433512", "top_n", "--top-n", "3"]).exit_code == 0
    bad = runner.invoke(app, ["bot", "policy", "set", "qq", "1", "worst"])
    assert bad.exit_code == 1 and "发布策略应为" in bad.output
    listed = runner.invoke(app, ["bot", "policy", "list"], env=env)
    assert "仅前 N 名" in listed.output and "650433512" in listed.output
    out = tmp_path / "dry"
    result = runner.invoke(app, ["bot", "post", "monthly_ranking", "--period", "2026-10", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert "2026年10月 文明单位活跃度排行（前 3 名）" in result.output and "长兴县公安局" not in result.output
    assert [p.name for p in out.iterdir()] == ["monthly_ranking-2026-10-qq-650433512.png"]
    with cli_env() as session:
        assert list(session.scalars(select(PostRecord))) == []


def test_top_n_keeps_ties_at_the_cut_and_leaves_out_units_without_activity() -> None:
    ranking = _ranking()
    ranking.rows[3].rank = 3  # tied with the third place
    ranking.rows[3].liveliness = ranking.rows[2].liveliness
    post = compose.monthly_ranking_post(ranking, PostPolicy.TOP_N, 3, 2)
    assert "🥉 长兴县教育局" in post.text and "长兴县公安局" not in post.text
    for row in ranking.rows:
        row.rank, row.liveliness = 1, 0.0
    empty = compose.monthly_ranking_post(ranking, PostPolicy.TOP_N, 3, 2)
    assert "本月暂无单位在群内报送活动" in empty.text and "长兴" not in empty.text


def test_dry_run_without_policies_previews_a_public_and_a_staff_group(
    committed_factory: sessionmaker[Session], live_settings: Settings, tmp_path: Any
) -> None:
    runtime = jobs.PostRuntime(committed_factory, live_settings, scoring=FakeScoring())
    results = asyncio.run(jobs.run_post(runtime, "monthly_ranking", period="2026-10", dry_run=True, out_dir=tmp_path))
    assert [r.group_id for r in results] == ["公开群（示例）", "工作人员群（示例）"]
    assert "长兴县公安局" not in results[0].text and "长兴县公安局" in results[1].text
    assert asyncio.run(jobs.run_post(runtime, "monthly_ranking", period="2026-10")) == []  # real runs need policies


def test_highlights_name_tiers_and_counts_never_a_bottom_place() -> None:
    post = compose.monthly_ranking_post(_ranking(), PostPolicy.HIGHLIGHTS, 3, 2)
    assert "本月 3 个单位达到每月 2 次文明实践活动的要求（共 5 个单位）" in post.text
    assert "优秀（实践活动 4 次及以上）2 个：国家税务总局长兴县税务局、长兴县人民医院" in post.text  # 9 and 4
    assert "长兴县公安局" not in post.text and "长兴县教育局" not in post.text and post.png is None


def test_year_warning_leaves_projections_off_the_post() -> None:
    rows = [
        SimpleNamespace(unit_name="长兴中学", score=58.0, warning=True, rectification=False, provisional=True),
        SimpleNamespace(unit_name="长兴县公安局", score=52.0, warning=True, rectification=True, provisional=False),
    ]
    post = compose.year_warning_post(rows, 2026)
    assert post is not None and "长兴县公安局" in post.text and "长兴中学" not in post.text
    assert compose.year_warning_post(rows[:1], 2026) is None


def test_a_published_month_is_posted_as_published(runtime: jobs.PostRuntime) -> None:
    frozen = _ranking()
    frozen.rows[0].unit_name = "公布时的第一名"
    runtime.scoring.published = {("month", 2026, 10): frozen}  # type: ignore[attr-defined]
    try:
        results = asyncio.run(jobs.run_post(runtime, "monthly_ranking", period="2026-10", dry_run=True))
    finally:
        runtime.scoring.published = {}  # type: ignore[attr-defined]
    assert all("公布时的第一名" in r.text for r in results if r.group_id == "staff-1")
