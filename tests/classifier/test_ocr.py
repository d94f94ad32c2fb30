"""OCR without model inference: limits, banner selection, kinds and partners, queueing, evidence, hooks."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from classifier import service as classifier_service
from classifier.ocr import banners, engine
from classifier.ocr import service as ocr_service
from classifier.ocr.engine import OcrLine
from classifier.ocr.jobs import handle_ocr_report
from classifier.ocr.models import MediaText, MediaTextLine, ReportPhotoEvidence
from ingest.media import relative_path_for
from ingest.models import Media, Report, ReportPhoto, Unit
from tests.classifier.ocr_support import feed_report, huge_png
from tests.ingest.builders import photo
from wenming.queue.models import Job
from wenming.queue.worker import JobContext, PermanentJobError
from wenming.settings import Settings


def line(text: str, height: float, confidence: float = 0.98, x: float = 100, y: float = 50) -> OcrLine:
    width = height * len(text)
    return OcrLine(text, confidence, [[x, y], [x + width, y], [x + width, y + height], [x, y + height]])


def _stored_media(session: Session, settings: Settings, data: bytes, name: str, size: tuple[int, int]) -> Media:
    path = settings.media_dir / "xx" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    media = Media(sha256=name.ljust(64, "0"), path=f"xx/{name}", mime="image/png", bytes=len(data),
                  width=size[0], height=size[1])  # fmt: skip
    session.add(media)
    session.flush()
    return media


def test_banner_needs_size_confidence_and_activity_words() -> None:
    image = banners.ImageLines(
        1280,
        720,
        [
            line("县市场监管局与城东村结对共建志愿服务活动", 46),
            line("安全出口", 22),  # small print
            line("结对共建", 18),  # small print, even with activity words
            line("长兴县人民政府", 48),  # large, but names no activity
            line("文明交通志愿服务活动", 44, confidence=0.7),  # unsure reading
            line("志愿服务", 48),  # large and short: four characters are enough
        ],
    )
    assert banners.banner_flags(image) == [True, False, False, False, False, True]


def test_largest_line_counts_as_headline_in_a_big_photo() -> None:
    slide = banners.ImageLines(4000, 3000, [line("理论宣讲进农村文化礼堂", 100, x=200), line("主讲人：张三", 40)])
    assert banners.banner_flags(slide) == [True, False]


@pytest.mark.parametrize(
    ("text", "kind", "partner"),
    [
        ("县市场监管局与城东村结对共建志愿服务活动", "pairing", "城东村"),
        ("县人民医院党支部与东方社区结对共建", "pairing", "东方社区"),
        ("卫健局结对帮扶李家村", "pairing", "李家村"),
        ("城东村新时代文明实践站", "practice", None),
        ("县人民医院义诊志愿服务活动", "volunteer", None),
        ("湖州日报报道县市场监管局文明创建工作", "news", None),
        ("2026年度工作总结会议", None, None),
    ],
)
def test_kind_and_partner_from_banner_text(text: str, kind: str | None, partner: str | None) -> None:
    assert banners.kind_of([text]) == kind
    assert (banners.extract_partner([text]) if kind == "pairing" else None) == partner


def test_huge_png_is_refused_with_a_clear_error(session: Session, settings: Settings) -> None:
    bomb = _stored_media(session, settings, huge_png(20000, 20000), "bomb.png", (20000, 20000))
    reading = ocr_service.read_media(settings, bomb, ocr_engine=None)
    assert reading.status == "refused" and reading.result is None
    assert reading.error is not None and "像素过多" in reading.error

    big = _stored_media(session, settings, huge_png(6000, 5000), "big.png", (6000, 5000))
    reading = ocr_service.read_media(settings, big, ocr_engine=None)
    assert reading.error == "图片像素过多：6000×5000，文字识别上限 25000000 像素，已拒绝识别"


def test_missing_file_and_garbage_are_outcomes_not_crashes(session: Session, settings: Settings) -> None:
    gone = Media(sha256="f" * 64, path=relative_path_for("f" * 64, "jpg"), mime="image/jpeg", bytes=1, width=1,
                 height=1)  # fmt: skip
    session.add(gone)
    garbage = _stored_media(session, settings, b"\x89PNG\r\n\x1a\nnot really", "junk.png", (1, 1))
    assert ocr_service.read_media(settings, gone, None).status == "missing"
    assert "无法解码" in (ocr_service.read_media(settings, garbage, None).error or "")


def test_extreme_strips_are_padded_not_blown_up() -> None:
    strip = Image.new("RGB", (3000, 40))
    fitted, scale = engine._fit(strip, 1600)
    assert scale == pytest.approx(1600 / 3000)
    assert fitted.size == (1600, 533)  # detection then scales the short side to 736, not 1600×21 to 56000×736


def test_enqueue_once_per_photo_set(session: Session, settings: Settings) -> None:
    report = feed_report(session, settings, photo(11), text="今天的活动")
    first = ocr_service.enqueue_ocr_for_report(session, report.id, settings)
    again = ocr_service.enqueue_ocr_for_report(session, report.id, settings)
    assert first is not None and again is not None and again.id == first.id
    assert first.kind == "ocr.report" and first.payload == {"report_id": report.id}

    disabled = settings.model_copy(update={"ocr_enabled": False})
    text_only = feed_report(session, settings, text="县教育局开展读书活动")
    assert ocr_service.enqueue_ocr_for_report(session, text_only.id, settings) is None  # no photos
    other = feed_report(session, settings, photo(12), text="县人民医院开展义诊")
    assert ocr_service.enqueue_ocr_for_report(session, other.id, disabled) is None
    assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_photos_that_can_change_a_label_are_read_first(session: Session, settings: Settings) -> None:
    photo_only = feed_report(session, settings, photo(13), sender="a")
    vague = feed_report(session, settings, photo(14), text="如图", sender="b")
    clear = feed_report(session, settings, photo(15), text="县教育局党员志愿者到城东村开展结对共建活动", sender="c")
    unclear = feed_report(session, settings, photo(16), text="Volunteers cleaned the park today", sender="d")
    for report in (photo_only, vague, clear, unclear):
        classifier_service.classify_report(session, settings, report)
    assert (clear.status, unclear.status) == ("classified", "needs_review")
    priorities = {
        name: ocr_service.enqueue_ocr_for_report(session, report.id, settings).priority  # type: ignore[union-attr]
        for name, report in [("clear", clear), ("unclear", unclear), ("vague", vague), ("photo_only", photo_only)]
    }
    assert priorities == {"photo_only": 10, "vague": 10, "unclear": 5, "clear": 0}


def test_evidence_counts_distinct_photos_and_read_banners(session: Session, settings: Settings) -> None:
    hospital = Unit(name="长兴县人民医院", aliases=["县人民医院"])
    session.add_all([hospital, Unit(name="长兴县教育局", aliases=["县教育局"])])
    report = feed_report(session, settings, photo(21), photo(22), text="县人民医院开展义诊志愿服务")
    photos = list(session.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report.id)))
    photos[1].repost_of_media_id = photos[0].media_id  # the re-post check flagged the second photo
    session.add_all(
        [
            MediaText(media_id=photos[0].media_id, status="read"),
            MediaTextLine(media_id=photos[0].media_id, position=0, text="县人民医院义诊志愿服务活动",
                          confidence=0.99, box=[], line_height=60, is_banner=True),
            MediaTextLine(media_id=photos[0].media_id, position=1, text="请勿吸烟", confidence=0.99, box=[],
                          line_height=20, is_banner=False),
        ]
    )  # fmt: skip
    session.flush()
    evidence = ocr_service.update_evidence(session, report)
    assert (evidence.photo_count, evidence.distinct_photos, evidence.photos_read) == (2, 1, 1)
    assert evidence.banner_read and evidence.banner_lines == ["县人民医院义诊志愿服务活动"]
    assert (evidence.text_kind, evidence.photo_kind, evidence.kinds_agree) == ("volunteer", "volunteer", True)
    assert evidence.facts == {"unit_id": hospital.id, "unit": "长兴县人民医院"}
    assert ocr_service.evidence_lines(evidence) == ["横幅：县人民医院义诊志愿服务活动"]


def test_disabled_ocr_still_records_evidence_without_loading_the_model(
    session: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "get_engine", lambda *_: pytest.fail("OCR is switched off"))
    report = feed_report(session, settings, photo(31), photo(32))
    off = settings.model_copy(update={"ocr_enabled": False})
    outcome = ocr_service.read_report_photos(session, off, report.id)
    assert outcome.media_read == 0
    evidence = session.scalars(select(ReportPhotoEvidence)).one()
    assert (evidence.distinct_photos, evidence.photos_read, evidence.banner_read) == (2, 0, False)


def test_staff_correction_is_never_reclassified(session: Session, settings: Settings) -> None:
    report = feed_report(session, settings, photo(41))
    report.status, report.label = "corrected", "pairing"
    assert ocr_service.reclassify(session, settings, report, ["学雷锋志愿服务进社区活动"]) is False
    assert report.label == "pairing"
    report.status = "classified"
    assert ocr_service.reclassify(session, settings, report, ["学雷锋志愿服务进社区活动"]) is True
    assert report.label == "volunteer"


def test_handler_refuses_a_payload_without_report(session: Session, settings: Settings) -> None:
    joined = sessionmaker(bind=session.bind, join_transaction_mode="create_savepoint")
    context = JobContext(session, settings, joined, 1, "ocr.report", {}, 1, "w")
    with pytest.raises(PermanentJobError, match="报送编号"):
        handle_ocr_report(context)
    gone = JobContext(session, settings, joined, 1, "ocr.report", {"report_id": 999999}, 1, "w")
    assert handle_ocr_report(gone)["media_read"] == 0  # a deleted report is nothing to do, not a failure
    assert session.get(Report, 999999) is None


def test_sample_font_has_a_glyph_for_every_banner_character() -> None:
    from PIL import ImageDraw

    from classifier.ocr import samples
    from wenming import fonts

    face = samples.font(40)
    assert face.getname()[0] in fonts.cjk_font().family  # the system font fontconfig found

    def rendered(char: str) -> bytes:
        canvas = Image.new("L", (60, 60))
        ImageDraw.Draw(canvas).text((5, 5), char, font=face, fill=255)
        return canvas.tobytes()

    tofu = rendered("\U0010fffd")  # a private-use code point: the font's "missing glyph" box
    chars = sorted({char for texts in samples.BANNERS.values() for text in texts for char in text})
    assert len(chars) > 80
    assert [char for char in chars if rendered(char) == tofu] == []


class _SlowEngine:
    """Stands in for RapidOCR's stages: detection finds lines of given heights, recognition takes time."""

    def __init__(self, heights: list[int], seconds_per_batch: float) -> None:
        self.heights, self.seconds = heights, seconds_per_batch

    def load_img(self, image: Image.Image) -> np.ndarray:
        return np.zeros((image.height, image.width, 3), dtype=np.uint8)

    def preprocess(self, img: np.ndarray) -> tuple[np.ndarray, float, float]:
        return img, 1.0, 1.0

    def maybe_add_letterbox(self, img: np.ndarray, record: dict) -> tuple[np.ndarray, dict]:  # type: ignore[type-arg]
        return img, record

    def auto_text_det(self, img: np.ndarray) -> tuple[list[np.ndarray], float]:
        boxes = [np.array([[0, y], [300, y], [300, y + h], [0, y + h]], dtype=np.float32)
                 for y, h in zip(range(0, 2000, 100), self.heights, strict=False)]  # fmt: skip
        return boxes, 0.0

    def get_crop_img_list(self, img: np.ndarray, boxes: list[np.ndarray]) -> list[np.ndarray]:
        return [np.zeros((int(box[2][1] - box[0][1]), 300, 3), dtype=np.uint8) for box in boxes]

    def _get_origin_points(self, boxes: list[np.ndarray], *_args: object) -> np.ndarray:
        return np.array(boxes)

    def text_cls(self, crops: list[np.ndarray]) -> tuple[list[np.ndarray], list[object], float]:
        return crops, [], 0.0

    def text_rec(self, crops: list[np.ndarray], _word_box: bool) -> tuple[list[tuple[str, float]], float]:
        time.sleep(self.seconds)
        return [(f"高{crop.shape[0]}志愿服务活动", 0.99) for crop in crops], self.seconds


def test_time_budget_stops_recognition_after_the_largest_lines() -> None:
    heights = [20, 90, 30, 80, 25, 70, 40, 60, 35, 50, 45, 55, 22, 24]  # 14 lines: three batches of six
    limits = engine.OcrLimits(max_pixels=10**8, max_side=4000, time_budget_seconds=0.05, min_confidence=0.5)
    result = engine.read_image(Image.new("RGB", (400, 2000)), limits, _SlowEngine(heights, 0.06))
    assert result.truncated and result.detected == 14
    read = sorted(int(line.text[1:3]) for line in result.lines)
    assert read == sorted(sorted(heights)[-6:])  # one batch, the six tallest lines (banners first)

    generous = engine.OcrLimits(max_pixels=10**8, max_side=4000, time_budget_seconds=5, min_confidence=0.5)
    full = engine.read_image(Image.new("RGB", (400, 2000)), generous, _SlowEngine(heights, 0.0))
    assert not full.truncated and len(full.lines) == 14
    assert [int(line.text[1:3]) for line in full.lines] == heights  # stored in reading order, top to bottom
