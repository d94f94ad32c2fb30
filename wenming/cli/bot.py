"""``wenming bot …``: the OneBot simulator, adapter status, per-group post policies, scheduled posts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.table import Table

from bot.simulator import DEFAULT_SELF_ID, OneBotSimulator, builtin_traffic, load_traffic
from wenming.cli.common import UserError, console, friendly_errors, settings, unit_of_work

app = typer.Typer(help="聊天机器人：模拟器、连接状态、发布策略与定时发布", no_args_is_help=True)

DEMO_TRAFFIC = Path("demo/data/messages.jsonl")


def _describe(event: dict) -> str:
    parts = []
    for segment in event.get("message") or []:
        if segment["type"] in ("text", "image"):
            parts.append(segment["data"].get("text", "") if segment["type"] == "text" else "[图片]")
    card = (event.get("sender") or {}).get("card") or event.get("user_id")
    return f"{card}：{''.join(parts)[:60]}"


@app.command("simulate")
@friendly_errors
def simulate(
    url: str = typer.Option("", help="反向 WebSocket 地址（默认 ws://<监听地址>:<端口>/onebot/v11/ws）"),
    traffic: Path | None = typer.Option(None, help="回放的 JSONL 流量文件（默认 demo/data/messages.jsonl 或内置示例）"),
    limit: int | None = typer.Option(None, help="最多回放多少条"),
    interval: float = typer.Option(0.3, help="每条消息之间的间隔（秒）"),
    self_id: int = typer.Option(DEFAULT_SELF_ID, help="模拟的机器人 QQ 号"),
    linger: float = typer.Option(3.0, help="回放结束后保持连接的秒数（用于接收发布）"),
) -> None:
    """模拟一个 OneBot v11 实现（如 NapCat）连接到本系统，回放群消息并应答动作。"""
    s = settings()
    target = url or f"ws://{s.server_host}:{s.server_port}/onebot/v11/ws"
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
    except Exception as exc:  # websockets handshake rejections
        if "HTTP 403" in str(exc) or "1008" in str(exc):
            raise UserError("连接被拒绝：access token 不一致（WENMING_ONEBOT_ACCESS_TOKEN）") from None
        raise
    console.print(f"[green]回放完成[/green]：{len(data.events)} 条事件，收到机器人发布 {len(sim.sent)} 条")


@app.command("status")
@friendly_errors
def status() -> None:
    """显示各聊天平台适配器的连接状态（由正在运行的 wenming run 定期写入）。"""
    from bot.status import load_statuses

    with unit_of_work() as session:
        states = load_statuses(session)
    if not states:
        console.print("尚无适配器状态：请先运行 wenming run（并在 WENMING_BOT_ADAPTERS 中启用 onebot/wechat）")
        raise typer.Exit(0)
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
            {"qq": "QQ", "wechat": "微信"}.get(state.platform, state.platform),
            label,
            state.accounts or "-",
            f"{state.last_event_at.astimezone(tz):%m-%d %H:%M:%S}" if state.last_event_at else "-",
            f"{state.updated_at.astimezone(tz):%m-%d %H:%M:%S}",
            state.detail,
        )
    console.print(table)
