"""OneBot traffic as NapCat and go-cqhttp push it: cards keep their titles, stickers are never photos, and a
stream with chatter, anonymous and sticker messages gives report rows only for the activities."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from sqlalchemy import select

from bot.onebot.adapter import OneBotAdapter
from bot.onebot.codec import group_message_drafts
from bot.sink import IngestSink
from ingest.models import MessageKind, RawMessage, Report, ReportPhoto, Unit
from tests.bot import onebot_events as ev
from tests.bot.fakes import png_bytes
from wenming.settings import Settings

NEWS_CARD = {
    "app": "com.tencent.structmsg",
    "config": {"ctime": 1763600100, "forward": True, "type": "normal"},
    "desc": "新闻",
    "meta": {
        "news": {
            "action": "",
            "app_type": 1,
            "appid": 100446242,
            "desc": "县人民医院专家团队走进水口乡，为村民免费体检",
            "jumpUrl": "https://mp.weixin.qq.com/s/Hn3kQ8rT0aZ",
            "preview": "https://mmbiz.qpic.cn/mmbiz_jpg/xyz/0",
            "tag": "微信",
            "title": "长兴县人民医院：健康义诊进乡村 群众家门口看名医",
        }
    },
    "prompt": "[分享]长兴县人民医院：健康义诊进乡村 群众家门口看名医",
    "ver": "0.0.0.1",
    "view": "news",
}
MINIAPP_CARD = {
    "app": "com.tencent.miniapp_01",
    "desc": "",
    "meta": {
        "detail_1": {
            "appid": "1109937557",
            "desc": "县教育局：文明交通进校园",
            "qqdocurl": "https://b23.tv/Xy7Pq2",
            "title": "哔哩哔哩",
            "url": "m.q.qpic.cn/qqdocurl/preview.jpg",
        }
    },
    "prompt": "[QQ小程序]县教育局：文明交通进校园",
    "view": "view_8C8E89B49BE609866298ADDFF2DBABA4",
}
XML_CARD = (
    "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><msg serviceID=\"1\" templateID=\"1\" action=\"web\" "
    'brief="[分享] 县融媒体：文明城市创建进行时" sourceMsgId="0" url="https://www.cxnews.cn/a/20261112/88.html" '
    'flag="0" adverSign="0" multiMsgFlag="0"><item layout="2"><picture cover="https://www.cxnews.cn/c.jpg" />'
    "<title>县融媒体：文明城市创建进行时</title><summary>我县各单位开展环境整治</summary></item>"
    '<source name="长兴新闻网" icon="" action="" appid="-1" /></msg>'
)
# NapCat's image segment for a sticker picked from the sticker panel, and its market face.
NAPCAT_STICKER = {
    "type": "image",
    "data": {
        "summary": "[动画表情]",
        "file": "8F1C0E2A7B6D4C3E.gif",
        "sub_type": 1,
        "url": "https://multimedia.nt.qq.com.cn/download?appid=1407&fileid=EhQ5&rkey=CAQS",
        "file_size": "48213",
    },
}
NAPCAT_MFACE = {
    "type": "mface",
    "data": {
        "summary": "[庆祝]",
        "url": "https://gxh.vip.qq.com/club/item/parcel/item/3a/3a4b5c6d/raw300.gif",
        "emoji_id": "3a4b5c6d",
        "emoji_package_id": 230729,
        "key": "d1e2f3a4b5c6",
    },
}


def _event(
    message_id: int, message: Any, *, card: str = "县人民医院-王医生", t: int = 1763600000, **extra: Any
) -> dict:
    sender = {"user_id": 87654321, "nickname": "小王", "card": card, "role": "member"}
    return ev.group_message_array(message_id, message=message, time=t, sender=sender, **extra)


def test_share_json_and_xml_cards_keep_title_and_url() -> None:
    share = {"type": "share", "data": {"url": "https://mp.weixin.qq.com/s/Ab1", "title": "县图书馆举办读书会"}}
    json_card = {"type": "json", "data": {"data": json.dumps(NEWS_CARD, ensure_ascii=False)}}
    [a] = group_message_drafts(_event(1, [share]))
    [b] = group_message_drafts(_event(2, [{"type": "text", "data": {"text": "我院义诊报道"}}, json_card]))
    [c] = group_message_drafts(_event(3, [{"type": "json", "data": {"data": json.dumps(MINIAPP_CARD)}}]))
    [d] = group_message_drafts(_event(4, [{"type": "xml", "data": {"data": XML_CARD}}]))
    assert a.kind is MessageKind.TEXT and a.text == "[分享] 县图书馆举办读书会\nhttps://mp.weixin.qq.com/s/Ab1"
    assert b.text == (
        "我院义诊报道\n[分享] 长兴县人民医院：健康义诊进乡村 群众家门口看名医\n"
        "县人民医院专家团队走进水口乡，为村民免费体检\nhttps://mp.weixin.qq.com/s/Hn3kQ8rT0aZ"
    )
    assert c.text == "[分享] 县教育局：文明交通进校园（哔哩哔哩）\nhttps://b23.tv/Xy7Pq2"
    assert d.text == (
        "[分享] 县融媒体：文明城市创建进行时\n我县各单位开展环境整治\nhttps://www.cxnews.cn/a/20261112/88.html"
    )


def test_cards_in_the_cq_string_format() -> None:
    data = json.dumps(NEWS_CARD, ensure_ascii=False).replace("&", "&amp;").replace(",", "&#44;")
    raw = f"[CQ:json,data={data.replace('[', '&#91;').replace(']', '&#93;')}]"
    [draft] = group_message_drafts(_event(5, raw))
    assert draft.text.startswith("[分享] 长兴县人民医院：健康义诊进乡村")
    share = "[CQ:share,url=https://www.cxnews.cn/a/1.html,title=县文化馆非遗展演&#44;邀您共赏]"
    [draft] = group_message_drafts(_event(6, share))
    assert draft.text == "[分享] 县文化馆非遗展演,邀您共赏\nhttps://www.cxnews.cn/a/1.html"


def test_stickers_are_never_photos() -> None:
    photo = {"type": "image", "data": {"file": "A1.jpg", "sub_type": 0, "url": "https://img.example.test/a.jpg"}}
    go_cqhttp_sticker = "[CQ:image,file=3f2a.image,subType=1,url=https://gchat.qpic.cn/gchatpic_new/0/0-0-3F2A/0]"
    assert [(d.kind, d.text) for d in group_message_drafts(_event(7, [NAPCAT_STICKER]))] == [
        (MessageKind.STICKER, "[动画表情]")
    ]
    assert [(d.kind, d.text) for d in group_message_drafts(_event(8, [NAPCAT_MFACE]))] == [
        (MessageKind.STICKER, "[庆祝]")
    ]
    assert [d.kind for d in group_message_drafts(_event(9, go_cqhttp_sticker))] == [MessageKind.STICKER]
    assert [d.kind for d in group_message_drafts(_event(10, [{"type": "face", "data": {"id": "76"}}]))] == [
        MessageKind.STICKER
    ]
    mixed = [{"type": "text", "data": {"text": "我院开展义诊"}}, NAPCAT_STICKER, photo]
    assert [(d.kind, d.message_id) for d in group_message_drafts(_event(11, mixed))] == [
        (MessageKind.TEXT, f"{ev.SELF_ID}:11"),
        (MessageKind.IMAGE, f"{ev.SELF_ID}:11#img0"),
    ]


def test_card_and_nickname_are_both_sender_names() -> None:
    [draft] = group_message_drafts(_event(12, [{"type": "text", "data": {"text": "好的"}}], card="张三"))
    assert (draft.sender_name, draft.other_names) == ("张三", ["小王"])
    [anonymous] = group_message_drafts(ev.anonymous_message(13))
    assert anonymous.sender_id == "anonymous:大力鬼王" and anonymous.other_names == []


def test_a_stream_with_chatter_gives_reports_only_for_activities(sink: IngestSink, live_settings: Settings) -> None:
    with sink.factory() as session:
        session.add_all([Unit(name="长兴县人民医院", aliases=["县人民医院"]), Unit(name="长兴中学", aliases=[])])
        session.commit()
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, content=png_bytes("red"))))
    adapter = OneBotAdapter(live_settings, sink, http)
    text = {"type": "text", "data": {"text": "11月20日上午，县人民医院在城东社区开展义诊志愿服务，服务群众120人次"}}
    photo = {"type": "image", "data": {"file": "B2.jpg", "sub_type": 0, "url": "https://img.example.test/b.jpg"}}
    school = "长兴中学-李老师"
    stream = [
        _event(201, [text, photo], t=1763600000),
        _event(202, [NAPCAT_STICKER], t=1763600060),  # a sticker right after the report
        _event(203, [{"type": "text", "data": {"text": "收到"}}], card=school, t=1763600100),
        _event(204, [{"type": "text", "data": {"text": "好的👍"}}], card=school, t=1763600110),
        _event(205, [{"type": "text", "data": {"text": "请问本月材料几号截止？"}}], card=school, t=1763600120),
        _event(206, [NAPCAT_MFACE], card=school, t=1763600130),
        ev.anonymous_message(207) | {"time": 1763600140},
        _event(208, [{"type": "json", "data": {"data": json.dumps(NEWS_CARD, ensure_ascii=False)}}], t=1763610000),
    ]
    for event in stream:
        asyncio.run(adapter.handle_event(event))
    sink.assemble_sync()
    with sink.factory() as session:
        reports = session.scalars(select(Report).order_by(Report.first_message_at)).all()
        units = dict(session.execute(select(Unit.id, Unit.name)).all())
        photos = session.scalars(select(ReportPhoto)).all()
        kept = session.execute(
            select(RawMessage.kind, RawMessage.status, RawMessage.reason)
            .where(RawMessage.report_id.is_(None))
            .order_by(RawMessage.sent_at)
        ).all()
    assert [(units[r.unit_id], r.photo_count) for r in reports] == [("长兴县人民医院", 1), ("长兴县人民医院", 0)]
    assert len(photos) == 1  # the sticker is not a photo of the report
    assert "长兴县人民医院：健康义诊进乡村" in (reports[1].text or "") and reports[1].label == "news"
    assert [tuple(row) for row in kept] == [
        ("sticker", "chatter", "sticker"),
        ("text", "chatter", "ack"),
        ("text", "chatter", "ack"),
        ("text", "chatter", "question"),
        ("sticker", "chatter", "sticker"),
        ("text", "chatter", "anonymous"),
    ]
