"""classify_text on the kinds of posts units really send."""

from __future__ import annotations

from datetime import date

import pytest

from classifier import registry
from classifier.service import classify_text
from wenming.settings import Settings

REPRESENTATIVE = [
    ("practice", "县税务局开展“学习贯彻党的二十大精神”理论宣讲活动，40余名干部职工参加"),
    ("practice", "移风易俗树新风，县民政局倡导红事新办、白事简办"),
    ("practice", "今天我们单位在文明实践站开了读书分享会，大家收获满满😊"),
    ("pairing", "县市场监管局与和平村开展结对共建暨文明实践活动"),
    ("pairing", "县农商银行领导班子赴结对村顾渚村调研村级集体经济发展"),
    ("news", "我局报送的《小巷里的红马甲》被湖州日报录用"),
    ("news", "本网讯（通讯员 张丽）4月20日，县教育局开展了诚信教育主题活动……"),
    ("volunteer", "今天我们单位志愿者去敬老院了，附图"),
    ("volunteer", "县交通运输局志愿者在十字路口开展文明劝导，服务时长3小时"),
    ("volunteer", "县人民医院组织职工参加无偿献血，20人成功献血6000毫升"),
]

CHATTER = [
    "收到",
    "好的👍",
    "[强][强][强]",
    "辛苦了[抱拳]",
    "请各单位本周五前报送",
    "请问通讯稿发到哪个邮箱？",
    "大家早上好",
]


@pytest.mark.parametrize(("label", "text"), REPRESENTATIVE)
def test_each_label_on_representative_texts(settings: Settings, label: str, text: str) -> None:
    result = classify_text(text, photo_count=4, settings=settings)
    assert result.label == label
    assert result.confidence >= settings.classifier_review_threshold
    assert not result.needs_review
    assert result.evidence, "staff must see why"


@pytest.mark.parametrize("text", CHATTER)
def test_chatter_stickers_and_notices_are_other(settings: Settings, text: str) -> None:
    result = classify_text(text, settings=settings)
    assert result.label == "other"
    assert result.secondary == []


def test_volunteer_service_in_the_paired_village_carries_both_labels(settings: Settings) -> None:
    result = classify_text(
        "县司法局志愿者来到结对村溪口村开展清洁家园志愿服务，服务时长2小时", photo_count=5, settings=settings
    )
    labels = {result.label} | {s.label for s in result.secondary if s.score >= 0.5}
    assert labels == {"pairing", "volunteer"}
    assert result.facts["partner"] == "溪口村"


def test_evidence_names_the_rule_and_the_words(settings: Settings) -> None:
    result = classify_text("县水利局志愿者开展清洁家园活动", settings=settings)
    assert any("规则「服务内容」" in line and "清洁家园" in line for line in result.evidence)
    assert any(line.startswith("模型判为志愿服务") for line in result.evidence)


def test_traditional_characters_classify_like_simplified(settings: Settings) -> None:
    simplified = classify_text("县税务局志愿者来到敬老院开展助老服务", settings=settings)
    traditional = classify_text("縣稅務局志願者來到敬老院開展助老服務", settings=settings)
    assert traditional.label == simplified.label == "volunteer"
    assert abs(traditional.confidence - simplified.confidence) < 0.05


def test_output_is_deterministic_for_a_fixed_version(settings: Settings) -> None:
    text = "4月20日上午，县总工会组织20余名志愿者在公园开展文明劝导，服务时长3小时"
    first = classify_text(text, photo_count=2, post_date=date(2026, 4, 25), settings=settings)
    second = classify_text(text, photo_count=2, post_date=date(2026, 4, 25), settings=settings)
    assert first == second
    assert first.model_version == registry.seed_version()


def test_unclear_text_is_flagged_for_review(settings: Settings) -> None:
    result = classify_text("Volunteers cleaned the park today", settings=settings)
    assert result.needs_review
    assert result.confidence < settings.classifier_review_threshold


def test_ocr_lines_of_a_screenshot_name_the_outlet(settings: Settings) -> None:
    plain = classify_text("我们的稿子登上去了", photo_count=1, settings=settings)
    ocr = ["浙江日报 2026年4月21日 第5版", "县图书馆开展经典诵读活动"]
    with_ocr = classify_text("我们的稿子登上去了", photo_count=1, extra_texts=ocr, settings=settings)
    assert "outlet" not in plain.facts
    assert with_ocr.label == "news"
    assert with_ocr.facts["outlet"] == "浙江日报"
    assert with_ocr.facts["outlet_level"] == "province"
    assert "activity_date" not in with_ocr.facts  # a newspaper's date is not the activity's


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "😀😀😀🎉",
        "Hello, this is an English message about nothing.",
        "县" * 100_000,
        "志愿服务" * 25_000,
        "\x00\u200b\ufeff",
        "【】《》“”",
    ],
)
def test_odd_inputs_are_handled(settings: Settings, text: str | None) -> None:
    result = classify_text(text, photo_count=1, settings=settings)
    assert result.label in {"practice", "pairing", "news", "volunteer", "other"}
    assert 0.0 <= result.confidence <= 1.0


def test_empty_and_emoji_only_posts_are_other(settings: Settings) -> None:
    assert classify_text("", settings=settings).label == "other"
    assert classify_text("😀😀😀", settings=settings).label == "other"


def test_many_photos_without_text_are_left_for_staff(settings: Settings) -> None:
    result = classify_text(None, photo_count=6, settings=settings)
    assert result.label == "other"
    assert result.needs_review


def test_photos_without_any_words_go_to_review_until_their_banner_is_read(settings: Settings) -> None:
    silent = classify_text(None, photo_count=3, settings=settings)
    assert silent.needs_review
    read = classify_text(None, photo_count=3, extra_texts=["县市场监管局与城东村结对共建活动"], settings=settings)
    assert read.label == "pairing"
    assert read.facts.get("partner") == "城东村"
    assert not read.needs_review


@pytest.mark.parametrize("vague", [None, "今天的活动", "如图"])
@pytest.mark.parametrize(
    ("label", "banner"),
    [
        ("pairing", "县教育局与李家村开展结对共建活动"),
        ("volunteer", "县人民医院义诊志愿服务活动"),
        ("practice", "移风易俗新时代文明实践活动"),
        ("news", "学习强国刊发县人民医院文明创建经验"),
    ],
)
def test_banner_decides_a_post_whose_own_words_say_nothing(
    settings: Settings, vague: str | None, label: str, banner: str
) -> None:
    result = classify_text(vague, photo_count=3, extra_texts=[banner], settings=settings)
    assert (result.label, result.needs_review) == (label, False)


def test_a_real_text_outweighs_a_banner_that_disagrees(settings: Settings) -> None:
    text = "我局志愿服务工作被湖州日报报道，题为《小小红马甲 温暖一座城》，详见链接。"
    result = classify_text(text, photo_count=1, extra_texts=["学雷锋志愿服务进社区活动"], settings=settings)
    assert result.label == "news"


def test_the_fast_binary_path_scores_exactly_like_the_general_one(settings: Settings) -> None:
    """Texts without secondary inputs take a cheaper sum; it must not change a single answer."""
    from classifier import corpus
    from classifier.service import active_predictor

    predictor = active_predictor(settings)
    for example in corpus.heldout_examples()[::10]:
        prepared = predictor.prepare(example.text, example.photos)
        general = predictor.model.logits(prepared.features, prepared.rule_scores)[0]
        fast = predictor.model.logits(prepared.features, prepared.rule_scores, binary=True)[0]
        assert abs(general - fast).max() < 1e-9, example.text
