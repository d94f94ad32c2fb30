"""Root of the ``wenming`` command; each area contributes one sub-app, imported only when it runs.

Staff run the CLI often and most commands touch one area: importing every area (jieba, numpy, scipy, alembic, the
OCR engine…) made ``wenming --help`` and ``wenming db current`` take 1.6 s. The root therefore lists the areas from
the table below and imports an area's module when one of its commands is resolved.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import click
import typer
from typer.core import TyperCommand, TyperGroup


def _sub_app(module: str, attribute: str = "app") -> Callable[[], click.Command]:
    """An area's Typer app as a group, as ``add_typer`` made it (even with one command, no completion options)."""
    return lambda: typer.main.get_group(getattr(importlib.import_module(f"wiring.cli.{module}"), attribute))


def _function(module: str, attribute: str, help: str | None = None) -> Callable[[], click.Command]:
    """A plain function of an area module as a command (``import``, ``run``, ``worker``…)."""

    def load() -> click.Command:
        single = typer.Typer(add_completion=False)
        single.command(help=help)(getattr(importlib.import_module(f"wiring.cli.{module}"), attribute))
        return typer.main.get_command(single)

    return load


def _reports() -> click.Command:
    """``reports`` carries ``reclassify`` from the classifier area."""
    reports = importlib.import_module("wiring.cli.reports")
    classifier = importlib.import_module("wiring.cli.classifier")
    if not any(info.name == "reclassify" for info in reports.app.registered_commands):
        reports.app.command("reclassify")(classifier.reclassify_command)
    return typer.main.get_group(reports.app)


IMPORT_HELP = "导入微信/QQ 聊天记录导出文件"
RUN_HELP = "启动服务：接口、机器人适配器与定时发布"


def _score() -> click.Command:
    """``score`` carries the period commands (close, publish, …) that ``score_periods`` adds to it."""
    importlib.import_module("wiring.cli.score_periods")
    return typer.main.get_group(importlib.import_module("wiring.cli.score").app)


# name → (help line shown by ``wenming --help``, loader); the help line equals the area's own (a test checks).
COMMANDS: dict[str, tuple[str, Callable[[], click.Command]]] = {
    "worker": ("运行后台任务工作进程（图片文字识别等）。", _function("worker", "worker")),
    "status": ("显示后台任务队列：排队、执行中、完成、失败数量及失败原因。", _function("worker", "status")),
    "import": (IMPORT_HELP, _function("history", "import_file", IMPORT_HELP)),
    "run": (RUN_HELP, _function("run", "run", RUN_HELP)),
    "demo": (
        "运行演示：建库、导入演示单位与三个月群消息、预览排行榜发布，再启动控制台、调度器和 QQ 机器人模拟器。",
        _function("demo", "demo"),
    ),
    "db": ("数据库结构管理", _sub_app("db")),
    "units": ("文明单位名册：导入与查看", _sub_app("units")),
    "ingest": ("消息采集：回放已记录的群消息", _sub_app("ingest")),
    "reports": ("活动报送统计", _reports),
    "classifier": ("报告分类模型：训练、切换版本、评测", _sub_app("classifier")),
    "score": ("计分：月度活跃度排名、季度汇总表、年度得分与说明、工作人员录入", _score),
    "appeals": ("申诉：单位对报送分类、漏计报送或台账记录的异议", _sub_app("score_periods", "appeals_app")),
    "serve": ("运行工作人员接口与网页控制台", _sub_app("serve")),
    "users": ("工作人员账号与访问令牌", _sub_app("users")),
    "bot": ("聊天机器人：模拟器、连接状态、发布策略与定时发布", _sub_app("bot")),
    "agents": ("采集代理：办公室自己电脑上的采集工具的接入凭据（创建、列出、吊销）", _sub_app("agents")),
    "jobs": ("后台任务管理：重试失败任务、清理已完成任务", _sub_app("worker", "jobs_app")),
}


class LazyGroup(TyperGroup):
    """The root group: lists areas from ``COMMANDS`` and imports one only when its command is resolved."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in COMMANDS if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        help_line, load = COMMANDS[cmd_name]
        if self._listing:  # the root's help only needs the line, not the area
            return TyperCommand(cmd_name, help=help_line)
        command = load()
        command.name = cmd_name
        self.commands[cmd_name] = command
        return command

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    help="文明单位动态管理：采集、分类、计分", no_args_is_help=True, pretty_exceptions_enable=False, cls=LazyGroup
)


@app.callback()
def main(
    actor: str | None = typer.Option(
        None, "--actor", help="审计日志中记录的操作人（默认 cli:<系统登录名>），如 --actor 张三 units import 名册.csv"
    ),
) -> None:
    """文明单位动态管理：采集、分类、计分。"""
    from wiring.cli import common  # settings and the database layer: not needed to print help

    common.set_actor(actor)
