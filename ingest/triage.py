"""Fast rule-based triage: may a text be an activity report, or is it plainly chatter that stays a message?

Conservative by design: a text is chatter only when the whole of it is explained by one of a few shapes —
an acknowledgement (收到/好的/👍/ok), thanks, a short question, a greeting or festive wish, or nothing but emoji.
Anything else, however short ("今天的志愿活动", "县医院与城南社区签订共建协议"), stays a candidate and goes to the
classifier. Link shares are always candidates: a unit sharing its own article is news.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from ingest.models import MessageReason

# Traditional forms of the characters the vocabulary below uses (exports and phones mix scripts).
_T2S = str.maketrans(
    "謝請問嗎麼樂節們報發這個馬實閱辦點讚給謹遵執運輸單縣區員會議幫務願參與織舉簽訂慰訪問講義導闆師領導員滿順歲門開們過動態應該還沒級",
    "谢请问吗么乐节们报发这个马实阅办点赞给谨遵执运输单县区员会议帮务愿参与织举签订慰访问讲义导板师领导员满顺岁门开们过动态应该还没级",
)
_URL = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
_MENTION = re.compile(r"@[^\s\u2005@]{1,30}[\s\u2005]?")
# Emoticon codes WeChat and QQ put into text ([强], [OK], [玫瑰]); content markers are kept.
_EMOTICON = re.compile(r"\[([^\[\]\s]{1,6})\]")
_CONTENT_MARKERS = {"分享", "图片", "链接", "视频", "文件", "语音", "位置", "名片", "小程序", "圖片", "鏈接", "視頻"}

MAX_CHATTER_CHARS = 40  # a longer text is never judged chatter
MAX_RESIDUAL_CHARS = 8  # what may be left after the chatter vocabulary: a person's name, "县民政局"

_ACK = (
    "已收到", "收到", "好的", "好滴", "好哒", "好嘞", "好勒", "好", "嗯嗯", "嗯", "哦", "噢", "okay", "ok", "okk",
    "明白", "了解", "知道了", "知道", "遵照执行", "照办", "落实", "安排", "执行", "已阅", "阅", "已读", "没问题",
    "可以", "行", "对的", "是的", "已报送", "已上报", "已提交", "已发送", "已发", "已交", "已上传", "请查收", "查收",
    "赞", "点赞", "太棒了", "真棒", "很棒", "棒", "很好", "给力", "厉害", "继续保持", "+1", "1",
)  # fmt: skip
_THANKS = (
    "谢谢", "感谢", "多谢", "谢啦", "谢了", "蟹蟹", "辛苦了", "辛苦", "感恩", "麻烦了", "费心了", "thanks", "thank",
    "thx",
)  # fmt: skip
_GREETING = (
    "早上好", "早安", "上午好", "中午好", "下午好", "晚上好", "晚安", "大家好", "各位好", "你好", "您好", "新年好",
    "过年好", "快乐", "安康", "大吉", "如意", "顺利", "健康", "幸福", "团圆", "吉祥", "平安", "喜乐", "心想事成",
    "恭喜发财", "祝福", "祝",
)  # fmt: skip
# Words that never make a text more than chatter on their own: people, festivals, particles.
_FILLER = (
    "各位", "大家", "老师", "领导", "同志", "主任", "书记", "部长", "局长", "亲们", "亲", "你们", "您", "你", "我们",
    "我", "马上", "立即", "立刻", "一定", "及时", "尽快", "按时", "抓紧", "认真", "提醒", "新年", "新春", "春节",
    "元旦", "元宵", "中秋", "国庆", "端午", "重阳", "七夕", "劳动", "五一", "妇女", "教师", "佳节", "节日", "节",
    "阖家", "合家", "全家", "工作", "身体", "万事", "哈哈", "哈", "了", "啦", "呀", "啊", "的", "吧", "呢", "哒",
    "滴", "嘞", "咯", "哟", "都", "也", "已", "请", "再", "们",
)  # fmt: skip
_VOCABULARY: tuple[tuple[str, MessageReason | None], ...] = tuple(
    sorted(
        [(w, MessageReason.ACK) for w in _ACK]
        + [(w, MessageReason.THANKS) for w in _THANKS]
        + [(w, MessageReason.GREETING) for w in _GREETING]
        + [(w, None) for w in _FILLER],
        key=lambda item: -len(item[0]),
    )
)
# Any of these in a text means it talks about doing something: keep it a candidate.
_ACTIVITY = re.compile(
    "活动|开展|举办|举行|组织|召开|签订|签署|协议|共建|结对|志愿|服务|慰问|走访|看望|走进|宣讲|宣传|讲座|讲堂|培训|"
    "学习|实践|文明|义诊|义剪|献血|捐赠|捐款|赠送|清理|清扫|劝导|帮扶|参观|参加|参与|主题|党日|党建|报道|刊发|录用|"
    "刊登|播出|转载|发布|新闻|文章|稿件|课堂|比赛|竞赛|演出|展览|展示|检查|巡河|巡查|救援|演练|防控|防范|反诈|"
    "垃圾分类|敬老|助老|关爱|入户|进社区|进校园|进村"
)
# A question that names an activity being done is kept: "我局开展了…，你参加了吗？"
_DOING = re.compile("开展|举办|举行|召开|签订|签署|慰问|走访|看望|走进|义诊|宣讲|组织了|参加了|来到")
_QUESTION_END = re.compile(r"[?？]$")
_QUESTION_PARTICLE = re.compile("(吗|么|嘛|呢)$")
_QUESTION_START = ("请问", "问一下", "请教", "问下", "想问")


@dataclass(frozen=True)
class Verdict:
    """Whether a text may be an activity report; when not, why it stays a message."""

    candidate: bool
    reason: MessageReason | None = None


CANDIDATE = Verdict(candidate=True)


def _strip_symbols(text: str) -> str:
    """Drop emoji, emoticon codes, punctuation and spaces: what is left is the words."""
    text = _EMOTICON.sub(lambda m: m.group(0) if m.group(1) in _CONTENT_MARKERS else "", text)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category[0] in "PZC" or category in ("So", "Sk", "Sm", "Mn", "Me"):
            continue
        kept.append(char)
    return "".join(kept)


def normalize(text: str) -> str:
    """Width, case and script folded, mentions removed (who is addressed says nothing about the content)."""
    folded = unicodedata.normalize("NFKC", text).lower().translate(_T2S)
    return _MENTION.sub(" ", folded).strip()


def _residual(core: str) -> tuple[str, MessageReason | None]:
    """Remove chatter vocabulary; return what is left and the category of the first word removed."""
    hits: list[tuple[int, MessageReason]] = []
    rest = core
    for word, reason in _VOCABULARY:
        start = rest.find(word)
        while start != -1:
            if reason is not None:
                hits.append((start, reason))
            rest = rest[:start] + "\x00" * len(word) + rest[start + len(word) :]
            start = rest.find(word)
    first = min(hits)[1] if hits else None
    return rest.replace("\x00", ""), first


def _is_question(words: str, core: str) -> bool:
    if len(core) > MAX_CHATTER_CHARS or _DOING.search(core):
        return False
    return bool(_QUESTION_END.search(words) or _QUESTION_PARTICLE.search(core) or core.startswith(_QUESTION_START))


def triage_text(text: str | None, strip_names: Callable[[str], str] | None = None) -> Verdict:
    """Candidate unless the whole text is an acknowledgement, thanks, a question, a greeting or only emoji.

    ``strip_names`` removes known unit names, so "长兴县人力资源和社会保障局收到" reads as "收到".
    """
    if not text or not text.strip():
        return Verdict(candidate=False, reason=MessageReason.EMPTY)
    if _URL.search(text) or text.lstrip().startswith("[分享]"):
        return CANDIDATE
    words = normalize(text)
    core = _strip_symbols(words)
    if core and strip_names is not None:
        core = strip_names(core) or core  # a bare unit name is not chatter vocabulary: it stays a candidate
    if not core:
        return Verdict(candidate=False, reason=MessageReason.EMOJI)
    if len(core) > MAX_CHATTER_CHARS:
        return CANDIDATE
    # the words with their own punctuation, for a trailing question mark after emoji were dropped
    spoken = re.sub(r"[\s\u2005]+", "", _EMOTICON.sub("", "".join(c for c in words if unicodedata.category(c) != "So")))
    if _is_question(spoken, core):
        return Verdict(candidate=False, reason=MessageReason.QUESTION)
    if _ACTIVITY.search(core):
        return CANDIDATE
    rest, reason = _residual(core)
    if reason is None or len(rest) > MAX_RESIDUAL_CHARS:
        return CANDIDATE
    return Verdict(candidate=False, reason=reason)
