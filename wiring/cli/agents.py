"""``wenming agents``: credentials of capture agents (external tools that push messages through /api/v1/capture)."""

from __future__ import annotations

import typer

from wiring.cli.common import actor, console, friendly_errors, reading, settings, unit_of_work
from wiring.cli.tables import FORMAT_OPTION, Cell, Column, Format, TableData, emit

app = typer.Typer(help="采集代理：办公室自己电脑上的采集工具的接入凭据（创建、列出、吊销）", no_args_is_help=True)


@app.command("add")
@friendly_errors
def add(name: str = typer.Argument(..., help="采集代理名称，如 office-pc1")) -> None:
    """创建采集代理并显示其密钥（只显示这一次）。"""
    from capture import service as capture_service

    s = settings()
    with unit_of_work() as session:
        agent, secret = capture_service.add_agent(session, s, name, actor=actor())
    console.print(f"已创建采集代理「{agent.name}」。密钥（请立即保存，之后无法再次查看）：")
    console.print(secret, soft_wrap=True, highlight=False)
    console.print("在采集代理所在电脑上设置：")
    console.print(f"  WENMING_AGENT_NAME={agent.name}", highlight=False)
    console.print("  WENMING_AGENT_SECRET=<上面的密钥>", highlight=False)
    console.print(f"  WENMING_AGENT_SERVER=http://<本服务器地址>:{s.api_port}", highlight=False)
    console.print("用法见 docs/capture.md（python agents/wenming_agent.py push 导出目录）")


@app.command("list")
@friendly_errors
def list_agents(fmt: Format = FORMAT_OPTION) -> None:
    """列出采集代理：状态、最近一次连接、已存入的消息数。"""
    from capture import repository as capture_repository

    tz = settings().tz
    with reading() as session:
        rows = capture_repository.agents(session)
        headers = ("名称", "状态", "创建", "最近连接", "最近上传", "已存入消息")
        table = TableData("采集代理", [Column(h) for h in headers])
        for agent in rows:
            revoked = f"已吊销（{agent.revoked_at.astimezone(tz):%Y-%m-%d}）" if agent.revoked_at else ""
            state: Cell = (revoked, "red") if revoked else "启用"
            seen = f"{agent.last_seen_at.astimezone(tz):%m-%d %H:%M}" if agent.last_seen_at else "从未"
            batch = f"{agent.last_batch_at.astimezone(tz):%m-%d %H:%M}" if agent.last_batch_at else "-"
            created = f"{agent.created_at.astimezone(tz):%Y-%m-%d}（{agent.created_by}）"
            table.add_row(agent.name, state, created, seen, batch, str(agent.messages_stored))
    if not rows:
        console.print("尚无采集代理：用 wenming agents add 名称 创建")
        return
    emit(table, fmt, console)


@app.command("revoke")
@friendly_errors
def revoke(
    name: str = typer.Argument(..., help="采集代理名称"),
    reason: str = typer.Option(None, "--reason", help="吊销原因（记入审计）"),
) -> None:
    """吊销采集代理：之后它的每个请求都会被拒绝（401）。"""
    from capture import service as capture_service

    with unit_of_work() as session:
        capture_service.revoke_agent(session, name, actor=actor(), reason=reason)
    console.print(f"已吊销采集代理「{name}」")
