"""``wenming demo``: set up a database, load the synthetic demo data and show what Wenming makes of it."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.engine import make_url

from ingest import units
from wenming import schema
from wiring.cli import demo_live as live
from wiring.cli.common import (
    UserError,
    actor,
    console,
    engine,
    friendly_errors,
    reading,
    settings,
    unit_of_work,
)
from wiring.cli.ingest import render_summary, run_replay
from wiring.cli.reports import collect_stats, render_stats

STEPS = 6  # numbered "n/6" in the demo's output, from the first step to the last
DEMO_DATA = Path(__file__).resolve().parents[2] / "demo" / "data"

NEXT_STEPS = [
    ("wenming units list", "查看单位名册（别名、级别、已关联的群成员数）"),
    ("wenming reports stats --from 2026-09-01 --to 2026-09-30", "只看 9 月份的报送"),
    ("wenming ingest replay 消息.jsonl", "回放自己的群消息（格式见 docs/formats.md）"),
    ("wenming units import 名册.xlsx", "导入本县的单位名册（列：单位名称、别名、级别、类别、人数）"),
    (
        "WENMING_SCORING_START=2026-08 wenming score year 2026",
        "演示数据从 8 月开始：设置计分起始月份后，1—7 月显示为无数据而不是 0 分；年度未关账时均为预计",
    ),
    ("wenming demo", "再运行一次：已有的单位和消息不会重复入库"),
]


def _describe(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite 文件 {parsed.database}"
    return f"PostgreSQL {parsed.host or ''}:{parsed.port or 5432}/{parsed.database}"


@friendly_errors
def demo(
    data: Path = typer.Option(DEMO_DATA, "--data", help="演示数据目录（含 units.csv 与 messages.jsonl）"),
    batch: int = typer.Option(500, "--batch", help="每批提交的消息条数"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="导入后启动控制台、调度器和机器人模拟器"),
    port: int | None = typer.Option(None, "--port", help="控制台端口（默认 WENMING_API_PORT）"),
) -> None:
    """运行演示：建库、导入演示单位与三个月群消息、预览排行榜发布，再启动控制台、调度器和 QQ 机器人模拟器。"""
    units_file, messages_file = data / "units.csv", data / "messages.jsonl"
    for needed in (units_file, messages_file):
        if not needed.is_file():
            raise UserError(f"找不到演示数据 {needed}：请在源码目录中运行，或用 --data 指定目录")
    config = settings()
    console.rule("[bold]Wenming 文明单位动态管理 · 演示")
    console.print(f"数据库：{_describe(config.database_url)}；图片目录：{config.media_dir}")
    schema.upgrade(config.database_url)
    console.print(f"1/{STEPS} 数据库结构已是最新（版本 {schema.current_revision(engine(check_schema=False))}）")
    with unit_of_work() as session:
        imported = units.import_roster(session, actor(), units_file)
    console.print(
        f"2/{STEPS} 演示单位已导入：新增 {len(imported.created)} 个，更新 {len(imported.updated)} 个，"
        f"无变化 {len(imported.unchanged)} 个"
    )
    console.print(f"3/{STEPS} 回放 2026 年 8—10 月的演示群消息（微信群 + QQ 群）")
    summary = run_replay(messages_file, batch, console)
    render_summary(summary, console)
    console.print(f"4/{STEPS} 统计")
    with reading() as session:
        stats = collect_stats(session, tz=config.tz)
    render_stats(stats, console)
    console.print(f"5/{STEPS} 预览 10 月活跃度排行榜的群发布（dry-run，不发送）")
    live.preview_post(config, "2026-10")
    console.print("[bold]接下来可以试试：[/bold]")
    for command, meaning in NEXT_STEPS:
        console.print(f"  [cyan]{command}[/cyan]\n      {meaning}")
    console.print("演示数据均为虚构，说明见 demo/README.md。")
    if serve:
        console.print(f"6/{STEPS} 启动控制台、定时发布与 QQ 机器人模拟器（Ctrl+C 退出）")
        live.serve(config, port)
