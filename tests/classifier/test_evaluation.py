"""Evaluation: the held-out macro-F1 bar, the keyword baseline, and the metric arithmetic."""

from __future__ import annotations

from classifier import corpus
from classifier.evaluation import score
from classifier.service import evaluate_file
from wenming.settings import Settings


def test_heldout_macro_f1_reaches_the_bar_and_beats_the_keyword_baseline(settings: Settings) -> None:
    model, baseline, _ = evaluate_file(settings, corpus.HELDOUT_FILE)
    assert model.total >= 200
    assert model.macro_f1 >= 0.90
    assert model.macro_f1 > baseline.macro_f1
    assert all(m.f1 >= 0.8 for m in model.per_label)


def test_alt_label_counts_as_correct_and_metrics_add_up() -> None:
    gold = [("news", "volunteer"), ("news", None), ("other", None), ("volunteer", None)]
    report = score(gold, ["volunteer", "other", "other", "volunteer"])
    assert report.accuracy == 0.75
    by_label = {m.label: m for m in report.per_label}
    assert by_label["volunteer"].precision == 1.0 and by_label["volunteer"].recall == 1.0
    assert by_label["news"].recall == 0.0 and by_label["news"].support == 1
    assert by_label["other"].precision == 0.5
    assert sum(map(sum, report.confusion)) == 4
    news, other = report.labels.index("news"), report.labels.index("other")
    assert report.confusion[news][other] == 1
    assert abs(report.macro_f1 - (1.0 + 0.0 + 2 / 3) / 3) < 1e-9
