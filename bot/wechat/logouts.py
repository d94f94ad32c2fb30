"""Why web WeChat logged the account out, in Chinese, with what the office should do about it.

itchat-uos (1.5.0.dev0) ends its receive loop on any ``synccheck`` answer whose ``retcode`` is not 0 and logs it
only at debug level (``window.synccheck={retcode:"1102",selector:"0"}``); a login WeChat refuses answers the login
redirect with ``<error><ret>1203</ret>…`` and itchat then fails with an ``IndexError`` looking for ``<skey>``.
``RetcodeWatcher`` sees those answers on itchat's own HTTP session, so the adapter knows which it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SYNCCHECK_RE = re.compile(r'synccheck=\{retcode:"(\d+)"')
LOGIN_RET_RE = re.compile(r"<ret>(\d+)</ret>")

USE_AGENT = "改用采集代理（docs/capture.md）或定期导出聊天记录后 wenming import 补采"


@dataclass(frozen=True)
class Logout:
    """One known retcode: what happened, what to do, and whether retrying can help."""

    code: str
    what: str
    todo: str
    retry: bool = True  # False: retrying cannot help, the adapter stops trying

    def text(self) -> str:
        return f"微信网页版 {self.code}：{self.what}。{self.todo}"


LOGOUTS = {
    "1100": Logout("1100", "手机微信退出了网页/电脑端登录", "如是有意退出，重新扫码即可；否则检查手机上的登录设备"),
    "1101": Logout(
        "1101",
        "会话已失效：该账号在别处登录了网页/电脑微信，或会话过期",
        "不要在其他电脑登录该账号；稍后会自动尝试免扫码登录，仍失败时需重新扫码",
    ),
    "1102": Logout(
        "1102",
        "登录后被微信服务器立即断开（自 2025 年起多数账号如此：微信拒绝网页协议）",
        f"不要反复扫码重试（反复登录可能导致封号）；机器人将间隔数小时再试。请{USE_AGENT}",
    ),
    "1203": Logout(
        "1203",
        "此微信号不能登录网页微信（微信的安全限制）",
        f"本适配器对该账号不可用，已停止自动重试。请{USE_AGENT}",
        retry=False,
    ),
}


def explain(code: str | None) -> Logout | None:
    return LOGOUTS.get(code or "")


class RetcodeWatcher:
    """A ``requests`` response hook on itchat's HTTP session: remembers the last non-zero retcode it saw.

    Only ``synccheck`` answers and the login redirect page are read (small text bodies, never image downloads).
    """

    def __init__(self) -> None:
        self.last_code: str | None = None

    def __call__(self, response: Any, *args: Any, **kwargs: Any) -> None:
        url = str(getattr(response, "url", ""))
        if "synccheck" not in url and "webwxnewloginpage" not in url:
            return
        try:
            text = response.text
        except Exception:  # an undecodable body says nothing about a retcode
            return
        found = SYNCCHECK_RE.search(text) or LOGIN_RET_RE.search(text)
        if found and found.group(1) != "0":
            self.last_code = found.group(1)

    def take(self) -> str | None:
        """The retcode seen since the last call (and forget it)."""
        code, self.last_code = self.last_code, None
        return code

    def attach(self, session: Any) -> None:
        hooks = getattr(session, "hooks", None)
        if isinstance(hooks, dict) and self not in hooks.setdefault("response", []):
            hooks["response"].append(self)
