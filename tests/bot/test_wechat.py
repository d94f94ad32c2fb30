"""Raw web-WeChat ``AddMsgList`` entries through itchat-uos's own ``produce_msg`` and dispatch, into the adapter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from itchat.components.messages import produce_msg

from bot.wechat.adapter import WeChatAdapter, load_core
from ingest.models import MessageKind, Platform
from tests.bot.fakes import RecordingSink, png_bytes
from wenming.settings import Settings

PNG = png_bytes("blue")
ROOM = "@@5f3c0c2b8d0e4f9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9"
SELF = "@0123456789abcdef0123456789abcdef"
MEMBER = "@fedcba9876543210fedcba9876543210fedcba9876543210fedcba98765432"


class _Response:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def iter_content(self, size: int) -> Iterator[bytes]:
        for i in range(0, len(self.body), size):
            yield self.body[i : i + size]


class FakeWebSession:
    """Only the HTTP layer is faked: itchat's own download code runs against it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.cookies: dict[str, str] = {}

    def get(self, url: str, params: dict[str, Any] | None = None, **_: Any) -> _Response:
        self.requests.append((url, params or {}))
        return _Response(self.body)


def _core(image: bytes = PNG) -> Any:
    core = load_core()
    core.storageClass.userName = SELF
    core.storageClass.nickName = "文明办机器人"
    core.loginInfo = {"url": "https://wx2.qq.com/cgi-bin/mmwebwx-bin", "skey": "@crypt_0a1b2c3d"}
    core.s = FakeWebSession(image)
    core.chatroomList.append(
        {
            "UserName": ROOM,
            "NickName": "全县文明单位工作群",
            "MemberCount": 3,
            "MemberList": [
                {"UserName": MEMBER, "NickName": "王建国", "DisplayName": "县人民医院-王医生"},
                {"UserName": SELF, "NickName": "文明办机器人", "DisplayName": ""},
            ],
            "Self": {"UserName": SELF, "NickName": "文明办机器人", "DisplayName": ""},
        }
    )
    return core


def _raw(msg_type: int, content: str, new_msg_id: int, **extra: Any) -> dict[str, Any]:
    """An AddMsgList entry as webwxsync returns it for a group message."""
    raw = {
        "MsgId": str(new_msg_id % 10**10),
        "FromUserName": ROOM,
        "ToUserName": SELF,
        "MsgType": msg_type,
        "Content": content,
        "Status": 3,
        "ImgStatus": 2 if msg_type == 3 else 1,
        "CreateTime": 1763600000,
        "VoiceLength": 0,
        "PlayLength": 0,
        "FileName": "",
        "FileSize": "",
        "MediaId": "",
        "Url": "",
        "AppMsgType": 0,
        "StatusNotifyCode": 0,
        "StatusNotifyUserName": "",
        "RecommendInfo": {"UserName": "", "NickName": "", "QQNum": 0, "Province": "", "City": "", "Content": ""},
        "ForwardFlag": 0,
        "AppInfo": {"AppID": "", "Type": 0},
        "HasProductId": 0,
        "Ticket": "",
        "ImgHeight": 0,
        "ImgWidth": 0,
        "SubMsgType": 0,
        "NewMsgId": new_msg_id,
        "OriContent": "",
        "EncryFileName": "",
    }
    raw.update(extra)
    return raw


def _dispatch(core: Any, raws: list[dict[str, Any]]) -> None:
    """What itchat's receive loop and reply thread do, minus the network."""
    for msg in produce_msg(core, raws):
        core.msgList.put(msg)
    while not core.msgList.empty():
        core.configured_reply()


@pytest.fixture
def wired(settings: Settings) -> tuple[Any, WeChatAdapter, RecordingSink]:
    core = _core()
    sink = RecordingSink()
    return core, WeChatAdapter(settings, sink, core), sink


def test_text_message_keyed_by_group_name_and_member_nickname(wired: Any) -> None:
    core, _, sink = wired
    _dispatch(core, [_raw(1, f"{MEMBER}:<br/>县人民医院11月20日开展义诊&amp;健康宣讲", 7001234567890123456)])
    [message] = sink.messages
    assert message.platform is Platform.WECHAT and message.kind is MessageKind.TEXT
    assert message.text == "县人民医院11月20日开展义诊&健康宣讲"
    assert message.group_id == message.group_name == "全县文明单位工作群"
    assert message.sender_id == "nick:王建国" and message.sender_name == "县人民医院-王医生"
    assert message.message_id == "7001234567890123456"
    assert message.sent_at.timestamp() == 1763600000 and not message.from_self


def test_picture_is_downloaded_as_bytes_and_named_by_message_id(wired: Any) -> None:
    core, _, sink = wired
    _dispatch(core, [_raw(3, f'{MEMBER}:<br/>&lt;?xml version="1.0"?&gt;&lt;msg&gt;&lt;img /&gt;&lt;/msg&gt;', 42)])
    [message] = sink.messages
    assert message.kind is MessageKind.IMAGE
    assert message.media is not None and message.media.data == PNG
    assert message.media.original_name == "42.png"
    url, params = core.s.requests[0]
    assert url.endswith("/webwxgetmsgimg") and params["msgid"] == 42


def test_zero_byte_picture_is_recorded_as_a_failure(settings: Settings) -> None:
    core = _core(image=b"")
    sink = RecordingSink()
    WeChatAdapter(settings, sink, core)
    _dispatch(core, [_raw(3, f"{MEMBER}:<br/>&lt;msg/&gt;", 43)])
    [message] = sink.messages
    assert message.media is None and message.media_error == "图片下载得到 0 字节"


def test_shared_article_keeps_title_and_link(wired: Any) -> None:
    core, _, sink = wired
    raw = _raw(
        49,
        f"{MEMBER}:<br/>&lt;msg&gt;&lt;appmsg&gt;&lt;title&gt;县融媒体&lt;/title&gt;&lt;/appmsg&gt;&lt;/msg&gt;",
        44,
        AppMsgType=5,
        FileName="【县融媒体】县人民医院开展“三下乡”义诊",
        Url="https://mp.weixin.qq.com/s/AbCdEf",
    )
    _dispatch(core, [raw])
    [message] = sink.messages
    assert message.kind is MessageKind.TEXT
    assert message.text == "[分享] 【县融媒体】县人民医院开展“三下乡”义诊\nhttps://mp.weixin.qq.com/s/AbCdEf"


def test_system_note_is_not_attributed_to_the_bot(wired: Any) -> None:
    core, _, sink = wired
    _dispatch(core, [_raw(10000, '"王建国"邀请"李老师"加入了群聊', 45)])
    [message] = sink.messages
    assert message.kind is MessageKind.SYSTEM and message.sender_id is None and not message.from_self
    assert message.text == '"王建国"邀请"李老师"加入了群聊'


def test_bot_own_group_message_is_from_self(wired: Any) -> None:
    core, _, sink = wired
    _dispatch(core, [_raw(1, "十月排行榜已发布", 46, FromUserName=SELF, ToUserName=ROOM)])
    assert sink.messages[0].from_self


def test_hot_reload_redelivery_is_deduplicated_on_new_msg_id(wired: Any) -> None:
    core, _, sink = wired
    raw = _raw(1, f"{MEMBER}:<br/>同一条消息", 47)
    _dispatch(core, [raw])
    _dispatch(core, [dict(raw, MsgId="999")])  # redelivered after hot reload
    assert len(sink.messages) == 1


def test_private_chats_are_not_captured(wired: Any) -> None:
    core, _, sink = wired
    _dispatch(core, [_raw(1, "你好", 48, FromUserName=MEMBER, ToUserName=SELF)])
    assert sink.messages == []


class _Started:
    def __init__(self, log: list[str], name: str, args: tuple[Any, ...] = ()) -> None:
        self.log, self.name, self.args = log, name, args

    def start(self) -> None:
        self.log.append(self.name)
        self.log.extend(self.args)


def test_exit_raises_alert_and_relogin_sends_notice_to_admin_group(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    core = _core()
    settings = settings.model_copy(update={"wechat_admin_group": "全县文明单位工作群"})
    adapter = WeChatAdapter(settings, RecordingSink(), core)
    sent: list[tuple[str, str]] = []
    core.send_msg = lambda msg, toUserName: sent.append((toUserName, msg)) or {"BaseResponse": {"Ret": 0}, "MsgID": "1"}
    logins: list[dict[str, Any]] = []

    def auto_login(**kwargs: Any) -> None:
        logins.append(kwargs)
        if len(logins) == 1:
            raise SystemExit  # itchat's reaction to being offline
        kwargs["qrCallback"](uuid="u", status="0", qrcode=PNG)
        assert adapter.qr_path.read_bytes() == PNG
        core.alive = True  # what itchat's start_receiving does once logged in
        kwargs["loginCallback"]()

    core.auto_login = auto_login
    core.run = lambda blockThread: None
    started: list[str] = []
    monkeypatch.setattr(
        "bot.wechat.adapter.threading.Thread",
        lambda target, name, daemon, args=(): _Started(started, name, args),
    )
    adapter.on_exit()
    status = adapter.status()
    assert not status.connected and "断开" in status.detail
    assert started == ["wechat-relogin", 0.0]  # no retcode, first loss: try a hot reload at once
    waits: list[float] = []
    adapter._sleep = waits.append
    adapter._login_forever()
    assert waits == [300.0] and len(logins) == 2  # a failed login waits five minutes, not seconds
    assert logins[1]["hotReload"] is True and logins[1]["enableCmdQR"] == 2
    assert adapter.status().connected and not adapter.qr_path.exists()
    assert sent and sent[0][0] == ROOM and "恢复" in sent[0][1]


def test_redelivery_after_restart_is_stored_once_by_ingest(sink: Any, live_settings: Settings) -> None:
    from sqlalchemy import select

    from ingest.models import RawMessage

    raw = _raw(1, f"{MEMBER}:<br/>教育局开展文明交通志愿服务", 7009)
    for _ in range(2):  # two processes: the in-memory dedup is gone, NewMsgId still holds
        core = _core()
        WeChatAdapter(live_settings, sink, core)
        _dispatch(core, [raw])
    with sink.factory() as session:
        rows = list(session.scalars(select(RawMessage)))
    assert [r.platform_message_id for r in rows] == ["7009"]
    assert rows[0].sender_name == "县人民医院-王医生"


def test_stop_keeps_the_session_for_hot_reload(settings: Settings) -> None:
    import asyncio

    core = _core()
    adapter = WeChatAdapter(settings, RecordingSink(), core)
    dumped: list[str] = []
    core.dump_login_status = dumped.append
    core.alive = True
    adapter.on_login()
    asyncio.run(adapter.stop())
    assert dumped == [str(settings.data_dir / "wechat" / "itchat.pkl")]
    assert core.alive is False and core.s.requests == []  # no webwxlogout request
    adapter.on_exit()  # itchat's receive loop ends and calls exitCallback
    assert not adapter.status().connected and adapter.alert is None  # a shutdown is not an outage


def test_unreadable_message_is_kept_raw_with_a_reason(wired: Any) -> None:
    core, _, sink = wired
    raw = _raw(1, f"{MEMBER}:<br/>没有时间戳的消息", 49)
    del raw["CreateTime"]
    _dispatch(core, [raw])
    assert sink.messages == []
    [(payload, reason, platform)] = sink.rejected
    assert platform == "wechat" and "CreateTime" in reason and payload["NewMsgId"] == 49


def _revoke(recalled: str, new_msg_id: int, *, tag: str = "msgid", prefix: str = "") -> dict[str, Any]:
    """A web-WeChat revoke (MsgType 10002) as webwxsync returns it: the sysmsg XML escaped in ``Content``."""
    xml = (
        f'&lt;sysmsg type="revokemsg"&gt;&lt;revokemsg&gt;&lt;session&gt;{ROOM}&lt;/session&gt;'
        f"&lt;oldmsgid&gt;1012706478&lt;/oldmsgid&gt;&lt;{tag}&gt;{recalled}&lt;/{tag}&gt;"
        '&lt;replacemsg&gt;&lt;![CDATA["县人民医院-王医生" 撤回了一条消息]]&gt;&lt;/replacemsg&gt;'
        "&lt;/revokemsg&gt;&lt;/sysmsg&gt;"
    )
    return _raw(10002, prefix + xml, new_msg_id, MsgId=str(new_msg_id), CreateTime=1763600060)


def test_revoke_becomes_a_recall_naming_the_message_id_it_was_stored_under(wired: Any) -> None:
    core, _, sink = wired
    original = _raw(1, f"{MEMBER}:<br/>县人民医院开展义诊", 7001234567890123456, MsgId="7001234567890123456")
    _dispatch(core, [original, _revoke("7001234567890123456", 7001234567890123999)])
    text, recall = sink.messages
    assert recall.kind is MessageKind.RECALL and recall.recalls_message_id == text.message_id
    assert recall.message_id == "7001234567890123999" and recall.sender_id is None
    assert recall.text == '"县人民医院-王医生" 撤回了一条消息'  # itchat's own reading of the CDATA


def test_revoke_with_newmsgid_and_a_member_prefix_is_a_recall_too(wired: Any) -> None:
    core, _, sink = wired
    _dispatch(core, [_revoke("7001234567890123456", 7001234567890124000, tag="newmsgid", prefix=f"{MEMBER}:<br/>")])
    [recall] = sink.messages
    assert recall.kind is MessageKind.RECALL and recall.recalls_message_id == "7001234567890123456"


def test_other_10002_system_messages_stay_system_lines(wired: Any) -> None:
    core, _, sink = wired
    pat = '&lt;sysmsg type="pat"&gt;&lt;pat&gt;&lt;template&gt;&lt;![CDATA["王建国" 拍了拍我]]&gt;&lt;/template&gt;'
    _dispatch(core, [_raw(10002, pat + "&lt;/pat&gt;&lt;/sysmsg&gt;", 51)])
    [message] = sink.messages
    assert message.kind is MessageKind.SYSTEM and message.recalls_message_id is None


def test_revoked_report_is_withdrawn_in_ingest(sink: Any, live_settings: Settings) -> None:
    from sqlalchemy import select

    from ingest.models import Report

    core = _core()
    WeChatAdapter(live_settings, sink, core)
    text = _raw(1, f"{MEMBER}:<br/>县人民医院开展健康讲座进社区", 7005, MsgId="7005")
    photo = _raw(3, f"{MEMBER}:<br/>&lt;msg&gt;&lt;img /&gt;&lt;/msg&gt;", 7006, MsgId="7006", CreateTime=1763600010)
    _dispatch(core, [text, photo])
    sink.assemble_sync()
    _dispatch(core, [_revoke("7005", 7007)])
    sink.assemble_sync()
    with sink.factory() as session:
        [report] = session.scalars(select(Report))
    assert report.status == "withdrawn" and report.photo_count == 1  # its photo is withdrawn with it


def test_sticker_reported_as_picture_is_a_sticker_and_never_downloaded(wired: Any) -> None:
    """itchat-uos turns MsgType 47 into a ``Picture`` with a .gif name; it must not become a photo."""
    core, _, sink = wired
    emoji = (
        f'{MEMBER}:<br/>&lt;msg&gt;&lt;emoji fromusername="wxid_wang001" tousername="20231120@chatroom" type="2" '
        'md5="7a1c2e3f4b5d6e7f8091a2b3c4d5e6f7" len="48213" productid="" '
        'cdnurl="http://wxapp.tc.qq.com/262/20304/stodownload?m=7a1c2e3f" width="240" height="240" /&gt;&lt;/msg&gt;'
    )
    _dispatch(core, [_raw(47, emoji, 45, HasProductId=0)])
    [message] = sink.messages
    assert message.kind is MessageKind.STICKER and message.media is None and message.text == "[动画表情]"
    assert core.s.requests == []  # nothing was downloaded


def test_shared_article_keeps_its_description_and_member_names(wired: Any) -> None:
    core, _, sink = wired
    xml = (
        '&lt;msg&gt;&lt;appmsg appid="" sdkver="0"&gt;&lt;title&gt;县人民医院开展义诊&lt;/title&gt;'
        "&lt;des&gt;专家团队走进水口乡&lt;/des&gt;&lt;type&gt;5&lt;/type&gt;"
        "&lt;url&gt;https://mp.weixin.qq.com/s/Hn3k&lt;/url&gt;&lt;/appmsg&gt;&lt;/msg&gt;"
    )
    raw = _raw(
        49,
        f"{MEMBER}:<br/>{xml}",
        46,
        AppMsgType=5,
        FileName="县人民医院开展义诊",
        Url="https://mp.weixin.qq.com/s/Hn3k",
    )
    _dispatch(core, [raw])
    [message] = sink.messages
    assert message.text == "[分享] 县人民医院开展义诊\n专家团队走进水口乡\nhttps://mp.weixin.qq.com/s/Hn3k"
    assert (message.sender_name, message.other_names) == ("县人民医院-王医生", ["王建国"])
