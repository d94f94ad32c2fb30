"""classify_report, staff corrections, reclassification and retraining against the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier import registry, repository, service
from classifier.models import Classification
from ingest.models import Report
from wenming.audit import AuditEntry
from wenming.settings import Settings


def _current(session: Session, report_id: int) -> list[Classification]:
    return list(
        session.scalars(select(Classification).where(Classification.report_id == report_id, Classification.is_current))
    )


def test_classify_report_writes_classification_tags_and_report_fields(
    session: Session, settings: Settings, make_report: Callable[..., Report]
) -> None:
    report = make_report(
        "4月20日上午，县司法局志愿者20余名来到结对村溪口村开展清洁家园志愿服务，服务时长3小时",
        photo_count=6,
        post_date=date(2026, 4, 25),
    )
    row = service.classify_report(session, settings, report)
    assert row is not None and row.source == "model" and row.is_current
    assert row.model_version == registry.seed_version()
    assert row.facts["partner"] == "溪口村" and row.facts["participants"] == 20
    tags = repository.tags_of(session, report.id)
    assert {t.label for t in tags} == {"pairing", "volunteer"}  # both count; the rubric decides
    primary = [t for t in tags if t.is_primary]
    assert len(primary) == 1 and primary[0].label == report.label == row.label
    assert report.status == "classified"
    assert report.confidence == row.confidence
    assert report.activity_date == date(2026, 4, 20)


def test_reclassifying_keeps_one_current_row(
    session: Session, settings: Settings, make_report: Callable[..., Report]
) -> None:
    report = make_report("县交通运输局志愿者在十字路口开展文明劝导")
    service.classify_report(session, settings, report)
    report.text = "收到"
    report.photo_count = 0
    service.classify_report(session, settings, report)
    current = _current(session, report.id)
    assert [c.label for c in current] == ["other"]
    assert len(list(session.scalars(select(Classification).where(Classification.report_id == report.id)))) == 2
    assert [t.label for t in repository.tags_of(session, report.id)] == ["other"]
    assert report.activity_date is None


def test_low_confidence_marks_the_report_for_review(
    session: Session, settings: Settings, make_report: Callable[..., Report]
) -> None:
    report = make_report("Volunteers cleaned the park today", photo_count=0)
    service.classify_report(session, settings, report)
    assert report.status == "needs_review"


def test_a_withdrawn_report_keeps_its_status_when_classified_again(
    session: Session, settings: Settings, make_report: Callable[..., Report]
) -> None:
    report = make_report("县交通运输局志愿者在十字路口开展文明劝导")
    report.status = "withdrawn"  # its sender recalled it
    row = service.classify_report(session, settings, report)
    assert row is not None and report.label == row.label  # still labelled, for staff to read
    assert report.status == "withdrawn"


def test_staff_correction_is_audited_and_never_overwritten(
    session: Session, settings: Settings, make_report: Callable[..., Report]
) -> None:
    report = make_report("今年第三季度职工趣味运动会圆满落幕", photo_count=4)
    service.classify_report(session, settings, report)
    before_label = report.label
    row = service.correct_classification(
        session,
        report.id,
        label="文明实践",
        secondary_labels=["volunteer", "practice"],
        facts={"participants": "30", "activity_date": "2026-04-18"},
        actor="文明办-李老师",
        reason="职工文体活动属于文明实践",
    )
    assert row.source == "staff" and row.created_by == "文明办-李老师"
    assert report.status == "corrected" and report.label == "practice" and report.confidence == 1.0
    assert report.activity_date == date(2026, 4, 18)
    tags = {(t.label, t.is_primary) for t in repository.tags_of(session, report.id)}
    assert tags == {("practice", True), ("volunteer", False)}
    correction = session.scalars(select(AuditEntry).where(AuditEntry.report_id == report.id)).one()
    assert correction.kind == "classification"
    assert correction.before["label"] == before_label
    assert correction.after == {
        "label": "practice",
        "secondary_labels": ["volunteer"],
        "facts": {"participants": 30, "activity_date": "2026-04-18"},
    }
    assert correction.reason == "职工文体活动属于文明实践"

    assert service.classify_report(session, settings, report) is None
    assert service.reclassify(session, settings, [report.id]) == 0
    assert [c.source for c in _current(session, report.id)] == ["staff"]
    assert report.label == "practice"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"report_id": 999_999, "label": "news"}, "报告 999999 不存在"),
        ({"label": "sports"}, "未知的类别"),
        ({"label": "news", "secondary_labels": ["gossip"]}, "未知的类别"),
        ({"label": "news", "facts": {"outlet_level": "town"}}, "媒体级别"),
        ({"label": "news", "facts": {"activity_date": "4月20日"}}, "YYYY-MM-DD"),
        ({"label": "news", "actor": " "}, "操作人"),
        ({"label": "news", "facts": {"mood": "good"}}, "未知的事实字段"),
        ({"label": "volunteer", "facts": {"volunteer_hours": "-2"}}, "不能为负数"),
    ],
)
def test_bad_corrections_are_refused_in_chinese(
    session: Session, make_report: Callable[..., Report], kwargs: dict, message: str
) -> None:
    report = make_report("县局志愿者开展文明劝导")
    arguments = {"report_id": report.id, "actor": "staff", "reason": None, **kwargs}
    with pytest.raises(service.ClassifierError, match=message) as caught:
        service.correct_classification(session, arguments.pop("report_id"), **arguments)
    assert isinstance(caught.value, ValueError)


def test_reclassify_reports_progress_and_count(
    session: Session, settings: Settings, make_report: Callable[..., Report]
) -> None:
    reports = [make_report(t) for t in ("收到", "县局志愿者开展文明劝导", "我局稿件被湖州日报录用")]
    service.correct_classification(session, reports[0].id, label="other", actor="staff", reason=None)
    ticks: list[int] = []
    changed = service.reclassify(session, settings, [r.id for r in reports], progress=ticks.append)
    assert changed == 2
    assert sum(ticks) == 3
    assert [r.label for r in reports] == ["other", "volunteer", "news"]


def test_correction_then_retraining_flips_a_wrong_text(
    session: Session, isolated_settings: Settings, make_report: Callable[..., Report]
) -> None:
    text = "Volunteers from our bureau cleaned the riverside park today"
    wrong = service.classify_text(text, photo_count=4, settings=isolated_settings).label
    assert wrong != "volunteer"
    report = make_report(text, photo_count=4)
    service.correct_classification(session, report.id, label="volunteer", actor="staff", reason="英文志愿活动")
    assert [e.label for e in service.correction_examples(session, isolated_settings)] == ["volunteer"]

    info = service.train(session, isolated_settings)
    assert info.version == "v1" and info.current and info.corrections == 1
    assert info.heldout_macro_f1 is not None and info.heldout_macro_f1 >= 0.9
    retrained = service.classify_text(text, photo_count=4, settings=isolated_settings)
    assert retrained.label == "volunteer"
    assert retrained.model_version == "v1"
    # Rolling back restores the old answer.
    service.use_version(isolated_settings, "seed")
    assert service.classify_text(text, photo_count=4, settings=isolated_settings).label == wrong
    versions = service.list_versions(isolated_settings)
    assert [v.version for v in versions] == [registry.seed_version(), "v1"]
    assert [v.current for v in versions] == [True, False]


def test_unknown_version_is_refused(isolated_settings: Settings) -> None:
    with pytest.raises(registry.VersionError, match="不存在"):
        service.use_version(isolated_settings, "v42")
    with pytest.raises(registry.VersionError, match="不合法"):
        registry.load_predictor(isolated_settings, "../etc")


def test_seed_model_is_built_on_first_use_without_any_step(isolated_settings: Settings) -> None:
    assert not registry.models_dir(isolated_settings).exists()
    result = service.classify_text("县局志愿者开展文明劝导", settings=isolated_settings)
    version = registry.seed_version()
    assert result.model_version == version
    artefact = registry.models_dir(isolated_settings) / version
    assert {p.name for p in artefact.iterdir()} == {
        "model.npz",
        "features.json",
        "rules.yaml",
        "metrics.json",
    }
    assert registry.read_info(isolated_settings, version).heldout_macro_f1 >= 0.9


def test_staff_rules_file_takes_effect_in_the_next_trained_version(
    session: Session, isolated_settings: Settings
) -> None:
    text = "今天单位组织了掼蛋比赛"
    before = service.classify_text(text, photo_count=3, settings=isolated_settings)
    assert before.needs_review
    override = isolated_settings.data_dir / "classifier" / "rules.yaml"
    override.parent.mkdir(parents=True)
    shipped = registry.SHIPPED_RULES.read_text(encoding="utf-8")
    override.write_text(
        shipped + "  - name: 文体活动\n    label: practice\n    weight: 4.0\n    keywords: [掼蛋]\n",
        encoding="utf-8",
    )
    assert service.classify_text(text, photo_count=3, settings=isolated_settings) == before  # not yet
    service.train(session, isolated_settings)
    after = service.classify_text(text, photo_count=3, settings=isolated_settings)
    assert after.label == "practice" and not after.needs_review
    assert any("规则「文体活动」" in line for line in after.evidence)


def test_a_version_number_taken_meanwhile_is_not_overwritten(
    session: Session, isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = registry.models_dir(isolated_settings) / "v1"
    taken.mkdir(parents=True)
    (taken / "model.npz").write_bytes(b"another process's model")
    names = iter(["v1", "v2"])
    monkeypatch.setattr(registry, "_next_version", lambda _settings: next(names))
    info = service.train(session, isolated_settings, activate=False)
    assert info.version == "v2" and not info.current
    assert (taken / "model.npz").read_bytes() == b"another process's model"
