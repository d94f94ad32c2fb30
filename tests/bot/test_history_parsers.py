"""Every supported export format parsed from fixture files as the tools write them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.history.importer import PARSERS, detect_format
from bot.history.records import HistoryFormatError, read_text
from ingest.models import MessageKind, Platform

FIXTURES = Path(__file__).parent / "fixtures" / "history"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("wechatmsg.csv", "wechatmsg-csv"),
        ("wechatmsg.txt", "wechatmsg-txt"),
        ("pywxdump.csv", "pywxdump-csv"),
        ("qq_gb18030.txt", "qq-txt"),
        ("qq_utf16.txt", "qq-txt"),
        ("qce.json", "qce-json"),
    ],
)
def test_format_is_detected_from_content(name: str, fmt: str) -> None:
    assert detect_format(FIXTURES / name) == fmt


def test_encodings_are_detected() -> None:
    assert read_text(FIXTURES / "qq_gb18030.txt")[1] == "gb18030"
    assert read_text(FIXTURES / "qq_utf16.txt")[1] == "utf-16"
    assert read_text(FIXTURES / "wechatmsg.csv")[1] == "utf-8-sig"


def test_wechatmsg_csv() -> None:
    system, text, image, share, own = PARSERS["wechatmsg-csv"](FIXTURES / "wechatmsg.csv")
    assert system.kind is MessageKind.SYSTEM and system.sender_id is None
    assert text.platform is Platform.WECHAT and text.kind is MessageKind.TEXT
    assert text.sender_id == "nick:王建国" and text.sender_name == "县人民医院-王医生"
    assert text.sent_at == datetime(2023, 11, 20, 1, 30, tzinfo=UTC)
    assert image.kind is MessageKind.OTHER and image.text == "[图片]"
    assert share.text == "[分享] 县教育局开展“文明交通”进校园活动\nhttps://mp.weixin.qq.com/s/xyz"
    assert own.from_self


def test_wechatmsg_txt_blocks_keep_multiline_content() -> None:
    first, image, reply = PARSERS["wechatmsg-txt"](FIXTURES / "wechatmsg.txt")
    assert first.text == "县人民医院组织党员志愿者到敬老院开展慰问活动\n共有15名党员参加"
    assert first.sent_at == datetime(2023, 11, 21, 8, 15)  # naive: office local time
    assert image.text == "[图片]" and reply.sender_name == "文明办"


def test_pywxdump_csv_keeps_server_ids() -> None:
    text, image, system = PARSERS["pywxdump-csv"](FIXTURES / "pywxdump.csv")
    assert text.message_id == "7001234567890123456" and text.sender_id == "nick:王建国"
    assert image.text == "[图片]" and system.kind is MessageKind.SYSTEM and system.sender_id is None


@pytest.mark.parametrize("name", ["qq_gb18030.txt", "qq_utf16.txt"])
def test_qq_txt_titles_twelve_hour_times_and_email_senders(name: str) -> None:
    office, report, image, night, system = PARSERS["qq-txt"](FIXTURES / name)
    assert office.group_name == "全县文明单位QQ群"
    assert office.sender_name == "文明办-张主任" and office.sender_id == "12345678"
    assert office.source["title"] == "管理员"
    assert office.sent_at == datetime(2023, 11, 20, 9, 5, 12)
    assert office.text == "请各单位及时上报本月活动&开展情况"
    assert report.sent_at == datetime(2023, 11, 20, 14, 30, 45)
    assert report.text == "县交通局开展“文明出行”志愿宣传活动\n发放宣传资料300份"
    assert image.sent_at == datetime(2023, 11, 20, 12, 10) and image.kind is MessageKind.OTHER
    assert night.sent_at == datetime(2023, 11, 20, 0, 1) and night.sender_id == "email:night@example.com"
    assert system.kind is MessageKind.SYSTEM and system.sender_id is None


def test_qce_json_splits_text_and_images_and_marks_recalls() -> None:
    text, image, recalled, recall, system = PARSERS["qce-json"](FIXTURES / "qce.json")
    assert text.text == "县交通局组织职工参加无偿献血活动" and text.sender_id == "87654321"
    assert text.sent_at == datetime(2023, 11, 21, 6, 0, tzinfo=UTC)
    assert image.kind is MessageKind.OTHER and image.message_id == "qce:7311111111111111111#img0"
    # a recalled message is what was posted followed by its recall naming it
    assert recalled.kind is MessageKind.TEXT and recalled.text == "发错了"
    assert recall.kind is MessageKind.RECALL and recall.recalls_message_id == recalled.message_id
    assert recall.message_id == f"{recalled.message_id}#recall" and recall.sender_id == "22223333"
    assert system.kind is MessageKind.SYSTEM


def test_pywxdump_revoke_with_its_xml_names_the_recalled_server_id(tmp_path: Path) -> None:
    revoke = (
        '<sysmsg type="revokemsg"><revokemsg><session>20231120@chatroom</session><msgid>1234</msgid>'
        '<newmsgid>7001234567890123456</newmsgid><replacemsg><![CDATA["王建国" 撤回了一条消息]]></replacemsg>'
        "</revokemsg></sysmsg>"
    )
    at = "2023-11-22 14:02:00"
    head = (FIXTURES / "pywxdump.csv").read_text(encoding="utf-8").splitlines()[:2]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        [
            ["9", "7001234567890123999", "撤回消息", "0", "", "20231120@chatroom", revoke, "", at],
            ["10", "7001234567890124000", "撤回消息", "0", "", "20231120@chatroom", "王建国撤回了一条消息", "", at],
        ]
    )
    path = tmp_path / "pywxdump.csv"
    path.write_text("\n".join(head) + "\n" + buffer.getvalue(), encoding="utf-8")
    text, recall, bare = PARSERS["pywxdump-csv"](path)
    assert recall.kind is MessageKind.RECALL and recall.recalls_message_id == text.message_id
    assert recall.sender_id is None and recall.message_id == "7001234567890123999"
    assert bare.kind is MessageKind.SYSTEM and bare.recalls_message_id is None  # no XML: nothing to name


def test_unknown_file_is_a_chinese_error(tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("hello\nworld\n", encoding="utf-8")
    with pytest.raises(HistoryFormatError, match="无法识别导出格式"):
        detect_format(path)
    with pytest.raises(HistoryFormatError, match="消息头"):
        list(PARSERS["qq-txt"](path))


def test_qq_txt_with_several_chats_keeps_each_section_apart(tmp_path: Path) -> None:
    text = (FIXTURES / "qq_gb18030.txt").read_bytes().decode("gb18030")
    second = """
================================================================
消息分组:我的QQ群
================================================================
消息对象:长兴县志愿者群
================================================================

2023-11-21 上午 8:00:00 县团委-小周(55555555)
周末志愿服务报名
"""
    path = tmp_path / "all.txt"
    path.write_bytes((text + second).encode("gb18030"))
    records = list(PARSERS["qq-txt"](path))
    assert [r.group_name for r in records[-2:]] == ["全县文明单位QQ群", "长兴县志愿者群"]
    assert records[-2].text == "县交通局-刘科长 修改了群名片"  # the separator did not leak into the body
    assert records[-1].text == "周末志愿服务报名"
