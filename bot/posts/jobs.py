"""Run one scheduled post: compute it from scoring, send it per group policy, record it exactly once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.base import PostTarget, SendError
from bot.models import PostPolicy, PostRecord
from bot.posts import compose
from bot.posts.policy import PLATFORM_ZH, targets
from ingest.models import Member
from wenming.db import read_transaction, transaction, utcnow
from wenming.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

KINDS = {
    "monthly_ranking": "月度活跃度排行",
    "quarterly_summary": "季度考核汇总",
    "reminder": "月中提醒",
    "year_warning": "年度预警名单",
}
STAFF_KINDS = {"reminder", "year_warning"}


class PostError(ValueError):
    """A post that cannot be made as asked; the message is Chinese."""


def _scoring_service() -> Any:
    from scoring import service as scoring_service

    return scoring_service


@dataclass
class PostRuntime:
    """Everything a post needs; `wenming run` builds one, tests build their own."""

    factory: sessionmaker[Session]
    settings: Settings
    # by platform: the chat adapters ("qq", "wechat") and the robot channels ("wecom", "dingtalk")
    adapters: dict[str, PostTarget] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow
    loop: asyncio.AbstractEventLoop | None = None
    scoring: Any = None  # the scoring service module (contract: load_rubric, monthly_ranking, …)

    def scoring_service(self) -> Any:
        return self.scoring if self.scoring is not None else _scoring_service()


@dataclass
class PostResult:
    kind: str
    period: str
    platform: str
    group_id: str
    status: str  # sent | failed | skipped | dry_run
    text: str
    png_path: Path | None = None
    message_id: str | None = None
    error: str | None = None


def period_for(kind: str, local: datetime) -> str:
    """Monthly/quarterly posts report the period just ended; reminders and warnings the current one."""
    if kind == "monthly_ranking":
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        return f"{year}-{month:02d}"
    if kind == "quarterly_summary":
        quarter = (local.month - 1) // 3
        return f"{local.year}Q{quarter}" if quarter else f"{local.year - 1}Q4"
    if kind == "reminder":
        return f"{local.year}-{local.month:02d}"
    if kind == "year_warning":
        return str(local.year)
    raise PostError(f"未知的发布类型 {kind}，可选：" + "、".join(KINDS))


def _parse(period: str) -> tuple[int, int]:
    try:
        if "Q" in period:
            year, quarter = period.split("Q")
            return int(year), int(quarter)
        if "-" in period:
            year, month = period.split("-")
            return int(year), int(month)
        return int(period), 0
    except ValueError:
        raise PostError(f"期间格式应为 2026-10、2026Q3 或 2026，收到 {period!r}") from None


@dataclass
class Planned:
    platform: str
    group_id: str
    policy: str
    post: compose.Post
    private_to: str | None = None  # a QQ user id for private reminders


@dataclass(frozen=True)
class Target:
    platform: str
    group_id: str
    policy: str
    top_n: int


def preview_targets(settings: Settings, staff_only: bool) -> list[Target]:
    """For a dry run before any policy is set: one public (top N) and one staff group, as examples."""
    staff = Target("preview", "工作人员群（示例）", PostPolicy.STAFF_ONLY.value, settings.bot_post_default_top_n)
    public = Target("preview", "公开群（示例）", PostPolicy.HIGHLIGHTS.value, settings.bot_post_default_top_n)
    return [staff] if staff_only else [public, staff]


def plan(
    session: Session, runtime: PostRuntime, kind: str, period: str, today: date, *, preview: bool = False
) -> list[Planned]:
    """Compose the post for every target group (and private reminders), without sending."""
    scoring = runtime.scoring_service()
    rubric = scoring.load_rubric(runtime.settings.bot_post_rubric)
    minimum = int(rubric.liveliness.min_practice_per_month)
    year, part = _parse(period)
    groups: list[Any] = list(targets(session, staff_only=kind in STAFF_KINDS))
    if preview and not groups:
        groups = preview_targets(runtime.settings, kind in STAFF_KINDS)
    planned: list[Planned] = []
    if kind == "monthly_ranking":
        ranking = _published(scoring, session, rubric, "month", year, part) or scoring.monthly_ranking(
            session, runtime.settings, rubric, year, part
        )
        for g in groups:
            post = compose.monthly_ranking_post(ranking, PostPolicy(g.policy), g.top_n, minimum)
            planned.append(Planned(g.platform, g.group_id, g.policy, post))
    elif kind == "quarterly_summary":
        table = _published(scoring, session, rubric, "quarter", year, part) or scoring.quarter_table(
            session, runtime.settings, rubric, year, part
        )
        planned += [
            Planned(g.platform, g.group_id, g.policy, compose.quarterly_post(table, PostPolicy(g.policy), g.top_n))
            for g in groups
        ]
    elif kind == "reminder":
        ranking = scoring.monthly_ranking(session, runtime.settings, rubric, year, part)
        staff = compose.reminder_post(ranking, minimum, today.day)
        planned += [Planned(g.platform, g.group_id, g.policy, staff) for g in groups if staff]
        planned += _private_reminders(session, ranking, minimum, part)
    else:
        annual = _published(scoring, session, rubric, "year", year, 0) or scoring.annual_scores(
            session, runtime.settings, rubric, year
        )
        staff_post = compose.year_warning_post(annual, year)
        planned += [Planned(g.platform, g.group_id, g.policy, staff_post) for g in groups if staff_post]
    return planned


def _published(scoring: Any, session: Session, rubric: Any, kind: str, year: int, number: int) -> Any:
    """A published period is posted as published (later corrections wait for re-publication)."""
    return scoring.published_board(session, rubric.name, kind, year, number)


def _private_reminders(session: Session, ranking: Any, minimum: int, month: int) -> list[Planned]:
    """One private QQ note per member linked to a lagging unit (staff members excluded)."""
    lagging = {r.unit_id: r for r in ranking.rows if r.practice_count < minimum}
    if not lagging:
        return []
    members = session.scalars(
        select(Member).where(Member.unit_id.in_(lagging), Member.platform == "qq", Member.is_staff.is_(False))
    )
    out = []
    for member in members:
        assert member.unit_id is not None
        row = lagging[member.unit_id]
        text = compose.unit_reminder_text(row.unit_name, row.practice_count, minimum, month)
        out.append(
            Planned("qq", f"private:{member.platform_user_id}", "private", compose.Post(text), member.platform_user_id)
        )
    return out


def _png_path(settings: Settings, kind: str, period: str, item: Planned, out_dir: Path | None) -> Path | None:
    if item.post.png is None:
        return None
    directory = out_dir or settings.data_dir / "posts"
    directory.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in f"{item.platform}-{item.group_id}")
    path = directory / f"{kind}-{period}-{safe}.png"
    path.write_bytes(item.post.png)
    return path


def _claim(runtime: PostRuntime, kind: str, period: str, item: Planned, png: Path | None) -> bool:
    """Insert the post record before sending; False when this post was already made (or is unknown)."""
    try:
        with transaction(runtime.factory) as session:
            row = _record(session, kind, period, item)
            if row is not None and row.status != "failed":
                return False  # sent, or "sending" when a crash hid the outcome: never risk a double post
            row = row or PostRecord(kind=kind, period=period, platform=item.platform, group_id=item.group_id)
            row.policy, row.status, row.text, row.error = item.policy, "sending", item.post.text, None
            row.image_path = str(png) if png else None
            session.add(row)
            session.flush()
    except IntegrityError:  # another process claimed it between our read and insert
        return False
    return True


def _record(session: Session, kind: str, period: str, item: Planned) -> PostRecord | None:
    return session.scalars(
        select(PostRecord).where(
            PostRecord.kind == kind,
            PostRecord.period == period,
            PostRecord.platform == item.platform,
            PostRecord.group_id == item.group_id,
        )
    ).first()


def _finish(
    runtime: PostRuntime, kind: str, period: str, item: Planned, message_id: str | None, error: str | None
) -> None:
    with transaction(runtime.factory) as session:
        row = _record(session, kind, period, item)
        assert row is not None
        row.status = "failed" if error else "sent"
        row.platform_message_id, row.error = message_id, error


async def _send(runtime: PostRuntime, item: Planned) -> str | None:
    adapter = runtime.adapters.get(item.platform)
    if adapter is None:
        raise SendError(f"{PLATFORM_ZH.get(item.platform, item.platform)}未启用")
    if item.private_to is not None:
        send_private = getattr(adapter, "send_private", None)
        if send_private is None:
            raise SendError("该平台不支持私信提醒")
        return await send_private(item.private_to, item.post.text)
    if item.post.png is not None:
        return await adapter.send_image(item.group_id, item.post.png, caption=item.post.text)
    return await adapter.send_text(item.group_id, item.post.text)


async def run_post(
    runtime: PostRuntime, kind: str, *, period: str | None = None, dry_run: bool = False, out_dir: Path | None = None
) -> list[PostResult]:
    """Make one post to every target; dry runs save the PNGs and send nothing."""
    if kind not in KINDS:
        raise PostError(f"未知的发布类型 {kind}，可选：" + "、".join(KINDS))
    local_now = runtime.clock().astimezone(runtime.settings.tz)
    period = period or period_for(kind, local_now)

    def compute() -> list[Planned]:
        with read_transaction(runtime.factory) as session:
            return plan(session, runtime, kind, period, local_now.date(), preview=dry_run)

    results = []
    for item in await asyncio.to_thread(compute):
        png = _png_path(runtime.settings, kind, period, item, out_dir if dry_run else None)
        result = PostResult(kind, period, item.platform, item.group_id, "dry_run", item.post.text, png)
        if not dry_run:
            result = await _deliver(runtime, kind, period, item, result)
        results.append(result)
    return results


async def _deliver(runtime: PostRuntime, kind: str, period: str, item: Planned, result: PostResult) -> PostResult:
    if not await asyncio.to_thread(_claim, runtime, kind, period, item, result.png_path):
        result.status = "skipped"
        return result
    try:
        result.message_id = await _send(runtime, item)
        result.status = "sent"
    except SendError as exc:
        result.status, result.error = "failed", str(exc)
        log.warning("定时发布失败（%s %s → %s）：%s", KINDS[kind], period, item.group_id, exc)
    await asyncio.to_thread(_finish, runtime, kind, period, item, result.message_id, result.error)
    return result


# -- the scheduler's entry point: job stores pickle a reference to this function, not the runtime --

RUNTIME: PostRuntime | None = None


def install_runtime(runtime: PostRuntime | None) -> None:
    global RUNTIME
    RUNTIME = runtime


def on_server_loop(work: Callable[[PostRuntime], Coroutine[Any, Any, T]], what: str) -> T:
    """Run a scheduled job's coroutine on the server's event loop, where the adapters live."""
    runtime = RUNTIME
    if runtime is None:
        raise RuntimeError(f"{what}未初始化（需在 wenming run 中运行）")
    loop = runtime.loop
    if loop is not None and loop.is_running():
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not loop:
            return asyncio.run_coroutine_threadsafe(work(runtime), loop).result(timeout=600)
    return asyncio.run(work(runtime))


def scheduled_post(kind: str) -> list[PostResult]:
    """APScheduler job: bridge onto the server's event loop where the adapters live."""
    return on_server_loop(lambda runtime: run_post(runtime, kind), "定时发布")


def scheduled_score_refresh() -> int:
    """APScheduler job (in its worker thread): the default tables' stored parts brought up to date."""
    runtime = RUNTIME
    if runtime is None:
        raise RuntimeError("评分分项更新未初始化（需在 wenming run 中运行）")
    from scoring import jobs as scoring_jobs  # as _scoring_service: loaded by the job, not by every import

    return scoring_jobs.refresh_standing_tables(runtime.factory, runtime.settings)
