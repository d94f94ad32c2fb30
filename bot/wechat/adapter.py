"""The WeChat adapter on itchat-uos: group messages → ingest, QR login, re-login with backoff and alerts."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.base import Adapter, AdapterStatus, GroupInfo, MessageSink, SendError
from bot.wechat.convert import message_id_of, payload_of, to_incoming
from bot.wechat.logouts import RetcodeWatcher, explain
from ingest.models import Platform
from ingest.validation import describe_validation_error
from wenming.db import utcnow
from wenming.settings import Settings

log = logging.getLogger(__name__)

# itchat's message type names (itchat.content), repeated so importing this module never needs itchat.
TEXT, PICTURE, SHARING, NOTE = "Text", "Picture", "Sharing", "Note"
KICKED_MIN_WAIT_SECONDS = 3600.0  # after WeChat itself ended the session, never try again within the hour
STABLE_SESSION_SECONDS = 3600.0  # a session that lasted this long resets the backoff


def load_core() -> Any:
    """A fresh synchronous itchat-uos core (``ITCHAT_UOS_ASYNC`` stays unset)."""
    import itchat

    return itchat.load_sync_itchat()


class WeChatAdapter(Adapter):
    """One logged-in WeChat account; its web session is fragile, so losing it is loud and self-healing."""

    name = "wechat"
    platform = Platform.WECHAT

    def __init__(
        self,
        settings: Settings,
        sink: MessageSink,
        core: Any | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        recent: int = 20_000,
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.core = core if core is not None else load_core()
        self.state_dir = settings.data_dir / "wechat"
        self.qr_path = self.state_dir / "qr.png"
        self.connected = False
        self.detail = "未登录"
        self.last_event_at: datetime | None = None
        self.alert: str | None = None  # banner text while the session is lost
        self.problem: str | None = None  # the web-WeChat retcode of the last logout or refused login
        self.failures = 0  # consecutive failed logins (or sessions that died young)
        self.logged_in_at: datetime | None = None
        self.next_try_at: datetime | None = None
        self.watcher = RetcodeWatcher()
        self.watcher.attach(self.core.s)
        self._alert_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = threading.Event()
        self._sleep = sleep or self._stopping.wait
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._recent_size = recent
        self.core.msg_register([TEXT, PICTURE, SHARING, NOTE], isGroupChat=True)(self.on_message)

    # -- receiving (runs on itchat's reply thread) --

    def on_message(self, msg: Any) -> None:
        """itchat handler: convert, skip redeliveries, hand to the sink; never returns a reply."""
        self.last_event_at = utcnow()
        key = message_id_of(msg)
        if key is not None and key in self._recent:
            return
        try:
            message = to_incoming(msg, self_user_name=self.core.storageClass.userName, download=self._downloader(msg))
        except (KeyError, TypeError, ValueError) as exc:  # keep what we could not read, raw, with the reason
            reason = (
                describe_validation_error(exc) if isinstance(exc, ValidationError) else f"无法解析的微信消息：{exc!r}"
            )
            self._run(self.sink.reject(payload_of(msg), reason, Platform.WECHAT.value))
            return
        self._run(self.sink.deliver(message))
        if key is not None:
            self._recent[key] = None
            while len(self._recent) > self._recent_size:
                self._recent.popitem(last=False)

    @staticmethod
    def _downloader(msg: Any) -> Callable[[], bytes]:
        def download() -> bytes:
            data = msg.download(None)  # bytes in memory; never itchat's colliding FileName
            return data if isinstance(data, bytes) else b""

        return download

    def _run(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a sink call from itchat's thread on the server loop (or a private one in tests/tools)."""
        loop = self._loop
        if loop is not None and loop.is_running():
            asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=120)
        else:
            asyncio.run(coro)

    # -- login lifecycle --

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping.clear()
        threading.Thread(target=self._login_forever, name="wechat-login", daemon=True).start()

    async def stop(self) -> None:
        """Stop receiving but keep the web session for the next hot reload (no server-side logout)."""
        self._stopping.set()
        if self.connected:
            await asyncio.to_thread(self.core.dump_login_status, str(self.state_dir / "itchat.pkl"))
        # With ``alive`` False, itchat's receive loop ends and its logout() skips the webwxlogout request.
        self.core.alive = False
        self.connected = False
        self.detail = "已停止（下次启动将尝试免扫码登录）"

    def _login_forever(self, first_wait: float = 0.0) -> None:
        """Log in (hot reload first); after a failure wait minutes growing to hours, never a tight loop."""
        wait = first_wait
        while not self._stopping.is_set():
            if wait > 0:
                self._announce_wait(wait)
                self._sleep(wait)
                if self._stopping.is_set():
                    return
            self.next_try_at = None
            if self.login_once():
                return
            logout = explain(self.problem)
            if logout is not None and not logout.retry:
                log.error("【告警】%s", logout.text())
                return
            self.failures += 1
            wait = self.backoff()
            log.warning("微信登录失败，%g 秒后重试", wait)

    def backoff(self) -> float:
        """5 minutes, doubling up to hours (``WECHAT_RELOGIN_*``); at least an hour after WeChat kicked us out."""
        s = self.settings
        wait = min(
            s.wechat_relogin_base_backoff_seconds * 2 ** max(self.failures - 1, 0), s.wechat_relogin_max_backoff_seconds
        )
        if self.problem in ("1101", "1102"):
            wait = max(wait, min(KICKED_MIN_WAIT_SECONDS, s.wechat_relogin_max_backoff_seconds))
        return wait

    def _announce_wait(self, wait: float) -> None:
        self.next_try_at = utcnow() + timedelta(seconds=wait)
        when = self.next_try_at.astimezone(self.settings.tz)
        logout = explain(self.problem)
        reason = logout.text() if logout else (self.alert or "微信未登录")
        self.detail = f"{reason}（将于 {when:%m-%d %H:%M} 再尝试登录）"

    def login_once(self) -> bool:
        """One ``auto_login`` + ``run``; itchat calls ``sys.exit`` when offline, which we survive."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.watcher.take()
        self.detail = "正在登录（如需扫码，二维码见控制台或 " + str(self.qr_path) + "）"
        try:
            self.core.auto_login(
                hotReload=True,
                statusStorageDir=str(self.state_dir / "itchat.pkl"),
                enableCmdQR=2,
                qrCallback=self.on_qr,
                loginCallback=self.on_login,
                exitCallback=self.on_exit,
            )
        except (SystemExit, Exception) as exc:  # offline: sys.exit; refused (1203): IndexError on <skey>
            return self._login_failed(f"登录失败：{exc or '无法连接微信服务器'}")
        if not getattr(self.core, "alive", False):  # the login loop ended without a session
            return self._login_failed("登录未完成（二维码过期或登录被拒绝）")
        if not self.connected:  # a restored session whose loginCallback did not run
            self.on_login()
        self.core.run(blockThread=False)
        return True

    def _login_failed(self, fallback: str) -> bool:
        self.connected = False
        self.problem = self.watcher.take() or self.problem
        logout = explain(self.problem)
        self.detail = logout.text() if logout else fallback
        return False

    def on_qr(self, uuid: str | None = None, status: str | None = None, qrcode: bytes | None = None) -> None:
        """Save the QR as a PNG the console can show; status 201 means scanned, waiting for confirm."""
        if status == "0" and uuid:
            self._print_terminal_qr(uuid)
        if qrcode:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.qr_path.with_suffix(".tmp")
            tmp.write_bytes(qrcode)
            tmp.replace(self.qr_path)
        self.detail = "已扫码，请在手机上确认登录" if status == "201" else f"等待扫码登录：{self.qr_path}"

    @staticmethod
    def _print_terminal_qr(uuid: str) -> None:
        """What ``enableCmdQR=2`` prints when no qrCallback is given, so a terminal user can scan too."""
        try:
            from itchat.utils import print_cmd_qr
            from pyqrcode import QRCode

            print_cmd_qr(QRCode("https://login.weixin.qq.com/l/" + uuid).text(1), enableCmdQR=2)
        except Exception:  # the PNG is the primary channel; the terminal QR is a convenience
            log.debug("无法在终端显示二维码", exc_info=True)

    def on_login(self) -> None:
        self.connected = True
        self.logged_in_at = utcnow()
        self.detail = "已登录：" + str(self.core.storageClass.nickName or "")
        self.qr_path.unlink(missing_ok=True)
        log.info("微信已登录（%s）", self.core.storageClass.nickName)
        if self._alert_pending and self.settings.wechat_admin_group:
            self._alert_pending = False
            try:
                self._send_text_sync(
                    self.settings.wechat_admin_group, f"【文明办机器人】微信曾掉线：{self.alert}，现已恢复。"
                )
            except SendError as exc:
                log.warning("无法向管理员群发送恢复通知：%s", exc)
        self.alert = None
        self.problem = None

    def on_exit(self) -> None:
        """The web session died: say why (retcode), alert, and re-login after a wait that grows to hours."""
        self.connected = False
        if self._stopping.is_set():
            return  # our own shutdown, not an outage
        now = utcnow()
        self.problem = self.watcher.take()
        young = self.logged_in_at is not None and (now - self.logged_in_at).total_seconds() < STABLE_SESSION_SECONDS
        self.failures = self.failures + 1 if young else 0
        logout = explain(self.problem)
        when = f"{now.astimezone(self.settings.tz):%Y-%m-%d %H:%M}"
        self.alert = f"微信网页会话于 {when} 断开" + (f"：{logout.text()}" if logout else "")
        self._alert_pending = True
        self.detail = self.alert
        log.error("【告警】%s", self.alert)
        if logout is not None and not logout.retry:
            return
        quick = self.failures == 0 and self.problem in (None, "1100")  # a hot reload or a fresh QR may do
        wait = 0.0 if quick else self.backoff()
        threading.Thread(target=self._login_forever, args=(wait,), name="wechat-relogin", daemon=True).start()

    def status(self) -> AdapterStatus:
        nickname = self.core.storageClass.nickName
        return AdapterStatus(
            name=self.name,
            platform=self.platform.value,
            connected=self.connected,
            detail=self.detail if self.next_try_at else (self.alert or self.detail),
            accounts=[nickname] if self.connected and nickname else [],
            last_event_at=self.last_event_at,
            problem=self.problem or "",
            send_failures=self.send_failures,
            last_send_error=self.last_send_error,
        )

    # -- sending --

    def _room(self, group_name: str) -> str:
        rooms = self.core.search_chatrooms(name=group_name) or []
        exact = [r for r in rooms if r.get("NickName") == group_name]
        if not exact:
            raise SendError(f"微信里找不到名为「{group_name}」的群（需已保存到通讯录）")
        return str(exact[0]["UserName"])

    def _result_id(self, result: Any, what: str) -> str | None:
        base = (result or {}).get("BaseResponse", {}) if hasattr(result, "get") else {}
        if base.get("Ret", 0) != 0:  # logged in, yet WeChat refused: counted, the account may be restricted
            self.record_send(f"微信{what}发送失败：{base.get('ErrMsg') or base.get('Ret')}")
            raise SendError(self.last_send_error)
        self.record_send(None)
        msg_id = result.get("MsgID") or result.get("MsgId")
        return str(msg_id) if msg_id else None

    def _send_text_sync(self, group_name: str, text: str) -> str | None:
        if not self.connected:
            raise SendError("微信未登录")
        return self._result_id(self.core.send_msg(text, toUserName=self._room(group_name)), "文字")

    def _send_image_sync(self, group_name: str, png: bytes, caption: str | None) -> str | None:
        if caption:
            self._send_text_sync(group_name, caption)
        if not self.connected:
            raise SendError("微信未登录")
        result = self.core.send_image(fileDir="ranking.png", toUserName=self._room(group_name), file_=io.BytesIO(png))
        return self._result_id(result, "图片")

    async def send_text(self, group_id: str, text: str) -> str | None:
        return await asyncio.to_thread(self._send_text_sync, group_id, text)

    async def send_image(self, group_id: str, png: bytes, caption: str | None = None) -> str | None:
        return await asyncio.to_thread(self._send_image_sync, group_id, png, caption)

    async def list_groups(self) -> list[GroupInfo]:
        rooms = await asyncio.to_thread(self.core.get_chatrooms)
        return [GroupInfo(r["NickName"], r["NickName"], r.get("MemberCount")) for r in rooms if r.get("NickName")]


def qr_png_path(settings: Settings) -> Path:
    """Where the console finds the current login QR code."""
    return settings.data_dir / "wechat" / "qr.png"
