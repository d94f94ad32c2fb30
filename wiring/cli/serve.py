"""``wenming serve``: run the staff API and console with uvicorn."""

from __future__ import annotations

import typer

from wiring.cli.common import console, engine, friendly_errors, settings

app = typer.Typer(help="运行工作人员接口与网页控制台")


@app.callback(invoke_without_command=True)
@friendly_errors
def serve(
    host: str = typer.Option(None, "--host", help="监听地址（默认取 WENMING_API_HOST）"),
    port: int = typer.Option(None, "--port", help="监听端口（默认取 WENMING_API_PORT）"),
    workers: int = typer.Option(1, "--workers", min=1, max=32, help="工作进程数"),
) -> None:
    """启动网页控制台和 /api/v1 接口。"""
    import uvicorn

    from api.app import create_app
    from wiring.server import uvicorn_options

    cfg = settings()
    engine()  # refuses an un-migrated database before anything listens
    host = host or cfg.api_host
    port = port or cfg.api_port
    console.print(f"控制台地址：http://{host}:{port}/    接口文档：http://{host}:{port}/api/v1/docs")
    options = uvicorn_options(cfg)
    if workers > 1:
        uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, **options)
    else:
        uvicorn.run(create_app(cfg), host=host, port=port, **options)
