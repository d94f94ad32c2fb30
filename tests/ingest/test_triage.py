"""Chatter triage: plain acknowledgements stay messages; anything that may be an activity is a candidate."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from ingest.models import MessageReason
from ingest.resolution import UnitMatcher
from ingest.triage import triage_text

CORPUS = Path(__file__).resolve().parents[2] / "classifier" / "data" / "corpus"
ACTIVITY_LABELS = {"practice", "pairing", "volunteer", "news"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("收到", MessageReason.ACK),
        ("收到！", MessageReason.ACK),
        ("好的👍", MessageReason.ACK),
        ("OK", MessageReason.ACK),
        ("收到，马上落实", MessageReason.ACK),
        ("已报送", MessageReason.ACK),
        ("@王芳 收到收到", MessageReason.ACK),
        ("好的，陈老师", MessageReason.ACK),
        ("谢谢", MessageReason.THANKS),
        ("謝謝提醒", MessageReason.THANKS),
        ("辛苦了🌹", MessageReason.THANKS),
        ("感谢刘主任", MessageReason.THANKS),
        ("请问季度表发到哪个邮箱？", MessageReason.QUESTION),
        ("报送截止是哪天?", MessageReason.QUESTION),
        ("@李明 台账表格你收到了吗", MessageReason.QUESTION),
        ("大家早上好", MessageReason.GREETING),
        ("祝各位中秋快乐，阖家团圆！", MessageReason.GREETING),
        ("端午安康🎋", MessageReason.GREETING),
        ("👍👍👍", MessageReason.EMOJI),
        ("[强][强]", MessageReason.EMOJI),
        ("[抱拳]🙏", MessageReason.EMOJI),
    ],
)
def test_chatter_stays_a_message(text: str, reason: MessageReason) -> None:
    verdict = triage_text(text)
    assert not verdict.candidate and verdict.reason is reason


@pytest.mark.parametrize(
    "text",
    [
        "县医院与城南社区签订共建协议",
        "今天的志愿活动",
        "重阳节走进敬老院",
        "我们的节日·端午",
        "收到县妇联赠送的图书一批，已分发到社区书屋",
        "谢谢大家参加今天的志愿活动",
        "感谢城南社区志愿者一早清理河道",
        "我局开展反诈宣传，大家都参加了吗？",
        "好消息！我局通讯稿被湖州日报录用",
        "[分享] 长兴县人民医院：健康义诊进乡村",
        "https://mp.weixin.qq.com/s/AbCdEf123",
        "10月12日上午，县市场监管局在金陵社区开展食品安全宣传",
        "活动照片如上",
        "县市场监管局",
    ],
)
def test_possible_activities_are_candidates(text: str) -> None:
    assert triage_text(text).candidate


def test_unit_names_do_not_make_an_acknowledgement_a_candidate() -> None:
    matcher = UnitMatcher([(1, "长兴县人力资源和社会保障局", ["县人社局"])])
    text = "长兴县人力资源和社会保障局收到"
    assert triage_text(text).candidate  # without knowing the unit, a long remainder is kept
    verdict = triage_text(text, matcher.strip)
    assert not verdict.candidate and verdict.reason is MessageReason.ACK


def test_empty_text_is_not_a_candidate() -> None:
    assert triage_text("  ").reason is MessageReason.EMPTY


def test_no_activity_text_of_the_classifier_corpus_is_dropped() -> None:
    """False drops measured on the classifier's labelled corpus (texts this module was not written from)."""
    dropped: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["label"] in ACTIVITY_LABELS:
                seen[row["label"]] += 1
                if not triage_text(row["text"]).candidate:
                    dropped[row["label"]] += 1
    assert sum(seen.values()) > 700
    assert dropped == Counter(), f"activity texts judged chatter: {dict(dropped)}"
