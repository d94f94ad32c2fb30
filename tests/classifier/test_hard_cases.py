"""The kinds of real text issue 12 saw fail, on texts written here (not taken from any corpus file)."""

from __future__ import annotations

import pytest

from classifier.service import classify_text
from wenming.settings import Settings


@pytest.mark.parametrize(
    "text",
    [
        "央视新闻频道聚焦我县农村垃圾分类“三步走”",
        "三十余家中央和省级媒体集中报道我市文明城市创建成果",
        "我院宣传报道工作获全市卫生健康系统表彰",
        "本报讯（记者 陈晓）第九届县新闻奖获奖作品日前揭晓，我局两件作品上榜",
        "报送4月通讯稿2篇，其中《护河人》已被市报刊发",
    ],
)
def test_media_coverage_of_the_unit_is_news(settings: Settings, text: str) -> None:
    assert classify_text(text, settings=settings).label == "news"


@pytest.mark.parametrize(
    "text",
    [
        "局机关党支部与桃园社区党委联合开展“红色家园”主题活动",
        "县自然资源局主动与上湾村共建帮扶，商定今年三件实事",
        "在职党员回居住地社区双报到，认领群众微心愿",
        "县供电公司与青山村签订党建联建协议",
    ],
)
def test_joint_work_with_a_village_or_community_is_pairing(settings: Settings, text: str) -> None:
    assert classify_text(text, settings=settings).label == "pairing"


@pytest.mark.parametrize(
    "text",
    [
        "开展“清河有我”助力活动，党员干部下河捞垃圾",
        "职工来到敬老院，帮老人洗头剪指甲、打扫房间",
        "早高峰在十字路口引导行人走斑马线",
        "单位组织爱心献血，32人参加",
    ],
)
def test_helping_without_the_word_volunteer_is_volunteer(settings: Settings, text: str) -> None:
    result = classify_text(text, settings=settings)
    assert "志愿" not in text and result.label == "volunteer"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("非遗剪纸进课堂", "practice"),
        ("“好家风”故事会开讲啦", "practice"),
        ("结对村送春联", "pairing"),
        ("党建联建签约仪式", "pairing"),
        ("又上电视啦[图片]", "news"),
        ("稿子被省报录用了👍", "news"),
        ("义剪进社区", "volunteer"),
        ("路口文明劝导", "volunteer"),
        ("收到", "other"),
        ("请问台账发哪个邮箱？", "other"),
    ],
)
def test_short_texts_keep_their_label(settings: Settings, text: str, label: str) -> None:
    """Under 20 characters is not a reason for 其他."""
    assert len(text) < 20
    assert classify_text(text, settings=settings).label == label


def test_notices_about_activities_stay_other(settings: Settings) -> None:
    assert classify_text("请各单位于周五前报送本季度志愿服务时长统计表", settings=settings).label == "other"
    assert classify_text("本周六结对共建活动改期，具体时间另行通知", settings=settings).label == "other"
