"""``wenming users``: staff accounts and API tokens."""

from __future__ import annotations

import typer
from sqlalchemy import select

from accounts import service as accounts
from accounts.models import Role, StaffUser
from wiring.cli.common import UserError, actor, console, friendly_errors, reading, settings, unit_of_work
from wiring.cli.tables import FORMAT_OPTION, Column, Format, TableData, emit

app = typer.Typer(help="工作人员账号与访问令牌", no_args_is_help=True)

ROLE_HELP = "角色：admin（管理员）、reviewer（审核员）、viewer（只读）"


def _role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise UserError(f"未知角色：{value}（{ROLE_HELP}）") from None


@app.command("add")
@friendly_errors
def add(
    username: str = typer.Argument(..., help="登录用户名（字母、数字、_.-）"),
    role: str = typer.Option("reviewer", "--role", "-r", help=ROLE_HELP),
    display_name: str = typer.Option(None, "--name", help="显示名称，如 张三"),
    password: str = typer.Option(
        ..., "--password", prompt="密码", hide_input=True, confirmation_prompt="再次输入密码", help="登录密码"
    ),
) -> None:
    """添加工作人员账号。"""
    with unit_of_work() as session:
        user = accounts.add_user(session, actor(), username, password, _role(role), display_name)
        console.print(f"已添加用户 {user.username}（{Role(user.role).zh}）")


@app.command("token")
@friendly_errors
def token(
    username: str = typer.Argument(..., help="令牌所属用户"),
    name: str = typer.Option("脚本", "--name", help="令牌用途，便于日后识别和吊销"),
    days: int = typer.Option(None, "--days", min=1, max=3650, help="有效天数（默认长期有效）"),
) -> None:
    """为用户创建接口访问令牌（只显示一次）。"""
    with unit_of_work() as session:
        user = accounts.get_user_by_name(session, username)
        if user is None:
            raise UserError(f"用户 {username} 不存在，请先运行 wenming users add")
        _token, plain = accounts.issue_token(session, actor(), user.id, name, days)
    console.print(f"令牌（请立即保存，之后无法再次查看）：\n{plain}", soft_wrap=True, highlight=False)
    console.print("用法：Authorization: Bearer <令牌>")


@app.command("list")
@friendly_errors
def list_users(fmt: Format = FORMAT_OPTION) -> None:
    """列出所有工作人员账号（时间为办公室时区）。"""
    tz = settings().tz
    with reading() as session:
        users = session.scalars(select(StaffUser).order_by(StaffUser.username)).all()
        table = TableData("工作人员账号", [Column(h) for h in ("用户名", "显示名称", "角色", "状态", "最近登录")])
        for user in users:
            last = f"{user.last_login_at.astimezone(tz):%Y-%m-%d %H:%M}" if user.last_login_at else "—"
            table.add_row(
                user.username,
                user.display_name or "",
                Role(user.role).zh,
                "启用" if user.active else "停用",
                last,
            )
    emit(table, fmt, console)


@app.command("unlock")
@friendly_errors
def unlock(username: str = typer.Argument(..., help="被登录限制的用户名")) -> None:
    """解除用户的登录限制（清除其近期的失败登录记录，来自所有地址）。"""
    with unit_of_work() as session:
        cleared = accounts.unlock(session, actor(), username)
    console.print(f"已解除 {username} 的登录限制（清除失败记录 {cleared} 条）", highlight=False)
