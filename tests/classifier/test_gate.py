"""The retraining gate: a version worse than the active one on the held-out set stays inactive, with the reason."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from classifier import corpus, registry
from classifier import service as classifier_service
from wenming.settings import Settings


def _metrics(macro: float, **per_label: float) -> dict[str, Any]:
    f1 = {"practice": 0.95, "pairing": 0.95, "news": 0.95, "volunteer": 0.95, "other": 0.95}
    return {"heldout_macro_f1": macro, "per_label_f1": {**f1, **per_label}}


def test_gate_allows_ties_and_small_noise_but_not_a_real_drop() -> None:
    active = _metrics(0.95)
    assert registry.gate(_metrics(0.95), active, "v1")[0]
    assert registry.gate(_metrics(0.946, news=0.94), active, "v1")[0]
    passed, reason = registry.gate(_metrics(0.94), active, "v1")
    assert not passed and "macro-F1 0.9400 低于当前版本的 0.9500" in reason and "v1" in reason
    passed, reason = registry.gate(_metrics(0.95, news=0.90), active, "v1")
    assert not passed and "新闻通讯 F1 0.9000" in reason


def test_a_model_trained_on_wrong_corrections_is_kept_inactive(isolated_settings: Settings) -> None:
    """Staff 'correct' a batch of media-coverage texts to 其他: the new version loses news and must not go live."""
    news = [e for e in corpus.read_path(corpus.TRAIN_DIR) if e.label == "news" and not e.alt][:150]
    wrong = [replace(e, label="other", weight=isolated_settings.classifier_correction_weight) for e in news]
    before = registry.current_version(isolated_settings)

    info = classifier_service.train_from(isolated_settings, wrong)

    assert not info.current and info.gate_passed is False
    assert "未启用" in (info.gate_reason or "") and "新闻通讯" in (info.gate_reason or "")
    assert registry.current_version(isolated_settings) == before
    listed = {v.version: v for v in classifier_service.list_versions(isolated_settings)}
    assert listed[info.version].gate_reason == info.gate_reason and listed[before].current


def test_a_version_as_good_as_the_active_one_goes_live(isolated_settings: Settings) -> None:
    info = classifier_service.train_from(isolated_settings, [])
    assert info.current and info.gate_passed
    assert registry.current_version(isolated_settings) == info.version
    assert info.heldout_macro_f1 == registry.read_info(isolated_settings, registry.seed_version()).heldout_macro_f1
