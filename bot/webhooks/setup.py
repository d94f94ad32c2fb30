"""Build the robot post targets named in ``WENMING_POST_WEBHOOKS``, by kind."""

from __future__ import annotations

import httpx

from bot.posts import public_charts
from bot.webhooks.base import Robot, RobotChannel
from bot.webhooks.dingtalk import DingTalkRobot
from bot.webhooks.wecom import WeComRobot
from wenming.settings import Settings


def build_channels(settings: Settings, http: httpx.AsyncClient) -> dict[str, RobotChannel]:
    """``{"wecom": …, "dingtalk": …}`` for the kinds that have at least one robot configured."""
    by_kind: dict[str, dict[str, Robot]] = {}
    for name, config in settings.post_webhooks.items():
        robot: Robot
        if config.kind == "wecom":
            robot = WeComRobot(name, config, http)
        else:
            robot = DingTalkRobot(name, config, http, chart_link=lambda png: public_charts.publish(settings, png))
        by_kind.setdefault(config.kind, {})[name] = robot
    return {kind: RobotChannel(kind, robots) for kind, robots in by_kind.items()}
