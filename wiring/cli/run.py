"""``wenming run``: the API, the chat adapters and the post scheduler in one process."""

from __future__ import annotations

import asyncio
import logging

import typer

from wiring.cli.common import UserError, console, engine, friendly_errors, session_factory, settings


@friendly_errors
def run(
    host: str | None = typer.Option(None, help="监听地址（默认 WENMING_API_HOST）"),
    port: int | None = typer.Option(None, help="端口（默认 WENMING_API_PORT）"),
    adapters: str | None = typer.Option(
        None, help="启用的适配器，逗号分隔：onebot,wechat（默认 WENMING_BOT_ADAPTERS）"
    ),
    no_scheduler: bool = typer.Option(False, "--no-scheduler", help="不启动定时发布"),
    insecure_local: bool = typer.Option(
        False, "--insecure-local", help="本机试用：OneBot 端点不要求令牌和密钥，只监听 127.0.0.1"
    ),
) -> None:
    """启动服务：管理接口与控制台、QQ/微信机器人适配器、定时发布；Ctrl+C 平稳退出。"""
    from wiring import runtime

    s = settings()
    names = [n.strip() for n in adapters.split(",") if n.strip()] if adapters is not None else None
    try:
        services = runtime.make_services(s, session_factory(), engine(), names, insecure_local=insecure_local)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if insecure_local:
        host = "127.0.0.1"
    elif "onebot" in services.adapters and not s.onebot_access_token:
        raise UserError(
            "未设置 WENMING_ONEBOT_ACCESS_TOKEN：OneBot 端点不能无令牌开放。请设置令牌"
            "（HTTP 上报还需 WENMING_ONEBOT_SECRET），或用 --insecure-local 仅在本机试用"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = runtime.build_app(s, services.routers())
    host, port = host or s.api_host, port or s.api_port
    enabled = "、".join(services.adapters) or "无（设置 WENMING_BOT_ADAPTERS=onebot,wechat）"
    console.print(f"Wenming 启动：http://{host}:{port}  适配器：{enabled}")
    if "onebot" in services.adapters:
        console.print(f"QQ：让 OneBot 实现反向 WebSocket 连接 ws://{host}:{port}/onebot/v11/ws")
        if insecure_local:
            console.print("[yellow]本机试用模式：OneBot 端点不检查令牌，只接受本机连接[/yellow]")
        elif not s.onebot_secret:
            console.print("HTTP 上报（/onebot/v11/http）已关闭：未设置 WENMING_ONEBOT_SECRET")

    if "wechat" in services.adapters:
        console.print(f"微信：需要扫码时二维码显示在终端，并保存为 {s.data_dir / 'wechat' / 'qr.png'}")

    asyncio.run(runtime.serve(services, app, host=host, port=port, with_scheduler=not no_scheduler))
    console.print("Wenming 已停止")
