"""Facts staff rely on for scoring: outlet level, partner village, participants, hours, activity date."""

from __future__ import annotations

from datetime import date

import pytest

from classifier import facts
from classifier.service import classify_text
from classifier.text import normalize
from wenming.settings import Settings

OUTLETS = facts.OutletTable.load()
POSTED = date(2026, 4, 25)


@pytest.mark.parametrize(
    ("text", "outlet", "level"),
    [
        ("我局报送的《文明劝导暖人心》被长兴发布录用", "长兴发布", "county"),
        ("喜报！《小巷里的红马甲》被长兴文明网采用", "长兴文明网", "county"),
        ("我单位信息《共建结硕果》被湖州日报刊发", "湖州日报", "city"),
        ("《村里来了红马甲》一文被湖州文明网转载", "湖州文明网", "city"),
        ("我们的稿件《好家风代代传》在浙江日报刊登", "浙江日报", "province"),
        ("浙江新闻客户端录用我局《清洁家园在行动》", "浙江新闻", "province"),
        ("稿件《诚信兴商》被浙江文明网录用", "浙江文明网", "province"),
        ("我局《志愿服务进万家》被人民网转载", "人民网", "central"),
        ("新华网采用了县医院《义诊进村》一文", "新华网", "central"),
        ("《文明实践在身边》被中国文明网录用", "中国文明网", "central"),
        ("央视新闻报道了我县志愿者的事迹，稿件《守护》被录用", "央视新闻", "central"),
        ("稿件被学习强国浙江学习平台录用", "学习强国浙江学习平台", "province"),
        ("稿件被学习强国录用", "学习强国", "central"),
        ("《文明新风》同时被湖州日报和人民日报录用", "人民日报", "central"),  # the highest level counts
        ("我们单位稿子被长兴日报刊发了", "长兴日报", "county"),  # not in the table: level from the name
        ("稿件被浙江工人日报录用", "浙江工人日报", "province"),
    ],
)
def test_outlet_and_level(settings: Settings, text: str, outlet: str, level: str) -> None:
    result = classify_text(text, settings=settings)
    assert result.label == "news"
    assert result.facts["outlet"] == outlet
    assert result.facts["outlet_level"] == level


def test_article_title_comes_from_the_adoption_notice(settings: Settings) -> None:
    result = classify_text("我局报送的《县水利局“好家风”见行见效》被湖州日报录用", settings=settings)
    assert result.facts["article_title"] == "县水利局“好家风”见行见效"


@pytest.mark.parametrize(
    ("text", "partner"),
    [
        ("县市场监管局与城南村开展结对共建活动", "城南村"),
        ("县税务局赴结对村长兴县和平镇城南村开展共建", "和平镇城南村"),
        ("12月28日，县局赴共建村溪口村开展活动", "溪口村"),
        ("我们单位和雉城社区结对共建，今天开了座谈会", "雉城社区"),
        ("县局与和平村结对共建", "和平村"),
        ("县人民医院到共建社区龙山社区开展结对共建活动", "龙山社区"),
        ("党支部与八都岕村党支部开展支部共建", "八都岕村"),
        ("走进结对的金村村送去慰问品", "金村村"),
        ("与雉城街道长海社区结对共建", "雉城街道长海社区"),
    ],
)
def test_partner_village_or_community(text: str, partner: str) -> None:
    assert facts.find_partner(normalize(text)) == partner


def test_no_partner_without_a_pairing_cue() -> None:
    found = facts.extract(normalize("志愿者来到城南村开展清洁家园"), OUTLETS, POSTED, news_like=False)
    assert "partner" not in found


@pytest.mark.parametrize(
    ("text", "participants"),
    [
        ("县局组织志愿者20余名开展文明劝导", 20),
        ("20余名志愿者参加了活动", 20),
        ("参与人数：35人", 35),
        ("共计15人参加", 15),
        ("二十余名党员干部参加", 20),
        ("组织 12 名职工", 12),
        ("县局开展读书会", None),
        ("发放宣传资料500份", None),
    ],
)
def test_participants(text: str, participants: int | None) -> None:
    assert facts.find_participants(normalize(text)) == participants


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("服务时长3小时", 3.0),
        ("志愿服务时长2.5小时", 2.5),
        ("历时两个半小时", 2.5),
        ("累计服务时长达60小时", 60.0),
        ("服务了3个小时", 3.0),
        ("志愿时长：1.5h", 1.5),
        ("开展了一次活动", None),
    ],
)
def test_volunteer_hours(text: str, hours: float | None) -> None:
    assert facts.find_hours(normalize(text)) == hours


@pytest.mark.parametrize(
    ("text", "posted", "expected"),
    [
        ("4月20日上午，县局开展活动", date(2026, 4, 25), date(2026, 4, 20)),
        ("12月28日，县局开展活动", date(2026, 1, 3), date(2025, 12, 28)),  # year inferred backwards
        ("2025年11月3日开展活动", date(2026, 4, 25), date(2025, 11, 3)),
        ("4.20 上午 开展活动", date(2026, 4, 25), date(2026, 4, 20)),
        ("昨天我们去了敬老院", date(2026, 4, 25), date(2026, 4, 24)),
        ("4月31日开展活动", date(2026, 5, 2), None),  # no such day
        ("服务时长3.5小时", date(2026, 4, 25), None),
    ],
)
def test_activity_date(text: str, posted: date, expected: date | None) -> None:
    assert facts.find_activity_date(normalize(text), posted) == expected


def test_activity_date_only_reported_when_it_differs_from_the_post_date(settings: Settings) -> None:
    same = classify_text("4月25日，县局志愿者开展文明劝导", post_date=date(2026, 4, 25), settings=settings)
    earlier = classify_text("4月20日，县局志愿者开展文明劝导", post_date=date(2026, 4, 25), settings=settings)
    no_context = classify_text("4月20日，县局志愿者开展文明劝导", settings=settings)
    assert "activity_date" not in same.facts
    assert earlier.facts["activity_date"] == "2026-04-20"
    assert "activity_date" not in no_context.facts  # no post date: the year cannot be known


def test_facts_of_a_full_report(settings: Settings) -> None:
    text = "4月20日上午，县市场监管局组织志愿者20余名来到结对村城南村开展清洁家园行动，服务时长3小时。"
    result = classify_text(text, photo_count=6, post_date=POSTED, settings=settings)
    assert result.facts == {
        "partner": "城南村",
        "participants": 20,
        "volunteer_hours": 3.0,
        "activity_date": "2026-04-20",
    }
