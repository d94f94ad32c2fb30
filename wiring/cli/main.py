"""Root of the ``wenming`` command; each area contributes one sub-app."""

from __future__ import annotations

import typer

from wiring.cli import (
    agents,
    bot,
    classifier,
    common,
    db,
    demo,
    history,
    ingest,
    reports,
    run,
    score,
    score_periods,
    serve,
    units,
    users,
    worker,
)

app = typer.Typer(help="文明单位动态管理：采集、分类、计分", no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def main(
    actor: str | None = typer.Option(
        None, "--actor", help="审计日志中记录的操作人（默认 cli:<系统登录名>），如 --actor 张三 units import 名册.csv"
    ),
) -> None:
    """文明单位动态管理：采集、分类、计分。"""
    common.set_actor(actor)


app.add_typer(db.app, name="db")
app.add_typer(units.app, name="units")
app.add_typer(ingest.app, name="ingest")
reports.app.command("reclassify")(classifier.reclassify_command)
app.add_typer(reports.app, name="reports")
app.add_typer(classifier.app, name="classifier")
app.add_typer(score.app, name="score")
app.add_typer(score_periods.appeals_app, name="appeals")
app.add_typer(serve.app, name="serve")
app.add_typer(users.app, name="users")
app.add_typer(bot.app, name="bot")
app.add_typer(agents.app, name="agents")
worker.register(app)
app.command("import", help="导入微信/QQ 聊天记录导出文件")(history.import_file)
app.command("run", help="启动服务：接口、机器人适配器与定时发布")(run.run)
app.command("demo")(demo.demo)
