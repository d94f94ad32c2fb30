"""OneBot v11 wire shapes through the real decoding code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.onebot.codec import (
    EventError,
    escape,
    group_message_drafts,
    group_notice_draft,
    parse_cq_string,
    unescape,
)
from ingest.models import MessageKind
from tests.bot import onebot_events as ev


def test_array_message_becomes_text_with_card_before_nickname() -> None:
    [draft] = group_message_drafts(ev.group_message_array())
    assert draft.kind is MessageKind.TEXT
    assert draft.text == "县人民医院 11月20日 开展义诊志愿服务活动"
    assert draft.sender_name == "县人民医院-王医生"
    assert draft.sender_id == "87654321"
    assert draft.group_id == str(ev.GROUP_ID)
    assert draft.message_id == f"{ev.SELF_ID}:101"
    assert draft.sent_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_string_message_unescapes_text_and_cq_parameters() -> None:
    text, image = group_message_drafts(ev.group_message_string())
    assert text.text == "教育局[通知] 党员志愿者&青年突击队,走进社区"
    assert text.sender_name == "李老师"  # empty card falls back to the nickname
    assert image.kind is MessageKind.IMAGE
    assert image.image is not None
    assert image.image.url == "https://multimedia.nt.qq.com.cn/download?appid=1407&fileid=X,Y"
    assert image.image.file == "abc.image"
    assert image.message_id == f"{ev.SELF_ID}:102#img0"


def test_escape_round_trip_keeps_literal_entities() -> None:
    original = "a&#91;b [x], &amp;"
    assert unescape(escape(original, in_param=True)) == original
    assert parse_cq_string("[CQ:share,title=标题中有=等号,url=http://x]")[0]["data"]["title"] == "标题中有=等号"


def test_image_only_message_keeps_the_plain_message_key() -> None:
    [draft] = group_message_drafts(ev.image_message())
    assert draft.kind is MessageKind.IMAGE and draft.message_id == f"{ev.SELF_ID}:103"


def test_anonymous_sender_is_named_not_the_shared_80000000() -> None:
    [draft] = group_message_drafts(ev.anonymous_message())
    assert draft.sender_id == "anonymous:大力鬼王"
    assert draft.sender_name == "匿名：大力鬼王"


def test_notice_sub_type_is_a_system_line() -> None:
    [draft] = group_message_drafts(ev.notice_subtype_message())
    assert draft.kind is MessageKind.SYSTEM and draft.text == "管理员已禁止群内匿名聊天"


def test_group_notices_become_system_and_recall_messages() -> None:
    joined = group_notice_draft(ev.group_increase("invite"))
    assert joined is not None and joined.kind is MessageKind.SYSTEM and joined.text == "22222 被邀请入群"
    recall = group_notice_draft(ev.group_recall(101))
    assert recall is not None and recall.kind is MessageKind.RECALL
    assert recall.message_id == f"{ev.SELF_ID}:101#recall"
    assert recall.recalls_message_id == f"{ev.SELF_ID}:101"  # the key message 101's text was stored under


def test_bot_own_messages_are_marked_from_self() -> None:
    event = ev.group_message_array(user_id=ev.SELF_ID, post_type="message_sent")
    assert group_message_drafts(event)[0].from_self


@pytest.mark.parametrize(
    "broken",
    [
        ev.group_message_array(group_id=None),
        ev.group_message_array(time="yesterday"),
        ev.group_message_array(message={"type": "text"}),
    ],
)
def test_malformed_message_events_raise_a_chinese_reason(broken: dict) -> None:
    with pytest.raises(EventError, match=r"[\u4e00-\u9fff]"):
        group_message_drafts(broken)
