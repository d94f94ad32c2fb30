"""A small, realistic month of reports for the browser test and the screenshots."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from api import repository
from tests.api.conftest import Data
from wenming.settings import Settings


def _day(today: date, back: int) -> date:
    return today.replace(day=max(1, today.day - back))


def seed_console_demo(session: Session, settings: Settings, today: date) -> dict[str, int]:
    """Six units, a month of reports, two reports waiting for review; returns ids the test needs."""
    d = Data(session, settings)
    market = d.unit("县市场监管局", aliases=["市场监管局"], honour_level="provincial", headcount=86, category="机关")
    school = d.unit("县实验小学", honour_level="city", headcount=120, category="学校")
    hospital = d.unit("县人民医院", honour_level="city", headcount=640, category="医院")
    power = d.unit("县供电公司", aliases=["供电公司"], honour_level="county", headcount=210, category="企业")
    culture = d.unit("县文化馆", honour_level="county", headcount=32, category="事业单位")
    d.unit("县交通运输局", honour_level="county", headcount=75, category="机关")

    plan = [
        (market, "practice", "县市场监管局开展“诚信经营”理论宣讲进市场活动", 3, 1),
        (market, "volunteer", "市场监管局志愿者在城南菜场开展文明劝导", 6, 0),
        (school, "practice", "县实验小学开展文明礼仪进课堂主题教育", 2, 2),
        (school, "pairing", "县实验小学与城东社区结对共建，开展垃圾分类宣传", 8, 1),
        (hospital, "volunteer", "县人民医院医护志愿者到城西村开展义诊", 4, 2),
        (power, "practice", "供电公司党员到结对村开展移风易俗宣传", 5, 0),
        (culture, "practice", "县文化馆举办非遗文化传承讲座", 7, 1),
        (culture, "practice", "县文化馆开展“我们的节日”文明实践活动", 9, 0),
    ]
    reporters = {
        market: d.member("市监局-陈晓", market),
        school: d.member("实验小学 王老师", school),
        hospital: d.member("人民医院宣传科", hospital),
        power: d.member("供电公司-刘工", power),
        culture: d.member("文化馆 小吴", culture),
    }
    for unit, label, text, back, photos in plan:
        d.report(
            text, unit=unit, sender=reporters[unit], label=label, confidence=0.93, day=_day(today, back), photos=photos
        )

    target = d.report(
        "组织职工志愿者到城东村敬老院开展助老服务，打扫卫生、陪老人聊天",
        unit=culture,
        sender=reporters[culture],
        label="news",
        confidence=0.42,
        status="needs_review",
        day=_day(today, 1),
        photos=2,
    )
    stranger = d.member("张三（新入群）")
    d.report(
        "今天我们单位组织志愿者去清洁家园，附图",
        sender=stranger,
        label="volunteer",
        confidence=0.88,
        day=_day(today, 0),
        photos=1,
    )
    session.flush()
    review_count = repository.count_review(session)
    return {"target_report": target.id, "target_unit": culture.id, "review_count": int(review_count)}
