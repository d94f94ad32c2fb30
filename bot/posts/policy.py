"""Which groups get scheduled posts, and how much of a ranking each may see."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import GroupPostPolicy, PostPolicy
from wenming import audit
from wenming.audit import AuditKind
from wenming.errors import DomainError

CHAT_PLATFORMS = ("qq", "wechat")
ROBOT_PLATFORMS = ("wecom", "dingtalk")  # official group robots; the "group" is the robot's configured name
PLATFORM_ZH = {"qq": "QQ", "wechat": "微信", "wecom": "企业微信机器人", "dingtalk": "钉钉机器人"}


class PolicyError(DomainError):
    """Bad policy input; the message is Chinese."""


def set_policy(
    session: Session,
    platform: str,
    group_id: str,
    policy: str,
    top_n: int = 10,
    robots: Mapping[str, str] | None = None,
) -> GroupPostPolicy:
    """Create or change a group's policy (``none`` keeps the row but posts nothing).

    ``platform`` chooses the channel: the chat adapters (qq, wechat) or an official robot (wecom, dingtalk),
    whose ``group_id`` is a robot name from ``robots`` (name → kind, from ``WENMING_POST_WEBHOOKS``).
    """
    if platform not in CHAT_PLATFORMS + ROBOT_PLATFORMS:
        raise PolicyError(f"平台应为 qq、wechat、wecom 或 dingtalk，收到 {platform!r}")
    if platform in ROBOT_PLATFORMS and (robots or {}).get(group_id) != platform:
        named = "、".join(n for n, kind in (robots or {}).items() if kind == platform) or "无"
        raise PolicyError(
            f"没有名为「{group_id}」的{PLATFORM_ZH[platform]}：请先在 WENMING_POST_WEBHOOKS 中配置（已配置：{named}）"
        )
    try:
        chosen = PostPolicy(policy)
    except ValueError:
        raise PolicyError("发布策略应为：" + "、".join(f"{p.value}（{p.zh}）" for p in PostPolicy)) from None
    if not 1 <= top_n <= 100:
        raise PolicyError("前 N 名的 N 应在 1–100 之间")
    row = session.scalars(
        select(GroupPostPolicy).where(GroupPostPolicy.platform == platform, GroupPostPolicy.group_id == group_id)
    ).first() or GroupPostPolicy(platform=platform, group_id=group_id)
    row.policy, row.top_n = chosen.value, top_n
    session.add(row)
    session.flush()
    return row


def policies(session: Session) -> list[GroupPostPolicy]:
    return list(session.scalars(select(GroupPostPolicy).order_by(GroupPostPolicy.platform, GroupPostPolicy.group_id)))


def targets(session: Session, *, staff_only: bool) -> list[GroupPostPolicy]:
    """Groups a post goes to: every group with a policy, or only staff groups for internal lists."""
    wanted = [PostPolicy.STAFF_ONLY.value] if staff_only else [p.value for p in PostPolicy if p is not PostPolicy.NONE]
    return [p for p in policies(session) if p.policy in wanted]


def change_policy(
    session: Session,
    actor: str,
    platform: str,
    group_id: str,
    policy: str,
    top_n: int = 10,
    robots: Mapping[str, str] | None = None,
) -> GroupPostPolicy:
    """Staff set what a group may see (``wenming bot policy set``): one audit row with the old and new policy."""
    old = session.scalars(
        select(GroupPostPolicy).where(GroupPostPolicy.platform == platform, GroupPostPolicy.group_id == group_id)
    ).first()
    before = {"policy": old.policy, "policy_zh": PostPolicy.zh_of(old.policy), "top_n": old.top_n} if old else {}
    row = set_policy(session, platform, group_id, policy, top_n, robots)
    after = {"platform": platform, "group_id": group_id, "policy": row.policy, "top_n": row.top_n}
    after["policy_zh"] = PostPolicy.zh_of(row.policy)  # the console's audit page names it without importing bot
    audit.record(
        session, actor, AuditKind.POST_POLICY, subject=("group", f"{platform}:{group_id}"), before=before, after=after
    )
    return row
