"""Imports keep every unit and every message: all sender names are tried, unplaceable lines are reported and
kept, photos come from the export's own folder (and are read by OCR), stickers never count, dry runs write nothing.

The export files are built here in the shapes the tools write: WeChatMsg's ``data/聊天记录/<群>/`` folder (CSV,
HTML with ``{ type:3, text: './image/…' }`` entries, ``image/``), qq-chat-exporter's JSON with image ``md5`` and
resources under ``resources/images/``, PyWxDump's CSV with ``src`` paths beside a decoded image folder.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bot.history.importer import import_history
from bot.history.wechat_exports import WECHATMSG_COLUMNS
from classifier.ocr import samples
from classifier.ocr.models import MediaText
from classifier.ocr.service import OCR_REPORT_JOB
from ingest.models import Media, Member, RawMessage, Report, ReportPhoto, Unit
from tests.ingest.builders import photo
from wenming.queue.models import Job
from wenming.queue.worker import Worker
from wenming.settings import Settings
from wiring.cli.main import app
from wiring.handlers import default_handlers

CST = ZoneInfo("Asia/Shanghai")
GROUP = "全县文明单位工作群"


def _stamp(hour: int, minute: int, second: int = 0) -> int:
    return int(datetime(2026, 11, 20, hour, minute, second, tzinfo=CST).timestamp())


def _img_xml(md5: str) -> str:
    return (
        '<?xml version="1.0"?>\n<msg>\n\t<img aeskey="5f1e0d2c3b4a59687766554433221100" encryver="1" '
        'cdnthumbaeskey="5f1e0d2c3b4a59687766554433221100" cdnthumburl="3057020100044b30490201000204a1b2c3d4" '
        f'cdnthumblength="3412" cdnthumbheight="120" cdnthumbwidth="90" length="52341" md5="{md5}" '
        'hevc_mid_size="41234" />\n\t<platform_signature></platform_signature>\n</msg>'
    )


def _wechatmsg_row(local_id: int, msg_type: int, at: int, content: str, remark: str, nickname: str, wxid: str) -> list:
    when = datetime.fromtimestamp(at, CST).strftime("%Y-%m-%d %H:%M:%S")
    return [local_id, 7, msg_type, 0, 0, at, 2, content, when, remark, nickname, wxid]


def _html_entry(kind: int, text: str, at: int, name: str) -> str:
    """One message as WeChatMsg's HTML export writes it into its page script."""
    return (
        f"{{ type:{kind}, text: '{text}',is_send:0,avatar_path:'./avatar/{name}.png',"
        f"timestamp:{at},is_chatroom:1,displayname:'{name}'}},"
    )


def _units(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        for name, aliases in [
            ("长兴县财政局", ["县财政局"]),
            ("长兴县人民医院", ["县人民医院"]),
            ("长兴中学", []),
            ("长兴县教育局", ["县教育局"]),
        ]:
            session.add(Unit(name=name, aliases=aliases))
        session.commit()
        return dict(session.execute(select(Unit.name, Unit.id)).all())


@pytest.fixture
def wechatmsg_folder(tmp_path: Path) -> tuple[Path, Path, dict[str, bytes]]:
    """``data/聊天记录/全县文明单位工作群/`` as WeChatMsg exports a group with CSV and HTML."""
    folder = tmp_path / "data" / "聊天记录" / GROUP
    (folder / "image").mkdir(parents=True)
    big, thumb, repost = photo(11), photo(12, size=(160, 120)), photo(13)
    (folder / "image" / "a41f0e9d2c3b.jpg").write_bytes(big)  # decoded .dat: same bytes as the md5 in the XML
    (folder / "image" / "b52e1f0a3d4c.jpg").write_bytes(thumb)  # only a thumbnail: md5 differs, the HTML knows it
    (folder / "image" / "c63f2a1b4e5d.jpg").write_bytes(repost)
    md5 = hashlib.md5(big).hexdigest()
    rows = [
        _wechatmsg_row(
            1,
            1,
            _stamp(9, 30),
            "11月20日，县财政局党员志愿者在金陵社区开展垃圾分类宣传",
            "张三",
            "县财政局-张三",
            "wxid_zs01",
        ),
        _wechatmsg_row(2, 3, _stamp(9, 31), _img_xml(md5), "张三", "县财政局-张三", "wxid_zs01"),
        _wechatmsg_row(
            3, 1, _stamp(10, 0), "【县人民医院】组织医护人员到敬老院义诊", "李四", "【县人民医院】李四", "wxid_ls02"
        ),
        _wechatmsg_row(4, 3, _stamp(10, 1), _img_xml("0" * 32), "李四", "【县人民医院】李四", "wxid_ls02"),
        _wechatmsg_row(
            5,
            47,
            _stamp(10, 2),
            '<msg><emoji md5="9a8b7c6d5e4f30211203f4e5d6c7b8a9" type="2" /></msg>',
            "李四",
            "【县人民医院】李四",
            "wxid_ls02",
        ),
        _wechatmsg_row(6, 1, _stamp(10, 30), "长兴中学开展法治进校园讲座", "王五", "长兴中学 王五", "wxid_ww03"),
        _wechatmsg_row(7, 1, _stamp(10, 40), "收到", "王五", "长兴中学 王五", "wxid_ww03"),
        _wechatmsg_row(8, 1, _stamp(11, 0), "社区志愿者清理河道垃圾", "赵六", "赵六", "wxid_zl04"),
        _wechatmsg_row(9, 1, _stamp(11, 30), "开展教师礼仪培训", "县教育局-孙七", "长兴中学孙七", "wxid_sq05"),
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(WECHATMSG_COLUMNS)
    writer.writerows(rows)
    csv_path = folder / f"{GROUP}_utf8.csv"
    csv_path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    entries = [
        _html_entry(1, "活动", _stamp(9, 30), "张三"),
        _html_entry(3, "./image/a41f0e9d2c3b.jpg", _stamp(9, 31), "张三"),
        _html_entry(3, "./image/b52e1f0a3d4c.jpg", _stamp(10, 1), "李四"),
    ]
    html = "<html><head><title>" + GROUP + "</title></head><body><script>const chatMessages = [\n"
    (folder / f"{GROUP}.html").write_text(html + "\n".join(entries) + "\n];</script></body></html>", encoding="utf-8")
    return csv_path, folder, {"big": big, "thumb": thumb}


def test_wechatmsg_remarks_that_are_person_names_still_resolve_units(
    committed_factory: sessionmaker[Session], live_settings: Settings, wechatmsg_folder: tuple[Path, Path, dict]
) -> None:
    units = _units(committed_factory)
    csv_path, _, _ = wechatmsg_folder
    summary = import_history(committed_factory, live_settings, csv_path)
    with committed_factory() as session:
        reports = session.execute(select(Report.text, Report.unit_id).order_by(Report.first_message_at)).all()
        members = dict(session.execute(select(Member.platform_user_id, Member.unit_id)).all())
    assert [tuple(r) for r in reports] == [
        ("11月20日，县财政局党员志愿者在金陵社区开展垃圾分类宣传", units["长兴县财政局"]),
        ("【县人民医院】组织医护人员到敬老院义诊", units["长兴县人民医院"]),
        ("长兴中学开展法治进校园讲座", units["长兴中学"]),
        ("社区志愿者清理河道垃圾", None),  # no name of this sender names a unit
        ("开展教师礼仪培训", None),  # remark and nickname name two units: staff decide, never a guess
    ]
    assert members["nick:长兴中学孙七"] is None
    assert summary.unresolved_senders == [("赵六", 1), ("县教育局-孙七", 1)]
    assert summary.messages == {"assembled": 5, "chatter": 4}  # 2 photos without --media, 1 sticker, 1 收到


def test_photos_from_a_wechatmsg_export_folder_are_attached_and_queued_for_ocr(
    committed_factory: sessionmaker[Session], live_settings: Settings, wechatmsg_folder: tuple[Path, Path, dict]
) -> None:
    _units(committed_factory)
    csv_path, folder, files = wechatmsg_folder
    summary = import_history(committed_factory, live_settings, csv_path, media_dir=folder)
    assert (summary.photos_attached, summary.photos_missing) == (2, 0)
    with committed_factory() as session:
        counts = dict(session.execute(select(Report.text, Report.photo_count)).all())
        shas = set(session.scalars(select(Media.sha256)))
        jobs = session.scalars(select(Job).where(Job.kind == OCR_REPORT_JOB)).all()
        photo_reports = set(session.scalars(select(ReportPhoto.report_id)))
        stickers = session.scalars(select(RawMessage.status).where(RawMessage.kind == "sticker")).all()
    assert counts["11月20日，县财政局党员志愿者在金陵社区开展垃圾分类宣传"] == 1  # matched by the XML's md5
    assert counts["【县人民医院】组织医护人员到敬老院义诊"] == 1  # matched by the HTML's time
    assert shas == {hashlib.sha256(files["big"]).hexdigest(), hashlib.sha256(files["thumb"]).hexdigest()}
    assert {job.payload["report_id"] for job in jobs} == photo_reports and len(jobs) == 2
    assert stickers == ["chatter"]  # the sticker is kept as a message, never a photo
    again = import_history(committed_factory, live_settings, csv_path, media_dir=folder)
    assert again.stored == 0


def test_dry_run_says_what_would_be_created_and_writes_nothing(
    committed_factory: sessionmaker[Session], live_settings: Settings, wechatmsg_folder: tuple[Path, Path, dict]
) -> None:
    _units(committed_factory)
    csv_path, folder, _ = wechatmsg_folder
    summary = import_history(committed_factory, live_settings, csv_path, media_dir=folder, dry_run=True)
    assert summary.dry_run and summary.stored == 9 and summary.photos_attached == 2
    assert summary.reports_by_unit == [("长兴中学", 1), ("长兴县人民医院", 1), ("长兴县财政局", 1), (None, 2)]
    assert [name for name, _ in summary.unresolved_senders] == ["赵六", "县教育局-孙七"]
    with committed_factory() as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == 0
        assert session.scalar(select(func.count()).select_from(Member)) == 0
    assert not live_settings.media_dir.exists() or not any(live_settings.media_dir.rglob("*.jpg"))


QQ_EXPORT = """消息记录（此消息记录为文本格式，不支持重新导入）

================================================================
消息分组:我的QQ群
================================================================
消息对象:全县文明单位QQ群
================================================================

2026-11-20 上午 9:00:03 县财政局-张三(2345678)
县财政局开展“节约用水”宣传活动

2026-11-20 上午 9:05:12 县人民医院-李四
请问本月的志愿服务时长表发给谁？

2026-11-20 上午 9:06:40 【管理员】文明办-周主任(100012345)
发给我就行

2026-11-20 上午 9:10:00 长兴中学-王五(3456)
长兴中学组织学生参观红色教育基地

2026-11-20 上午 9:12:30 夜班<duty@example.cn>
[表情]
"""


def test_qq_export_with_an_unparseable_header_reports_it_and_loses_nothing(
    committed_factory: sessionmaker[Session], live_settings: Settings, tmp_path: Path
) -> None:
    units = _units(committed_factory)
    path = tmp_path / "全县文明单位QQ群.txt"
    path.write_bytes(QQ_EXPORT.encode("utf-16"))
    summary = import_history(committed_factory, live_settings, path, group_id="650433512")
    assert summary.errors == [
        "第 12 行：像消息头但无法识别（应为“日期 时间 昵称(QQ号)”），已单独保存，未并入上一条消息"
    ]
    with committed_factory() as session:
        raws = session.execute(select(RawMessage.status, RawMessage.text).order_by(RawMessage.id)).all()
        rejected = session.scalars(select(RawMessage).where(RawMessage.status == "rejected")).one()
        reports = session.execute(select(Report.text, Report.unit_id).order_by(Report.first_message_at)).all()
    assert raws[0] == ("assembled", "县财政局开展“节约用水”宣传活动")  # the message before stays intact
    assert rejected.payload["history"]["text"] == (
        "2026-11-20 上午 9:05:12 县人民医院-李四\n请问本月的志愿服务时长表发给谁？"
    )
    assert [tuple(r) for r in reports] == [  # the question and the organiser's answer did not merge into a report
        ("县财政局开展“节约用水”宣传活动", units["长兴县财政局"]),
        ("长兴中学组织学生参观红色教育基地", units["长兴中学"]),  # a 4-digit number is still a sender
    ]
    assert ("ignored", "发给我就行") in [tuple(r) for r in raws]
    assert ("chatter", "[表情]") in [tuple(r) for r in raws]  # the e-mail sender's sticker


def _qce(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """qq-chat-exporter: the JSON and its ``resources/images/`` folder."""
    root = tmp_path / "qce"
    (root / "resources" / "images").mkdir(parents=True)
    picture = photo(21)
    (root / "resources" / "images" / "E3F1A2B4C5D6.jpg").write_bytes(picture)
    sticker = {"filename": "5D4C.gif", "md5": "5d4c3b2a19080706f5e4d3c2b1a09f8e", "subType": "sticker", "size": 38000}
    messages = [
        {
            "id": "7440001",
            "seq": "88",
            "timestamp": _stamp(14, 0) * 1000,
            "time": "2026-11-20T06:00:00.000Z",
            "sender": {
                "uid": "u_7Yx",
                "uin": "2345678",
                "name": "张三",
                "nickname": "张三",
                "groupCard": "县财政局-张三",
            },
            "type": "text",
            "content": {
                "text": "县财政局开展无偿献血活动[图片:E3F1A2B4C5D6.jpg]",
                "elements": [
                    {"type": "text", "data": {"text": "县财政局开展无偿献血活动"}},
                    {
                        "type": "image",
                        "data": {
                            "filename": "E3F1A2B4C5D6.jpg",
                            "size": len(picture),
                            "md5": hashlib.md5(picture).hexdigest().upper(),
                            "subType": "photo",
                        },
                    },
                ],
                "resources": [
                    {
                        "type": "image",
                        "filename": "E3F1A2B4C5D6.jpg",
                        "size": len(picture),
                        "localPath": "resources/images/E3F1A2B4C5D6.jpg",
                    }
                ],
                "mentions": [],
            },
            "recalled": False,
            "system": False,
        },
        {
            "id": "7440002",
            "seq": "89",
            "timestamp": _stamp(14, 1) * 1000,
            "time": "2026-11-20T06:01:00.000Z",
            "sender": {"uid": "u_7Yx", "uin": "2345678", "name": "张三", "groupCard": "县财政局-张三"},
            "type": "text",
            "content": {
                "text": "[图片:5D4C.gif]",
                "elements": [{"type": "image", "data": sticker}],
                "resources": [{"type": "image", "filename": "5D4C.gif", "size": 38000}],
                "mentions": [],
            },
            "recalled": False,
            "system": False,
        },
    ]
    export = {
        "metadata": {"name": "QQChatExporter V4", "version": "4.9.0"},
        "chatInfo": {"name": "全县文明单位QQ群", "type": "group"},
        "messages": messages,
    }
    path = root / "group_650433512_20261120.json"
    path.write_text(json.dumps(export, ensure_ascii=False, indent=2), encoding="utf-8")
    return path, root, picture


def test_qce_resources_are_attached_and_stickers_are_not_photos(
    committed_factory: sessionmaker[Session], live_settings: Settings, tmp_path: Path
) -> None:
    units = _units(committed_factory)
    path, root, picture = _qce(tmp_path)
    summary = import_history(committed_factory, live_settings, path, group_id="650433512", media_dir=root)
    assert summary.photos_attached == 1
    with committed_factory() as session:
        [report] = session.scalars(select(Report)).all()
        [media] = session.scalars(select(Media)).all()
        jobs = session.scalar(select(func.count()).select_from(Job).where(Job.kind == OCR_REPORT_JOB))
    assert (report.unit_id, report.photo_count, jobs) == (units["长兴县财政局"], 1, 1)
    assert media.sha256 == hashlib.sha256(picture).hexdigest()


def test_pywxdump_src_paths_find_the_decoded_images(
    committed_factory: sessionmaker[Session], live_settings: Settings, tmp_path: Path
) -> None:
    _units(committed_factory)
    decoded = tmp_path / "decoded"
    decoded.mkdir()
    picture = photo(31)
    (decoded / "7c1d9e0f2a3b4c5d6e7f8091a2b3c4d5.jpg").write_bytes(picture)
    src = r"FileStorage\MsgAttach\0f1e2d3c4b5a69788796a5b4c3d2e1f0\Image\2026-11\7c1d9e0f2a3b4c5d6e7f8091a2b3c4d5.dat"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "MsgSvrID", "type_name", "is_sender", "talker", "room_name", "msg", "src", "CreateTime"])
    writer.writerow(
        [
            "1",
            "8123456789012345671",
            "文本",
            "0",
            "wxid_zs01",
            "45678901@chatroom",
            "县财政局开展义务植树",
            "",
            "2026-11-20 15:00:00",
        ]
    )
    writer.writerow(
        ["2", "8123456789012345672", "图片", "0", "wxid_zs01", "45678901@chatroom", "图片", src, "2026-11-20 15:00:20"]
    )
    writer.writerow(
        [
            "3",
            "8123456789012345673",
            "动画表情",
            "0",
            "wxid_zs01",
            "45678901@chatroom",
            "",
            "http://emoji.qpic.cn/wx_emoji/x/",
            "2026-11-20 15:00:40",
        ]
    )
    (tmp_path / "wxid_abc_0_500.csv").write_text(buffer.getvalue(), encoding="utf-8")
    users = {"wxid_zs01": {"wxid": "wxid_zs01", "nickname": "县财政局-张三", "remark": "张三", "account": "zs_2026"}}
    (tmp_path / "users.json").write_text(json.dumps(users, ensure_ascii=False), encoding="utf-8")
    summary = import_history(
        committed_factory, live_settings, tmp_path / "wxid_abc_0_500.csv", group_name=GROUP, media_dir=decoded
    )
    assert summary.photos_attached == 1 and summary.kinds["sticker"] == 1
    with committed_factory() as session:
        [report] = session.scalars(select(Report)).all()
    assert report.photo_count == 1 and report.unit_id is not None


def test_cli_dry_run_prints_reports_by_unit_and_unresolved_senders(
    cli_env: sessionmaker[Session], wechatmsg_folder: tuple[Path, Path, dict]
) -> None:
    _units(cli_env)
    csv_path, folder, _ = wechatmsg_folder
    result = CliRunner().invoke(app, ["import", str(csv_path), "--media", str(folder), "--dry-run"])
    assert result.exit_code == 0, result.output
    for expected in ("预览（未写入任何数据）", "长兴县财政局", "未归属单位", "赵六", "从图片目录找到的图片"):
        assert expected in result.output
    with cli_env() as session:
        assert session.scalar(select(func.count()).select_from(RawMessage)) == 0


def test_a_photo_only_post_from_an_export_folder_is_read_by_ocr(
    committed_factory: sessionmaker[Session], live_settings: Settings, tmp_path: Path
) -> None:
    """The worker reads the exported banner like a live one: the photo-only report gets its label from it."""
    units = _units(committed_factory)
    banner, *_ = samples.render("县财政局与港口村结对共建活动", seed=5, size=(800, 450), blur=0.6, quality=70)
    root = tmp_path / "qce"
    (root / "resources" / "images").mkdir(parents=True)
    (root / "resources" / "images" / "F00D.jpg").write_bytes(banner)
    image = {"filename": "F00D.jpg", "md5": hashlib.md5(banner).hexdigest(), "subType": "photo", "size": len(banner)}
    message = {
        "id": "7440101",
        "timestamp": _stamp(16, 0) * 1000,
        "sender": {"uin": "2345678", "name": "县财政局-张三"},
        "type": "text",
        "content": {"text": "[图片:F00D.jpg]", "elements": [{"type": "image", "data": image}], "resources": []},
        "recalled": False,
        "system": False,
    }
    path = root / "export.json"
    path.write_text(json.dumps({"chatInfo": {"name": "全县文明单位QQ群"}, "messages": [message]}), encoding="utf-8")
    import_history(committed_factory, live_settings, path, group_id="650433512", media_dir=root)
    worker = Worker(committed_factory, live_settings, default_handlers())
    worker.run(burst=True)
    with committed_factory() as session:
        [report] = session.scalars(select(Report)).all()
        [text] = session.scalars(select(MediaText)).all()
    assert worker.stats.done >= 1 and text.media_id is not None
    assert (report.unit_id, report.text, report.label) == (units["长兴县财政局"], None, "pairing")
