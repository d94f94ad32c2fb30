"""The live half of ``wenming demo``: a demo login, a dry-run leaderboard post, then the whole service with a
simulated QQ bot account posting reports through the real OneBot endpoint."""

from __future__ import annotations

import asyncio
import logging
import secrets

from rich.markup import escape

from wenming.settings import Settings
from wiring.cli.common import actor, console, engine, session_factory, unit_of_work

DEMO_USER = "demo"


def demo_login() -> str:
    """Create (or reset) the demo admin with a fresh random password; nothing secret lives in the repo."""
    from accounts import security
    from accounts import service as accounts
    from accounts.models import Role

    password = security.new_password()
    with unit_of_work() as session:
        user = accounts.get_user_by_name(session, DEMO_USER)
        if user is None:
            accounts.add_user(session, actor(), DEMO_USER, password, Role.ADMIN, "演示管理员")
        else:
            accounts.reset_password(session, actor(), user.id, password)
    return password


def preview_post(settings: Settings, period: str) -> None:
    """Print the monthly leaderboard post exactly as a group would get it, and save its chart."""
    from bot.posts.jobs import PostRuntime, run_post

    out_dir = settings.data_dir / "posts" / "dry-run"
    runtime = PostRuntime(session_factory(), settings)
    results = asyncio.run(run_post(runtime, "monthly_ranking", period=period, dry_run=True, out_dir=out_dir))
    for result in results[:1]:
        console.rule(f"预览：{result.group_id}（未发送）")
        console.print(result.text, highlight=False)
        if result.png_path:
            console.print(f"[dim]排行榜图表已保存：{result.png_path}[/dim]")
    _warn_without_font()


def _warn_without_font() -> None:
    """Posts go out as text alone on a machine without a CJK font; say so once, with the package to install."""
    from wenming import fonts

    try:
        fonts.cjk_font()
    except fonts.FontMissingError as exc:
        console.print(f"[yellow]排行榜图表不会生成（群里只收到文字）：{escape(str(exc))}[/yellow]")


def serve(settings: Settings, port: int | None) -> None:
    """Run API + console + scheduler + OCR worker, with the simulator posting live into the QQ group."""
    from bot.simulator import DEFAULT_SELF_ID, OneBotSimulator, builtin_traffic
    from wiring import runtime

    token = settings.onebot_access_token or secrets.token_urlsafe(16)
    settings = settings.model_copy(update={"onebot_access_token": token})
    services = runtime.make_services(settings, session_factory(), engine(), ["onebot"])
    app = runtime.build_app(settings, services.routers())
    host, port = settings.api_host, port or settings.api_port
    password = demo_login()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    async def simulate() -> None:
        login = f"登录：{DEMO_USER} / {password}（每次运行重新生成）"
        console.print(f"[bold green]控制台：http://{host}:{port}/[/bold green]  {login}")
        console.print(f"接口文档：http://{host}:{port}/api/v1/docs   QQ 机器人端点：ws://{host}:{port}/onebot/v11/ws")
        if settings.ocr_enabled:
            console.print(
                "后台正在识别照片里的横幅：先读只有照片或只有“今天的活动”这类空话的报送（约一分钟），再读待审核的，"
                f"进度见控制台「后台任务」页 http://{host}:{port}/system"
            )
        simulator = OneBotSimulator(
            f"ws://{host}:{port}/onebot/v11/ws",
            builtin_traffic(DEFAULT_SELF_ID),
            access_token=token,
            interval=3.0,
            on_event=_show,
        )
        await simulator.run(stop=asyncio.Event())  # stays connected, like a real account, until the demo stops

    asyncio.run(runtime.serve(services, app, host=host, port=port, log_level="warning", on_started=simulate))
    console.print("演示已停止")


def _show(event: dict) -> None:  # type: ignore[type-arg]
    """One line per simulated group message, so a newcomer sees capture happen live."""
    if event.get("post_type") != "message":
        return
    who = (event.get("sender") or {}).get("card") or (event.get("sender") or {}).get("nickname") or ""
    parts = event.get("message") or []
    text = "".join(p["data"].get("text", "") if p.get("type") == "text" else "[图片]" for p in parts)
    console.print(f"[dim]模拟器 → QQ 群[/dim] {who}：{text[:60]}", highlight=False)
