"""Which recognised lines are banners or slide titles, what activity they name, and the facts they state."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from classifier.ocr.engine import OcrLine

# Words that make a line an activity banner rather than a shop sign, a poster's small print or a licence plate.
ACTIVITY_WORDS: tuple[str, ...] = (
    "活动",
    "志愿",
    "服务",
    "结对",
    "共建",
    "联建",
    "文明",
    "实践",
    "宣讲",
    "宣传",
    "讲座",
    "培训",
    "主题",
    "党日",
    "党建",
    "关爱",
    "慰问",
    "义诊",
    "义务",
    "献血",
    "清洁",
    "植树",
    "学习",
    "教育",
    "文化",
    "庆祝",
    "启动",
    "仪式",
    "座谈",
    "交流",
    "帮扶",
    "健康",
    "环保",
    "敬老",
    "助老",
    "普法",
    "诚信",
    "文艺",
    "演出",
    "走进",
    "进村",
    "进社区",
    "新时代",
)

# Keyword weights per label for the photo's own reading of the activity kind (an evidence signal, not the
# classifier): a banner saying 结对共建 outweighs the 志愿服务 that often follows it.
KIND_WORDS: dict[str, dict[str, float]] = {
    "pairing": {"结对": 3.0, "共建": 2.0, "联建": 2.0, "村企": 2.0, "结亲": 2.0, "手拉手": 1.5, "携手": 1.0},
    "practice": {
        "新时代文明实践": 3.0,
        "文明实践": 2.5,
        "实践站": 2.5,
        "实践所": 2.5,
        "实践中心": 2.5,
        "宣讲": 1.5,
        "移风易俗": 1.5,
        "理论": 1.0,
    },
    "volunteer": {
        "志愿": 2.0,
        "义诊": 2.0,
        "献血": 2.0,
        "义务": 1.5,
        "清洁": 1.0,
        "捡拾": 1.0,
        "关爱": 1.0,
        "敬老": 1.0,
        "助老": 1.0,
        "服务队": 1.0,
    },
    "news": {
        "日报": 3.0,
        "晚报": 3.0,
        "新闻": 2.0,
        "电视台": 2.5,
        "融媒体": 2.5,
        "学习强国": 2.5,
        "刊发": 2.0,
        "报道": 1.5,
        "记者": 1.5,
    },
}

_CJK = re.compile(r"[\u4e00-\u9fff]")
_PLACE = r"[\u4e00-\u9fff]{1,10}?(?:村|社区|街道|小区|居委会|学校|小学|中学|幼儿园|敬老院|福利院)"
_PARTNER_PATTERNS = (
    re.compile(rf"与({_PLACE})(?:开展|举行|举办|签订|党支部|党组织)?(?:[^，。]{{0,6}})?(?:结对|共建|联建)"),
    re.compile(rf"(?:结对|共建|联建|走进|进)(?:帮扶|共建|联建|走访)?({_PLACE})"),
    re.compile(rf"({_PLACE})(?:党支部)?(?:结对|共建|联建)"),
)

MIN_BANNER_CONFIDENCE = 0.85
MIN_BANNER_CHARS = 4
MIN_RELATIVE_HEIGHT = 0.04  # of the image's shorter side: 29 px on a 1280×720 photo
NEAR_LARGEST = 0.75  # a line this close in height to the image's largest line is a headline


@dataclass(frozen=True)
class ImageLines:
    """The lines read from one image with the image's size, which banner selection is relative to."""

    width: int
    height: int
    lines: Sequence[OcrLine]


def cjk_count(text: str) -> int:
    return len(_CJK.findall(text))


def has_activity_words(text: str) -> bool:
    return any(word in text for word in ACTIVITY_WORDS)


def banner_flags(image: ImageLines) -> list[bool]:
    """Per line: large, confident, Chinese, and naming an activity: a banner, slide title or sign."""
    if not image.lines:
        return []
    largest = max(line.height for line in image.lines)
    shorter_side = max(min(image.width, image.height), 1)
    flags = []
    for line in image.lines:
        large = line.height >= MIN_RELATIVE_HEIGHT * shorter_side or (
            line.height >= NEAR_LARGEST * largest and line.width >= 0.25 * image.width
        )
        flags.append(
            large
            and line.confidence >= MIN_BANNER_CONFIDENCE
            and cjk_count(line.text) >= MIN_BANNER_CHARS
            and has_activity_words(line.text)
        )
    return flags


def kind_scores(texts: Iterable[str]) -> dict[str, float]:
    joined = "\n".join(texts)
    scores = {label: sum(w for word, w in words.items() if word in joined) for label, words in KIND_WORDS.items()}
    return {label: score for label, score in scores.items() if score > 0}


def kind_of(texts: Iterable[str]) -> str | None:
    """The activity kind the words name most strongly, or None when they name none."""
    scores = kind_scores(texts)
    if not scores:
        return None
    return max(sorted(scores), key=lambda label: scores[label])


def extract_partner(texts: Iterable[str]) -> str | None:
    """The village, community or school a pairing banner names (与城东村结对共建 → 城东村)."""
    for text in texts:
        compact = re.sub(r"\s+", "", text)
        for pattern in _PARTNER_PATTERNS:
            match = pattern.search(compact)
            if match:
                return _trim_partner(match.group(1))
    return None


def _trim_partner(name: str) -> str:
    """Drop a leading unit or verb fragment the lazy match may have kept (…局与城东村 → 城东村)."""
    for separator in ("与", "和", "同", "走进", "进"):
        if separator in name:
            name = name.rsplit(separator, 1)[-1]
    return name
