"""Generate Wenming's synthetic demo data: a unit roster and three months of group traffic with photos.

Everything here is invented (see demo/README.md). The output is deterministic for a given seed and is
committed under demo/data/, so the demo never depends on this script running. Re-generate with:

    .venv/bin/python demo/generate.py            # writes demo/data/
    .venv/bin/python demo/generate.py --out DIR --scale 40 --seed 7   # a larger file (used by bench/)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from PIL import Image, ImageDraw

SEED = 20260801
CST = timezone(timedelta(hours=8))
START, END = date(2026, 8, 1), date(2026, 10, 31)
WECHAT_GROUP = ("wechat", "24190383215@chatroom", "长兴县各级文明单位工作群")
QQ_GROUP = ("qq", "650433512", "长兴县文明单位管理群")
PHOTO_SIZE = (320, 240)
OUT_DEFAULT = Path(__file__).resolve().parent / "data"

# name, aliases, honour level, category, headcount, reports per month, self-reference, nickname short form
UNITS: list[tuple[str, list[str], str, str, int, float, str, str]] = [
    ("长兴县市场监督管理局", ["县市场监管局", "市场监管局"], "省", "机关", 210, 8, "我局", "县市场监管局"),
    ("长兴县人民医院", ["县人民医院", "县医院"], "全国", "医院", 1500, 9, "我院", "县医院"),
    ("长兴中学", ["长中"], "省", "学校", 260, 6, "我校", "长兴中学"),
    ("长兴县公安局", ["县公安局"], "省", "机关", 800, 4, "我局", "县公安局"),
    ("国家税务总局长兴县税务局", ["长兴县税务局", "县税务局"], "全国", "机关", 260, 7, "我局", "县税务局"),
    ("长兴县教育局", ["县教育局"], "市", "机关", 90, 4, "我局", "县教育局"),
    ("长兴县财政局", ["县财政局"], "市", "机关", 80, 2, "我局", "县财政局"),
    ("长兴县自然资源和规划局", ["县自然资源局", "县资规局"], "市", "机关", 150, 3, "我局", "县资规局"),
    ("长兴县交通运输局", ["县交通局", "县交通运输局"], "市", "机关", 120, 3, "我局", "县交通局"),
    ("长兴县卫生健康局", ["县卫健局", "卫健局"], "省", "机关", 70, 3, "我局", "县卫健局"),
    ("长兴县中医院", ["县中医院"], "市", "医院", 600, 4, "我院", "县中医院"),
    ("长兴县第二人民医院", ["县二院"], "县", "医院", 420, 2, "我院", "县二院"),
    ("长兴县妇幼保健院", ["县妇保院", "妇保院"], "县", "医院", 300, 1.5, "我院", "县妇保院"),
    ("长兴县实验小学", ["实验小学", "县实小"], "市", "学校", 150, 4, "我校", "县实小"),
    ("长兴县职业教育中心学校", ["长兴职教中心", "职教中心"], "市", "学校", 220, 3, "我校", "职教中心"),
    ("长兴县金陵高级中学", ["金陵高中"], "县", "学校", 180, 2, "我校", "金陵高中"),
    ("长兴县雉城街道办事处", ["雉城街道"], "省", "乡镇", 160, 7, "我街道", "雉城街道"),
    ("长兴县和平镇人民政府", ["和平镇"], "市", "乡镇", 120, 4, "我镇", "和平镇"),
    ("长兴县泗安镇人民政府", ["泗安镇"], "县", "乡镇", 110, 2, "我镇", "泗安镇"),
    ("长兴县水口乡人民政府", ["水口乡"], "市", "乡镇", 80, 4, "我乡", "水口乡"),
    ("长兴县林城镇人民政府", ["林城镇"], "县", "乡镇", 95, 0.7, "我镇", "林城镇"),
    ("长兴县煤山镇人民政府", ["煤山镇"], "县", "乡镇", 100, 3, "我镇", "煤山镇"),
    (
        "国网浙江长兴县供电有限公司",
        ["长兴供电公司", "县供电公司"],
        "全国",
        "企业",
        700,
        10,
        "我公司",
        "长兴供电公司",
    ),
    ("中国移动长兴分公司", ["长兴移动"], "省", "企业", 260, 3, "我公司", "长兴移动"),
    ("长兴县自来水有限公司", ["县自来水公司", "自来水公司"], "市", "企业", 180, 3, "我公司", "县自来水公司"),
    ("浙江长兴农村商业银行", ["长兴农商银行", "农商银行"], "省", "金融", 900, 5, "我行", "长兴农商银行"),
    ("中国工商银行长兴支行", ["工行长兴支行"], "市", "金融", 150, 2, "我行", "工行长兴支行"),
    ("中国邮政集团长兴县分公司", ["长兴邮政"], "县", "企业", 200, 1, "我公司", "长兴邮政"),
    ("长兴县融媒体中心", ["县融媒体中心", "长兴传媒"], "市", "事业单位", 230, 6, "我中心", "县融媒体中心"),
    ("长兴县图书馆", ["县图书馆"], "县", "事业单位", 40, 3, "我馆", "县图书馆"),
    ("长兴县文化馆", ["县文化馆"], "县", "事业单位", 35, 2, "我馆", "县文化馆"),
    ("长兴县人力资源和社会保障局", ["县人社局", "人社局"], "市", "机关", 110, 3, "我局", "县人社局"),
    ("长兴县民政局", ["县民政局"], "县", "机关", 60, 2, "我局", "县民政局"),
    ("长兴县司法局", ["县司法局"], "县", "机关", 90, 1, "我局", "县司法局"),
    ("长兴县住房和城乡建设局", ["县住建局", "住建局"], "市", "机关", 130, 3, "我局", "县住建局"),
    ("长兴县农业农村局", ["县农业农村局", "县农业局"], "县", "机关", 140, 2, "我局", "县农业农村局"),
    ("长兴县应急管理局", ["县应急管理局", "县应急局"], "县", "机关", 50, 0, "我局", "县应急局"),
    ("长兴县消防救援大队", ["县消防大队", "消防大队"], "省", "机关", 120, 4, "我大队", "县消防大队"),
    ("长兴县人民法院", ["县法院"], "全国", "机关", 160, 4, "我院", "县法院"),
    ("长兴县人民检察院", ["县检察院"], "省", "机关", 90, 3, "我院", "县检察院"),
    ("长兴县综合行政执法局", ["县综合执法局", "县执法局"], "县", "机关", 300, 3, "我局", "县执法局"),
]

PAIRED = [
    "雉城街道画溪社区", "雉城街道长兴路社区", "雉城街道龙山社区", "和平镇城山村", "水口乡顾渚村",
    "水口乡金山村", "煤山镇新川村", "泗安镇仙山村", "林城镇上莘村", "洪桥镇陈湾村", "吕山乡胥仓村",
    "虹星桥镇港口村", "夹浦镇丁新村", "李家巷镇青草坞村", "小浦镇八都岕村", "画溪街道五峰村",
]  # fmt: skip
COMMUNITIES = ["画溪社区", "长兴路社区", "龙山社区", "太湖社区", "金陵社区", "雉州社区", "齐北社区"]
CROSSINGS = ["县前街与长兴大道交叉口", "金陵路口", "明珠路与中央大道交叉口", "人民广场", "长兴汽车站门口"]
NURSING = ["雉城敬老院", "县社会福利中心", "和平镇敬老院", "画溪街道居家养老服务中心"]
OUTLETS = [
    ("长兴新闻网", 5), ("长兴发布", 4), ("掌心长兴", 4), ("湖州日报", 4), ("南太湖号", 3), ("湖州在线", 2),
    ("浙江日报", 2), ("潮新闻", 2), ("浙江新闻客户端", 1), ("学习强国", 1), ("中国文明网", 1), ("人民网", 1),
]  # fmt: skip
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯健俊帆鹏辉鑫晨琳欣雪婷倩"
FESTIVALS = [
    (date(2026, 8, 19), "我们的节日·七夕", "七夕"),
    (date(2026, 9, 25), "我们的节日·中秋", "中秋"),
    (date(2026, 10, 1), "喜迎国庆", "国庆"),
    (date(2026, 10, 18), "我们的节日·重阳", "重阳"),
]
CHATTER = [
    "收到",
    "收到！",
    "收到👌",
    "好的👍",
    "好的",
    "收到，马上落实",
    "[强]",
    "[抱拳]",
    "👍👍",
    "辛苦了",
    "谢谢提醒",
]
STICKERS = {"wechat": "[动画表情]", "qq": "[表情]"}


@dataclass
class Member:
    """A group member: one platform account, one unit (or none), nicknames over time."""

    platform: str
    sender_id: str
    names: list[tuple[datetime, str]]
    unit: int | None  # index into UNITS; None for staff and for unresolvable senders
    staff: bool = False
    person: str = ""

    def name_at(self, when: datetime) -> str:
        current = self.names[0][1]
        for since, name in self.names:
            if when >= since:
                current = name
        return current


@dataclass
class Message:
    """One line of the JSONL output before message ids are assigned."""

    sent_at: datetime
    member: Member | None
    platform: str
    kind: str
    text: str | None = None
    image: str | None = None
    image_name: str | None = None
    from_self: bool = False
    has_id: bool = True
    extra: dict[str, object] = field(default_factory=dict)


class PhotoBook:
    """Generates distinct small JPEGs (seeded) and re-encoded near-copies for re-posts."""

    def __init__(self, rng: random.Random, out: Path | None, share_after: int | None = None) -> None:
        self.rng = rng
        self.out = out
        self.count = 0
        self.share_after = share_after  # for big generated files: reuse a pool instead of new photos
        self.pool: list[str] = []

    def new(self, day: date, banner: str | None = None) -> str:
        """A new photo; with ``banner``, that red banner hangs in it, as on most activity photos."""
        if self.share_after is not None and len(self.pool) >= self.share_after:
            return self.rng.choice(self.pool)
        self.count += 1
        name = f"images/{day:%Y%m%d}_{self.count:04d}.jpg"
        photo_seed = self.rng.getrandbits(32)  # drawn either way, so the JSONL never depends on --no-images
        if self.out is not None:
            photo_rng = random.Random(photo_seed)
            image = _draw(photo_rng)
            if banner is not None:
                image = _with_banner(image, banner, photo_rng)
            (self.out / name).write_bytes(_encode(image, photo_rng.randint(50, 66) + (10 if banner else 0)))
        self.pool.append(name)
        return name

    def repost(self, original: str, day: date, size: tuple[int, int]) -> str:
        """A re-encoded, slightly resized copy of an earlier photo (as a phone re-share produces)."""
        self.count += 1
        name = f"images/{day:%Y%m%d}_{self.count:04d}.jpg"
        if self.out is not None:
            image = Image.open(self.out / original).convert("RGB").resize(size, Image.Resampling.LANCZOS)
            (self.out / name).write_bytes(_encode(image, 60))
        return name


def _with_banner(image: Image.Image, banner: str, rng: random.Random) -> Image.Image:
    """The scene enlarged to a phone-photo size with a legible banner (CJK font from the dev install)."""
    from classifier.ocr import samples

    large = image.resize(BANNER_PHOTO_SIZE, Image.Resampling.BICUBIC)
    samples.hang_banner(large, banner, rng, share=rng.uniform(0.6, 0.85), rotation=rng.uniform(-2, 2), top=0.3)
    return large


BANNER_PHOTO_SIZE = (640, 480)
BANNERS = {
    "pairing": "{short}与{partner}结对共建活动",
    "practice": "{short}新时代文明实践活动",
    "volunteer": "{short}学雷锋志愿服务活动",
}


def _draw(rng: random.Random) -> Image.Image:
    """A 'photo': gradient sky, random shapes (banners, people-ish blobs), noise; distinct per seed."""
    width, height = PHOTO_SIZE
    top = [rng.randrange(256) for _ in range(3)]
    bottom = [rng.randrange(256) for _ in range(3)]
    image = Image.new("RGB", PHOTO_SIZE)
    draw = ImageDraw.Draw(image)
    vertical = rng.random() < 0.6
    span = height if vertical else width
    for i in range(span):
        t = i / span
        color = tuple(int(top[k] * (1 - t) + bottom[k] * t) for k in range(3))
        draw.line([(0, i), (width, i)] if vertical else [(i, 0), (i, height)], fill=color)
    if rng.random() < 0.4:  # a red banner, as on most activity photos
        y = rng.randint(5, 60)
        draw.rectangle([rng.randint(0, 60), y, rng.randint(240, 320), y + rng.randint(18, 34)], fill=(200, 20, 30))
    for _ in range(rng.randint(4, 11)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randint(12, 150), y0 + rng.randint(12, 110)
        color = tuple(rng.randrange(256) for _ in range(3))
        shape = rng.random()
        if shape < 0.45:
            draw.ellipse([x0, y0, x1, y1], fill=color)
        elif shape < 0.8:
            draw.rectangle([x0, y0, x1, y1], fill=color)
        else:
            draw.polygon([(rng.randrange(width), rng.randrange(height)) for _ in range(3)], fill=color)
    noise = Image.effect_noise(PHOTO_SIZE, rng.randint(15, 45)).convert("RGB")
    return Image.blend(image, noise, 0.12)


def _encode(image: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


class Generator:
    """Builds the whole three-month timeline."""

    def __init__(self, seed: int, out: Path | None, scale: int = 1, photo_pool: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.photos = PhotoBook(self.rng, out, photo_pool)
        self.messages: list[Message] = []
        self.members: list[Member] = []
        self.by_unit: dict[int, list[Member]] = {}
        self.partner = {i: self.rng.choice(PAIRED) for i in range(len(UNITS))}
        self.first_photo_of: dict[int, tuple[str, date]] = {}
        self._build_members()

    # ----- people -------------------------------------------------------------------------------------------
    def _person(self) -> str:
        name = self.rng.choice(SURNAMES) + self.rng.choice(GIVEN)
        return name + (self.rng.choice(GIVEN) if self.rng.random() < 0.5 else "")

    def _sender_id(self, platform: str) -> str:
        if platform == "qq":
            return str(self.rng.randint(10_000_000, 3_999_999_999))
        return "wxid_" + "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(14))

    def _nickname(self, unit: int, person: str) -> str:
        name, aliases, *_rest, short = UNITS[unit]
        style = self.rng.random()
        if style < 0.35:
            return f"{name}-{person}"
        if style < 0.7:
            return f"{short} {person}"
        if style < 0.9:
            return f"【{short}】{person}"
        return f"{self.rng.choice(aliases)}-{person}"

    def _add(self, member: Member) -> Member:
        self.members.append(member)
        if member.unit is not None:
            self.by_unit.setdefault(member.unit, []).append(member)
        return member

    def _build_members(self) -> None:
        begin = datetime.combine(START, time(0), CST)
        for unit, spec in enumerate(UNITS):
            if spec[5] == 0:  # the silent unit has nobody in either group who ever speaks
                continue
            count = 1 + (spec[5] >= 5) + (spec[5] >= 10 and self.rng.random() < 0.6)
            for k in range(count):
                platform = "wechat" if self.rng.random() < (0.7 if k == 0 else 0.4) else "qq"
                person = self._person()
                card = self._nickname(unit, person)
                self._add(Member(platform, self._sender_id(platform), [(begin, card)], unit, person=person))
        # nickname changes in mid-period: same account, new group card (the unit must stay attached)
        changes = [
            (1, datetime(2026, 9, 8, 9, tzinfo=CST), lambda p: f"长兴县人民医院-{p}"),
            (5, datetime(2026, 9, 15, 18, tzinfo=CST), lambda p: p),  # drops the unit from the card entirely
            (0, datetime(2026, 10, 9, 12, tzinfo=CST), lambda p: f"【县市场监管局】{p}（党建）"),
        ]
        for unit, when, rename in changes:
            member = self.by_unit[unit][0]
            member.names.append((when, rename(member.person)))
        self.staff = [
            self._add(Member("wechat", "wxid_wmb_xiaozheng01", [(begin, "县文明办-小郑")], None, staff=True)),
            self._add(Member("qq", "2851730046", [(begin, "长兴县文明办 郑书洋")], None, staff=True)),
            self._add(Member("wechat", "wxid_wmb_chenke2020", [(begin, "县文明办 陈可")], None, staff=True)),
        ]
        self.bot = {
            "wechat": Member("wechat", "wxid_wenming_bot", [(begin, "文明助手")], None, staff=True),
            "qq": Member("qq", "3920016688", [(begin, "文明助手")], None, staff=True),
        }
        self.strays = [
            self._add(Member("wechat", self._sender_id("wechat"), [(begin, "阳光明媚")], None)),
            self._add(Member("wechat", self._sender_id("wechat"), [(begin, "人民医院 陈晓")], None)),
            self._add(Member("qq", self._sender_id("qq"), [(begin, "县卫健局/县医院 刘洋")], None)),
            self._add(Member("qq", self._sender_id("qq"), [(begin, "长兴县科协-周敏")], None)),
        ]

    # ----- time ---------------------------------------------------------------------------------------------
    def _days(self) -> list[date]:
        return [START + timedelta(d) for d in range((END - START).days + 1)]

    def _work_time(self, day: date) -> datetime:
        if day.weekday() >= 5 or self.rng.random() < 0.12:
            hour = self.rng.choice([8, 10, 11, 15, 17, 19, 20, 21])
        else:
            hour = self.rng.choice([8, 9, 9, 10, 10, 11, 14, 15, 15, 16, 16, 17])
        return datetime.combine(day, time(hour, self.rng.randrange(60), self.rng.randrange(60)), CST)

    def _pick_day(self, month: int) -> date:
        days = [d for d in self._days() if d.month == month]
        weekdays = [d for d in days if d.weekday() < 5]
        return self.rng.choice(weekdays if self.rng.random() < 0.8 else days)

    # ----- content ------------------------------------------------------------------------------------------
    def _text(self, unit: int, day: date, label: str) -> str:
        name, _aliases, _level, category, _hc, _rate, me, short = UNITS[unit]
        rng = self.rng
        when = rng.choice(["", "上午", "下午"]) if rng.random() < 0.7 else "晚上"
        stated = day - timedelta(days=1) if rng.random() < 0.2 else day
        d = f"{stated.month}月{stated.day}日"
        n = rng.randint(8, 60)
        casual = rng.random() < 0.3
        festival = next((f for f in FESTIVALS if 0 <= (f[0] - day).days <= 6), None)
        if label == "practice":
            if festival and rng.random() < 0.7:
                theme, short_name = festival[1], festival[2]
                formal = (
                    f"{d}{when}，{me}新时代文明实践站开展“{theme}”主题活动，组织干部职工和群众{n}人"
                    f"{rng.choice(['包粽子、做月饼', '诵读经典诗词', '开展手工制作', '观看主题展演'])}，"
                    f"共度{short_name}佳节。"
                )
                doing = rng.choice(["做月饼", "唱红歌", "做手工"])
                chat = f"今天{short}搞了{short_name}活动，大家一起{doing}，很热闹😊"
            else:
                topic = rng.choice(
                    [
                        ("“学习贯彻党的二十届三中全会精神”专题宣讲", "理论宣讲"),
                        ("“诚信经营 守信践诺”诚信教育主题活动", "诚信教育"),
                        ("“文明餐桌 光盘行动”宣传教育", "文明餐桌"),
                        ("“移风易俗 树文明新风”主题宣讲", "移风易俗"),
                        ("“书香长兴”全民阅读分享会", "读书分享会"),
                        ("“最美家庭”故事分享会", "最美家庭分享"),
                        ("文明礼仪培训", "礼仪培训"),
                    ]
                )
                formal = (
                    f"【{name}】{d}{when}，{me}在{rng.choice(['会议室', '新时代文明实践站', '职工书屋', '党员活动室'])}"
                    f"组织开展{topic[0]}，{n}余名干部职工参加。活动进一步提升了干部职工的文明素养。"
                )
                chat = f"我们今天{when or '下午'}搞了个{topic[1]}，{n}个人参加，效果不错👍"
        elif label == "pairing":
            partner = self.partner[unit]
            task = rng.choice(["村庄环境整治", "产业发展", "矛盾纠纷调解", "文明乡风建设", "困难群众帮扶"])
            gift = rng.choice(["图书200册", "慰问金和生活物资", "办公设备一批", "健身器材", "防暑降温用品"])
            formal = (
                f"{d}{when}，{me}党员干部赴结对共建村（社区）{partner}开展结对共建活动，与村（社区）两委共商"
                f"{task}，并送去{gift}。{me}将持续深化结对共建，助力{partner}文明创建。"
            )
            chat = f"#结对共建# 今天去了结对的{partner}，跟村里聊了{task}的事，送了{gift}"
        elif label == "news":
            outlet = rng.choices([o for o, _ in OUTLETS], [w for _, w in OUTLETS])[0]
            title = rng.choice(
                [
                    f"{short}：“小切口”守护“大民生”",
                    f"志愿红点亮{self.partner[unit][-3:]}",
                    f"{short}：文明新风扑面来",
                    f"用心用情办好群众身边小事——{short}践行为民服务纪实",
                    f"{short}：让文明实践“活”起来",
                    "结对共建结出“共富果”",
                ]
            )
            formal = rng.choice(
                [
                    f"{me}报送的《{title}》被{outlet}录用。",
                    f"喜报：{short}撰写的通讯稿《{title}》于{d}在{outlet}刊发。",
                    f"【信息录用】{d}，{me}信息《{title}》被{outlet}采用。",
                ]
            )
            chat = f"我们的稿子上{outlet}了😄《{title}》"
        elif label == "volunteer":
            kind = rng.choice(["劝导", "清洁", "助老", "献血", "反诈", "义诊" if category == "医院" else "清洁"])
            hours = rng.choice([2, 2.5, 3, 4])
            formal, chat = {
                "劝导": (
                    f"{d}{when}，{me}志愿者{n}人在{rng.choice(CROSSINGS)}开展文明劝导志愿服务，"
                    f"劝导闯红灯、不戴头盔等不文明交通行为{rng.randint(10, 80)}起。",
                    f"今天早高峰在{rng.choice(CROSSINGS)}站岗做文明劝导，{n}个志愿者，辛苦了💪",
                ),
                "清洁": (
                    f"{d}{when}，{me}组织志愿者{n}人到{rng.choice(COMMUNITIES)}开展“清洁家园”志愿服务活动，"
                    f"清理卫生死角{rng.randint(5, 40)}处，服务时长{hours}小时。",
                    f"今天{n}个志愿者去{rng.choice(COMMUNITIES)}捡垃圾、清理小广告，天太热了大家辛苦了",
                ),
                "助老": (
                    f"{d}{when}，{me}志愿者走进{rng.choice(NURSING)}开展“爱心助老”志愿服务，为老人理发、"
                    f"测血压、打扫卫生，陪老人聊天，服务老人{n}人次。",
                    f"我们去{rng.choice(NURSING)}看望老人了，给老人理发量血压❤️",
                ),
                "献血": (
                    f"{d}，{me}组织干部职工参加无偿献血志愿服务活动，{n}人成功献血，"
                    f"共计{n * rng.choice([200, 300, 400])}毫升。",
                    f"今天单位组织献血，{n}个人献了，为大家点赞👍",
                ),
                "反诈": (
                    f"{d}{when}，{me}志愿者在{rng.choice(COMMUNITIES)}开展反诈宣传志愿服务，"
                    f"发放宣传资料{rng.randint(100, 800)}份，现场解答群众咨询。",
                    f"下午在{rng.choice(COMMUNITIES)}摆摊搞反诈宣传，发了好几百份资料",
                ),
                "义诊": (
                    f"{d}{when}，{me}医务志愿者赴{self.partner[unit]}开展义诊志愿服务，为村民测血压、测血糖、"
                    f"提供健康咨询{n * 3}人次。",
                    f"今天医生们下村义诊，来了{n * 3}个村民，忙了一上午",
                ),
            }[kind]
        else:
            formal = rng.choice(
                [
                    f"{d}{when}，{me}召开文明单位创建工作推进会，对下阶段重点任务进行部署。",
                    f"{d}，{me}开展文明创建自查，对办公区域环境卫生、公益广告设置等进行全面检查。",
                ]
            )
            chat = "今天开了文明创建推进会，布置了下一阶段的任务"
        text = chat if casual else formal
        if not casual and rng.random() < 0.15:
            text += f"（供稿：{short}）"
        return text

    # ----- traffic ------------------------------------------------------------------------------------------
    def _emit(self, **kwargs: object) -> Message:
        message = Message(**kwargs)  # type: ignore[arg-type]
        self.messages.append(message)
        return message

    def _photo_name(self, platform: str, at: datetime) -> str:
        if platform == "qq":
            hexes = "".join(self.rng.choice("0123456789ABCDEF") for _ in range(32))
            return f"{{{hexes[:8]}-{hexes[8:12]}-{hexes[12:16]}-{hexes[16:20]}-{hexes[20:]}}}.jpg"
        if self.rng.random() < 0.5:
            return f"mmexport{int(at.timestamp() * 1000) - self.rng.randint(0, 86_400_000)}.jpg"
        return f"IMG_{at:%Y%m%d_%H%M%S}.jpg"

    def _photo(self, member: Member, at: datetime, image: str | None = None, banner: str | None = None) -> None:
        name = image or self.photos.new(at.date(), banner)
        self._emit(
            sent_at=at,
            member=member,
            platform=member.platform,
            kind="image",
            image=name,
            image_name=self._photo_name(member.platform, at),
        )
        if member.unit is not None and member.unit not in self.first_photo_of:
            self.first_photo_of[member.unit] = (name, at.date())

    def report(self, member: Member, at: datetime, label: str, layout: str | None = None) -> None:
        """One activity report: text plus a burst of photos before or after it, or photos only."""
        rng = self.rng
        unit = member.unit if member.unit is not None else rng.randrange(len(UNITS))
        layout = (
            layout
            or rng.choices(
                ["text_then_photos", "photos_then_text", "text_only", "photos_only", "late_photo"],
                [52, 18, 16, 11, 3],
            )[0]
        )
        if label == "news" and layout != "photos_only":
            layout = rng.choice(["text_only", "text_only", "text_then_photos"])
        count = rng.choice([1, 1, 2, 2, 2, 3, 3, 4, 6]) if layout != "photos_only" else rng.randint(1, 4)
        if layout == "photos_then_text":
            t = at
            for _ in range(count):
                self._photo(member, t)
                t += timedelta(seconds=rng.randint(3, 40))
            t += timedelta(seconds=rng.randint(30, 420))
            self._emit(
                sent_at=t,
                member=member,
                platform=member.platform,
                kind="text",
                text=self._text(unit, at.date(), label),
            )
            return
        if layout != "photos_only":
            self._emit(
                sent_at=at,
                member=member,
                platform=member.platform,
                kind="text",
                text=self._text(unit, at.date(), label),
            )
        if layout == "text_only":
            return
        t = at + timedelta(seconds=rng.randint(5, 240))
        banner = self._banner(unit, label) if layout == "photos_only" else None
        for k in range(count):
            self._photo(member, t, banner=banner if k == 0 else None)
            t += timedelta(seconds=rng.randint(2, 45))
        if layout == "late_photo":  # one more photo well outside the assembly window
            self._photo(member, t + timedelta(minutes=rng.randint(16, 40)))

    def _banner(self, unit: int, label: str) -> str | None:
        """What the banner in a photo-only report's first photo says (no random draws: the JSONL stays put)."""
        template = BANNERS.get(label)
        if template is None:
            return None
        partner = self.partner[unit].split("镇")[-1].split("乡")[-1].split("街道")[-1]
        return template.format(short=UNITS[unit][7], partner=partner)

    def unit_reports(self) -> None:
        for unit, spec in enumerate(UNITS):
            rate = spec[5]
            members = self.by_unit.get(unit, [])
            if not members:
                continue
            for month in (8, 9, 10):
                n = max(0, round(self.rng.gauss(rate, rate * 0.25))) if rate >= 2 else int(self.rng.random() < rate)
                if rate == 2:  # "barely meeting" units post exactly the minimum
                    n = 2
                for _ in range(n * self.scale):
                    member = self.rng.choice(members)
                    label = self.rng.choices(
                        ["practice", "pairing", "news", "volunteer", "other"], [30, 17, 18, 30, 5]
                    )[0]
                    self.report(member, self._work_time(self._pick_day(month)), label)

    def flood(self) -> None:
        """The water company posts nine times in one Saturday: a 'clean home' campaign, photo by photo."""
        unit = next(i for i, u in enumerate(UNITS) if u[0] == "长兴县自来水有限公司")
        member = self.by_unit[unit][0]
        at = datetime(2026, 9, 19, 8, 12, tzinfo=CST)
        for k in range(9):
            self.report(member, at, "volunteer", layout="text_then_photos" if k % 3 else "text_only")
            at += timedelta(minutes=self.rng.randint(25, 70))

    def reposts(self) -> None:
        """Re-posted evidence: the same photo re-encoded a month later by its unit, and by another unit."""
        for unit, other, size in [(0, 25, (304, 228)), (16, 17, (300, 225)), (22, 22, (316, 237))]:
            if unit not in self.first_photo_of:
                continue
            original, day = self.first_photo_of[unit]
            member = self.by_unit[unit][0]
            at = self._work_time(day + timedelta(days=self.rng.randint(28, 35)))
            later = self.photos.repost(original, at.date(), size)
            self._emit(
                sent_at=at,
                member=member,
                platform=member.platform,
                kind="text",
                text=self._text(unit, at.date(), "volunteer"),
            )
            self._photo(member, at + timedelta(seconds=40), later)
            if other != unit and other in self.by_unit:
                poser = self.by_unit[other][0]
                at2 = self._work_time(day + timedelta(days=self.rng.randint(50, 60)))
                third = self.photos.repost(original, at2.date(), (312, 234))
                self._emit(
                    sent_at=at2,
                    member=poser,
                    platform=poser.platform,
                    kind="text",
                    text=self._text(other, at2.date(), "volunteer"),
                )
                self._photo(poser, at2 + timedelta(seconds=25), third)

    def strays_post(self) -> None:
        """Senders whose card names no unit, or two: their reports wait in the unassigned queue."""
        for member in self.strays:
            for _ in range(self.rng.randint(2, 4) * self.scale):
                at = self._work_time(self._pick_day(self.rng.choice([8, 9, 10])))
                self.report(member, at, self.rng.choice(["volunteer", "practice", "news"]))

    def notices(self) -> None:
        """Office notices, each followed by a wave of '收到'; the bot's monthly summary; system lines."""
        rng = self.rng
        topics = [
            "请各文明单位于{d}前报送上月志愿服务活动开展情况，逾期视为未报送。",
            "【通知】关于开展“{f}”主题活动的通知已发至各单位邮箱，请认真组织，活动结束后及时在群内报送。",
            "提醒：本月省文明单位动态测评即将开始，请各单位对照测评细则做好自查，重点关注公益广告设置情况。",
            "请各单位联络员核对群昵称，统一修改为“单位全称-姓名”格式，便于统计。",
            "各位联络员：本周六上午8:30在人民广场开展文明劝导集中行动，请各单位至少安排2名志愿者参加。",
            "@所有人 今年第三季度文明单位考核材料请于{d}前报送至县文明办，联系电话6620XXXX。",
            "温馨提示：报送活动请“文字+图片”一起发，文字写清时间、地点、参与人数，图片3张以内。",
        ]
        for day in self._days():
            if day.weekday() >= 5 or rng.random() > 0.5:
                continue
            for _ in range(self.scale):
                staff = rng.choice(self.staff)
                at = datetime.combine(day, time(rng.choice([8, 9, 10, 14, 16]), rng.randrange(60)), CST)
                deadline = day + timedelta(days=rng.randint(3, 7))
                festival = next((f[1] for f in FESTIVALS if f[0] >= day), "文明实践")
                text = rng.choice(topics).format(d=f"{deadline.month}月{deadline.day}日", f=festival)
                self._emit(sent_at=at, member=staff, platform=staff.platform, kind="text", text=text)
                pool = [m for m in self.members if m.platform == staff.platform and not m.staff]
                for replier in rng.sample(pool, min(len(pool), rng.randint(10, 30))):
                    at += timedelta(seconds=rng.randint(10, 900))
                    if rng.random() < 0.15:
                        self._emit(
                            sent_at=at,
                            member=replier,
                            platform=replier.platform,
                            kind="sticker",
                            text=STICKERS[replier.platform],
                            extra={"payload": {"type": "sticker"}},
                        )
                    else:
                        self._emit(
                            sent_at=at,
                            member=replier,
                            platform=replier.platform,
                            kind="text",
                            text=rng.choice(CHATTER),
                        )
        for month, day in [(8, date(2026, 9, 1)), (9, date(2026, 10, 8)), (10, date(2026, 10, 31))]:
            for platform in ("wechat", "qq"):
                bot = self.bot[platform]
                at = datetime.combine(day, time(9, 0), CST)
                self._emit(
                    sent_at=at,
                    member=bot,
                    platform=platform,
                    kind="text",
                    from_self=True,
                    text=f"【{month}月报送情况】本月各单位报送的活动已汇总，请各单位登录系统核对，如有遗漏请联系县文明办。",
                )

    def chatter(self) -> None:
        """Everyday noise: thanks, stickers, a staff 'like' after some reports, joins and recalls."""
        rng = self.rng
        reports = [m for m in self.messages if m.kind == "text" and m.member and not m.member.staff]
        for message in rng.sample(reports, len(reports) // 8):
            staff = next(s for s in self.staff if s.platform == message.platform)
            at = message.sent_at + timedelta(minutes=rng.randint(2, 50))
            self._emit(
                sent_at=at,
                member=staff,
                platform=staff.platform,
                kind="text",
                text=rng.choice(["👍", "点赞👍", "[强]", "很好，继续保持"]),
            )
        talkers = [m for m in self.members if not m.staff]
        for day in self._days():
            for _ in range(rng.randint(2, 7) * self.scale):
                member = rng.choice(talkers)
                at = self._work_time(day)
                if rng.random() < 0.3:
                    self._emit(
                        sent_at=at,
                        member=member,
                        platform=member.platform,
                        kind="sticker",
                        text=STICKERS[member.platform],
                        extra={"payload": {"type": "sticker"}},
                    )
                else:
                    self._emit(
                        sent_at=at,
                        member=member,
                        platform=member.platform,
                        kind="text",
                        text=rng.choice(["好的", "谢谢", "👌", "收到", "了解", "[微笑]", "明白"]),
                    )
        for member in rng.sample(talkers, 6):  # mistakes, recalled a minute later
            at = self._work_time(self._pick_day(rng.choice([8, 9, 10])))
            wrong = self._emit(
                sent_at=at,
                member=member,
                platform=member.platform,
                kind="text",
                text=rng.choice(["晚上六点半老地方见", "妈，我今天加班晚点回", "这个表格明天再改"]),
            )
            self._emit(
                sent_at=at + timedelta(seconds=50),
                member=member,
                platform=member.platform,
                kind="recall",
                text=None,
                extra={"payload": {"recalled": id(wrong)}},
            )
        for member in rng.sample(talkers, 8):
            at = self._work_time(self._pick_day(rng.choice([8, 9])))
            group = "群聊" if member.platform == "wechat" else "本群"
            text = (
                f'"{member.name_at(at)}"通过扫描二维码加入{group}'
                if member.platform == "wechat"
                else f"{member.name_at(at)} 加入了{group}"
            )
            self._emit(
                sent_at=at,
                member=None,
                platform=member.platform,
                kind="system",
                text=text,
                has_id=member.platform == "qq",
            )

    def build(self) -> list[Message]:
        self.unit_reports()
        self.flood()
        self.reposts()
        self.strays_post()
        self.notices()
        self.chatter()
        self.messages.sort(key=lambda m: (m.sent_at, m.platform))
        return self.messages


def _lines(messages: list[Message], rng: random.Random) -> Iterator[dict[str, object]]:
    """Assign platform message ids in time order and shape each message as a JSONL object."""
    qq_id = 1_836_402
    ids: dict[int, str] = {}
    seen_wechat: set[str] = set()
    for message in messages:
        if message.platform == "qq":
            qq_id += rng.randint(1, 40)
            mid = str(qq_id)
        else:
            mid = str(rng.randint(10**18, 9 * 10**18))
            while mid in seen_wechat:
                mid = str(rng.randint(10**18, 9 * 10**18))
            seen_wechat.add(mid)
        ids[id(message)] = mid
        platform, group_id, group_name = WECHAT_GROUP if message.platform == "wechat" else QQ_GROUP
        line: dict[str, object] = {
            "platform": platform,
            "group_id": group_id,
            "group_name": group_name,
            "sender_id": message.member.sender_id if message.member else None,
            "sender_name": message.member.name_at(message.sent_at) if message.member else None,
            "message_id": mid if message.has_id else None,
            "sent_at": message.sent_at.isoformat(),
            "kind": message.kind,
        }
        if message.text is not None:
            line["text"] = message.text
        if message.image:
            line["image"] = message.image
            line["image_name"] = message.image_name
        if message.from_self:
            line["from_self"] = True
        payload = dict(message.extra.get("payload", {}))  # type: ignore[call-overload]
        if "recalled" in payload:
            line["recalls_message_id"] = ids.get(payload.pop("recalled"))  # type: ignore[arg-type]
        if payload:
            line["payload"] = payload
        yield line


def write_units(path: Path) -> None:
    """The roster, as an office would keep it (aliases separated by 、)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "aliases", "honour_level", "category", "headcount"])
        for name, aliases, level, category, headcount, *_ in UNITS:
            writer.writerow([name, "、".join(aliases), level, category, headcount])


def generate(
    out: Path,
    seed: int = SEED,
    scale: int = 1,
    photo_pool: int | None = None,
    limit: int | None = None,
    images: bool = True,
) -> int:
    """Write units.csv, messages.jsonl and images/ into ``out``; returns the number of messages written."""
    out.mkdir(parents=True, exist_ok=True)
    if images:
        if (out / "images").exists():
            shutil.rmtree(out / "images")
        (out / "images").mkdir()
    generator = Generator(seed, out if images else None, scale=scale, photo_pool=photo_pool)
    messages = generator.build()[:limit]
    write_units(out / "units.csv")
    with (out / "messages.jsonl").open("w", encoding="utf-8") as handle:
        for line in _lines(messages, random.Random(seed + 1)):
            handle.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(messages)


def main() -> None:
    parser = argparse.ArgumentParser(description="生成 Wenming 演示数据（虚构）")
    parser.add_argument("--out", type=Path, default=OUT_DEFAULT, help="输出目录（默认 demo/data）")
    parser.add_argument("--seed", type=int, default=SEED, help="随机种子")
    parser.add_argument("--scale", type=int, default=1, help="流量倍数（基准测试用）")
    parser.add_argument("--photo-pool", type=int, default=None, help="最多生成多少张不同的图片，其余复用")
    parser.add_argument("--limit", type=int, default=None, help="最多写出多少条消息（按时间顺序截取）")
    parser.add_argument("--no-images", action="store_true", help="只写名册和消息，不生成图片")
    args = parser.parse_args()
    count = generate(args.out, args.seed, args.scale, args.photo_pool, args.limit, images=not args.no_images)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"已生成 {count} 条消息，共 {size / 1024 / 1024:.1f} MB：{args.out}")


if __name__ == "__main__":
    main()
