"""``wenming bot …``: the OneBot simulator, adapter status, per-group post policies, scheduled posts."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path

import typer
import websockets
from rich.table import Table
from rich.text import Text

from bot.simulator import DEFAULT_SELF_ID, OneBotSimulator, builtin_traffic, load_traffic
from ingest.models import Platform
from wiring.cli.capture_health import print_health, watch_app
from wiring.cli.common import UserError, actor, console, friendly_errors, reading, settings, unit_of_work
from wiring.cli.tables import FORMAT_OPTION, Cell, Column, Format, TableData, emit

app = typer.Typer(help="聊天机器人：模拟器、连接状态、发布策略与定时发布", no_args_is_help=True)
app.add_typer(watch_app, name="watch")

DEMO_TRAFFIC = Path("demo/data/messages.jsonl")


def _describe(event: dict) -> str:
    parts = []
    for segment in event.get("message") or []:
        labels = {"image": "[图片]", "face": "[表情]"}
        if segment["type"] == "text":
            parts.append(segment["data"].get("text", ""))
        elif segment["type"] in labels:
            parts.append(labels[segment["type"]])
    card = (event.get("sender") or {}).get("card") or event.get("user_id")
    return f"{card}：{''.join(parts)[:60]}"


@app.command("simulate")
@friendly_errors
def simulate(
    url: str = typer.Option("", help="反向 WebSocket 地址（默认 ws://<监听地址>:<端口>/onebot/v11/ws）"),
    traffic: Path | None = typer.Option(None, help="回放的 JSONL 流量文件（默认 demo/data/messages.jsonl 或内置示例）"),
    limit: int | None = typer.Option(None, help="最多回放多少条 QQ 事件"),
    interval: float = typer.Option(0.3, help="每条消息之间的间隔（秒）"),
    self_id: int = typer.Option(DEFAULT_SELF_ID, help="模拟的机器人 QQ 号"),
    linger: float = typer.Option(3.0, help="回放结束后保持连接的秒数（用于接收发布）"),
) -> None:
    """模拟一个 OneBot v11 实现（如 NapCat）连接到本系统，回放群消息并应答动作。"""
    s = settings()
    target = url or f"ws://{s.api_host}:{s.api_port}/onebot/v11/ws"
    if traffic is None and DEMO_TRAFFIC.exists():
        traffic = DEMO_TRAFFIC
    data = load_traffic(traffic, self_id, limit) if traffic else builtin_traffic(self_id)
    if not data.events:
        raise UserError("流量文件里没有可回放的 QQ 消息")
    console.print(f"模拟 OneBot 实现（QQ {self_id}）连接 {target}，回放 {len(data.events)} 条事件")
    sim = OneBotSimulator(
        target,
        data,
        self_id=self_id,
        access_token=s.onebot_access_token,
        interval=interval,
        on_event=lambda e: console.print(f"[dim]→[/dim] {_describe(e)}"),
        on_sent=lambda m: console.print(f"[green]← 机器人发到群 {m['group_id']}：[/green]{_describe(m)}"),
    )
    try:
        asyncio.run(sim.run(linger=linger))
    except OSError as exc:
        raise UserError(f"无法连接 {target}（{exc}），请先运行：wenming run") from None
    except websockets.exceptions.InvalidStatus as exc:  # the handshake was refused
        raise UserError(f"连接被拒绝（{exc}）：请检查 WENMING_ONEBOT_ACCESS_TOKEN 是否一致") from None
    except websockets.exceptions.ConnectionClosed as exc:
        if exc.rcvd is not None and exc.rcvd.code == 1008:
            raise UserError("连接被拒绝：access token 不一致（WENMING_ONEBOT_ACCESS_TOKEN）") from None
        raise UserError("服务端关闭了连接（wenming run 已停止？）") from None
    console.print(f"[green]回放完成[/green]：{len(data.events)} 条事件，收到机器人发布 {len(sim.sent)} 条")


@app.command("status")
@friendly_errors
def status() -> None:
    """显示各聊天平台适配器的连接状态（由正在运行的 wenming run 定期写入）。"""
    from capture import repository as capture_repository

    with reading() as session:
        states = capture_repository.adapter_states(session)
    if not states:
        console.print("尚无适配器状态：请先运行 wenming run（并在 WENMING_BOT_ADAPTERS 中启用 onebot/wechat）")
    tz = settings().tz
    table = Table(title="聊天机器人连接状态")
    for column in ("适配器", "平台", "状态", "账号", "最近事件", "更新于", "说明"):
        table.add_column(column)
    for state in states:
        label = "[green]已连接[/green]" if state.connected and not state.stale else "[red]未连接[/red]"
        if state.stale:
            label = "[yellow]未知（wenming run 未在运行？）[/yellow]"
        table.add_row(
            state.name,
            Platform.zh_of(state.platform),
            label,
            state.accounts or "-",
            f"{state.last_event_at.astimezone(tz):%m-%d %H:%M:%S}" if state.last_event_at else "-",
            f"{state.updated_at.astimezone(tz):%m-%d %H:%M:%S}",
            state.detail,
        )
    if states:
        console.print(table)
    _print_spool()
    print_health()


def _print_spool() -> None:
    """Messages waiting in the outage spool on this machine (they are stored once the database answers)."""
    from bot.spool import Spool

    directory = settings().data_dir / "spool"
    waiting, failed = len(Spool(directory)), len(Spool(directory, "failed.jsonl"))
    if waiting:
        console.print(f"[yellow]暂存区有 {waiting} 条消息等待写入数据库[/yellow]（{directory}）")
    if failed:
        console.print(f"[red]{failed} 条暂存消息无法入库，见 {directory / 'failed.jsonl'}[/red]")


policy_app = typer.Typer(
    help="各群的定时发布策略（达标与优秀 / 仅前 N 名 / 完整排名 / 仅工作人员 / 不发布）", no_args_is_help=True
)
app.add_typer(policy_app, name="policy")


@policy_app.command("set")
@friendly_errors
def policy_set(
    platform: str = typer.Argument(..., help="qq、wechat，或机器人 wecom、dingtalk"),
    group: str = typer.Argument(..., help="QQ 群号；微信群填群名称；机器人填 WENMING_POST_WEBHOOKS 中的名称"),
    policy: str = typer.Argument("highlights", help="highlights（默认）| top_n | full | staff_only | none"),
    top_n: int = typer.Option(10, "--top-n", help="top_n 策略下公布前几名"),
) -> None:
    """设置一个群能看到的排行内容（默认只发达标与优秀，不公开排名与末位单位）。"""
    from bot.models import PostPolicy
    from bot.posts.policy import PLATFORM_ZH, change_policy

    robots = {name: hook.kind for name, hook in settings().post_webhooks.items()}
    with unit_of_work() as session:
        row = change_policy(session, actor(), platform, group, policy, top_n, robots)
    extra = f"（前 {row.top_n} 名）" if row.policy == PostPolicy.TOP_N.value else ""
    console.print(f"已设置 {PLATFORM_ZH.get(platform, platform)} {group}：{PostPolicy(row.policy).zh}{extra}")


@policy_app.command("list")
@friendly_errors
def policy_list(fmt: Format = FORMAT_OPTION) -> None:
    """列出各群的发布策略。"""
    from bot.models import PostPolicy
    from bot.posts.policy import PLATFORM_ZH, policies

    with reading() as session:
        rows = policies(session)
    if not rows:
        console.print("尚未设置任何群的发布策略：定时发布不会发到任何群。用 wenming bot policy set 设置。")
        return
    hooks = settings().post_webhooks
    table = TableData("定时发布策略", [Column(h) for h in ("渠道", "群", "策略", "前 N 名", "机器人地址")])
    for row in rows:
        top = str(row.top_n) if row.policy == PostPolicy.TOP_N.value else "-"
        hook = hooks.get(row.group_id) if row.platform in ("wecom", "dingtalk") else None
        robot = row.platform in ("wecom", "dingtalk")
        address: Cell = hook.masked_url() if hook else (("未配置", "red") if robot else "-")
        channel = PLATFORM_ZH.get(row.platform, row.platform)
        table.add_row(channel, row.group_id, PostPolicy(row.policy).zh, top, address)
    emit(table, fmt, console)


def _period_with_data(kind: str) -> str | None:
    """A preview of the monthly ranking shows the month just ended, or the latest month before it with reports."""
    if kind != "monthly_ranking":
        return None
    from api import repository as console_repository
    from bot.posts.jobs import period_for

    year, month = map(int, period_for(kind, datetime.now(settings().tz)).split("-"))
    month_end = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    with reading() as session:
        day = console_repository.data_day(session, month_end)
    if (day.year, day.month) != (year, month):
        console.print(f"{year}年{month}月没有报送，预览有数据的最近月份：{day.year}年{day.month}月")
    return f"{day.year}-{day.month:02d}"


@app.command("post")
@friendly_errors
def post(
    kind: str = typer.Argument("monthly_ranking", help="monthly_ranking | quarterly_summary | reminder | year_warning"),
    period: str | None = typer.Option(None, help="期间，如 2026-10、2026Q3、2026（默认按今天推算）"),
    out: Path = typer.Option(Path("var/posts/dry-run"), help="图表 PNG 保存目录"),
    dry_run: bool = typer.Option(True, "--dry-run/--send", help="只预览（真正发送由 wenming run 的调度器完成）"),
) -> None:
    """预览（dry-run）一次定时发布：打印各群将收到的内容并保存图表 PNG，不发送。"""
    if not dry_run:
        raise UserError("命令行只做预览；实际发送由 wenming run 中的调度器按时完成（连接着的机器人账号才能发）")
    from bot.posts.jobs import KINDS, PostError, PostRuntime, run_post
    from wiring.cli.common import session_factory

    runtime = PostRuntime(session_factory(), settings())
    period = period or _period_with_data(kind)
    try:
        results = asyncio.run(run_post(runtime, kind, period=period, dry_run=True, out_dir=out))
    except PostError as exc:
        raise UserError(str(exc)) from None
    except ImportError:
        raise UserError("评分模块（scoring）尚未安装，无法生成排行") from None
    if not results:
        console.print(f"{KINDS[kind]}：本期没有需要发布的内容")
        return
    for result in results:
        where = result.group_id if result.platform == "preview" else f"{result.platform} 群 {result.group_id}"
        console.rule(Text(f"{KINDS[kind]} {result.period} → {where}（预览，未发送）"))
        console.print(Text(result.text))
        if result.png_path:
            console.print(f"[dim]图表：{result.png_path}[/dim]")
