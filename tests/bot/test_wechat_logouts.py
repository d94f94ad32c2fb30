"""Web WeChat logouts explained: itchat-uos's own receive loop and login against canned WeChat answers (only the
HTTP transport under ``requests`` is faked), the retcode seen, the Chinese advice, and waits that grow to hours."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from bot.wechat.adapter import WeChatAdapter, load_core
from bot.wechat.logouts import explain
from tests.bot.fakes import RecordingSink
from wenming.db import utcnow
from wenming.settings import Settings

LOGIN_PAGE = "https://wx2.qq.com/cgi-bin/mmwebwx-bin/webwxnewloginpage?ticket=A1b2&uuid=Qx9z&lang=zh_CN&scan=1"
REFUSED = "<error><ret>1203</ret><message>为了你的帐号安全，此微信号不能登录网页微信。</message></error>"


class CannedWeChat(BaseAdapter):
    """Answers requests by a substring of the URL, as WeChat's servers would; anything else is unreachable."""

    def __init__(self, answers: dict[str, str]) -> None:
        super().__init__()
        self.answers = answers
        self.urls: list[str] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.urls.append(str(request.url))
        for key, body in self.answers.items():
            if key in str(request.url):
                response = requests.Response()
                response.status_code, response.url, response.request = 200, str(request.url), request
                response._content, response.encoding = body.encode("utf-8"), "utf-8"
                response.headers = CaseInsensitiveDict({"Content-Type": "text/plain"})
                return response
        raise requests.ConnectionError(f"unreachable in this test: {request.url}")

    def close(self) -> None: ...


def _core(answers: dict[str, str]) -> tuple[Any, CannedWeChat]:
    core = load_core()
    web = CannedWeChat(answers)
    core.s.mount("https://", web)
    core.storageClass.nickName = "文明办机器人"
    core.loginInfo = {
        "url": "https://wx2.qq.com/cgi-bin/mmwebwx-bin",
        "syncUrl": "https://webpush.wx2.qq.com/cgi-bin/mmwebwx-bin",
        "skey": "@crypt_0a1b2c3d",
        "wxsid": "sid",
        "wxuin": "1234567",
        "deviceid": "e123456789012345",
        "synckey": "1_700000001",
        "logintime": 1763600000000,
    }
    return core, web


class Threads:
    """Stands in for threading.Thread in the adapter: records what would start, with its arguments."""

    def __init__(self) -> None:
        self.started: list[tuple[str, tuple[Any, ...]]] = []

    def __call__(self, target: Any, name: str, daemon: bool, args: tuple[Any, ...] = ()) -> Any:
        started = self.started

        class _T:
            def start(self) -> None:
                started.append((name, args))

        return _T()


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> Threads:
    recorder = Threads()
    monkeypatch.setattr("bot.wechat.adapter.threading.Thread", recorder)
    return recorder


def test_1102_from_synccheck_is_explained_and_relogin_waits_an_hour(settings: Settings, threads: Threads) -> None:
    core, web = _core({"synccheck": 'window.synccheck={retcode:"1102",selector:"0"}'})
    adapter = WeChatAdapter(settings, RecordingSink(), core)
    adapter.on_login()  # logged in a moment ago; WeChat ends the session seconds later, as in 2025
    receive = core.start_receiving(adapter.on_exit, getReceivingFnOnly=True)
    receive()  # itchat's own loop: synccheck answers 1102, the loop logs out and calls exitCallback
    assert any("synccheck" in url for url in web.urls)
    status = adapter.status()
    assert not status.connected and status.problem == "1102"
    assert "1102" in status.detail and "不要反复扫码重试" in status.detail and "采集代理" in status.detail
    assert threads.started == [("wechat-relogin", (3600.0,))]  # not minutes: an hour at least


def test_1203_refused_login_stops_retrying_with_advice(
    settings: Settings, threads: Threads, monkeypatch: pytest.MonkeyPatch
) -> None:
    core, web = _core(
        {
            "jslogin": 'window.QRLogin.code = 200; window.QRLogin.uuid = "Qx9zTw==";',
            "/mmwebwx-bin/login": f'window.code=200;\nwindow.redirect_uri="{LOGIN_PAGE}";',
            "webwxnewloginpage": REFUSED,
        }
    )
    monkeypatch.setattr("itchat.components.register.test_connect", lambda: True)  # its probe would go online
    adapter = WeChatAdapter(settings, RecordingSink(), core)
    waits: list[float] = []
    adapter._sleep = waits.append
    adapter._login_forever()  # itchat's real login: QR uuid, scan confirmed, then WeChat refuses the account
    assert any("webwxnewloginpage" in url for url in web.urls)
    status = adapter.status()
    assert not status.connected and status.problem == "1203"
    assert "此微信号不能登录网页微信" in status.detail and "已停止自动重试" in status.detail
    assert waits == []  # no retry loop at all


def test_failed_logins_back_off_to_hours(settings: Settings) -> None:
    core, _ = _core({})
    adapter = WeChatAdapter(settings, RecordingSink(), core)
    attempts: list[float] = []
    adapter.login_once = lambda: attempts.append(0.0) or False  # type: ignore[method-assign]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) >= 9:
            adapter._stopping.set()

    adapter._sleep = sleep
    adapter._login_forever()
    assert waits == [300.0, 600.0, 1200.0, 2400.0, 4800.0, 9600.0, 19200.0, 21600.0, 21600.0]
    assert "再尝试登录" in adapter.status().detail


def test_a_session_that_lasted_resets_the_backoff(settings: Settings, threads: Threads) -> None:
    core, _ = _core({})
    adapter = WeChatAdapter(settings, RecordingSink(), core)
    adapter.failures = 5
    adapter.on_login()
    adapter.logged_in_at = utcnow() - timedelta(hours=3)
    adapter.on_exit()  # no retcode: the network dropped after a good day's capture
    assert adapter.failures == 0 and threads.started == [("wechat-relogin", (0.0,))]


def test_every_known_retcode_has_chinese_advice() -> None:
    for code in ("1100", "1101", "1102", "1203"):
        logout = explain(code)
        assert logout is not None and logout.text().startswith(f"微信网页版 {code}：")
    assert explain("1203").retry is False and explain("9999") is None
