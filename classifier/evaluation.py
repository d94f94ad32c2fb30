"""Accuracy, macro-F1, per-label precision/recall/F1 and confusion matrix; ``alt`` labels count as right."""

from __future__ import annotations

from collections.abc import Sequence

from classifier.models import Label
from classifier.schemas import EvaluationReport, LabelMetrics

LABELS = [label.value for label in Label]


def score(gold: Sequence[tuple[str, str | None]], predicted: Sequence[str]) -> EvaluationReport:
    """Compare predictions with (label, alt) pairs; a prediction equal to ``alt`` counts as correct."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    index = {label: i for i, label in enumerate(LABELS)}
    confusion = [[0] * len(LABELS) for _ in LABELS]
    correct = 0
    for (label, alt), guess in zip(gold, predicted, strict=True):
        truth = guess if guess in (label, alt) else label
        correct += truth == guess
        confusion[index[truth]][index[guess]] += 1
    per_label = []
    for i, label in enumerate(LABELS):
        tp = confusion[i][i]
        support = sum(confusion[i])
        predicted_n = sum(row[i] for row in confusion)
        if support == 0 and predicted_n == 0:
            continue
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label.append(LabelMetrics(label=label, precision=precision, recall=recall, f1=f1, support=support))
    macro = sum(m.f1 for m in per_label) / len(per_label) if per_label else 0.0
    return EvaluationReport(
        total=len(gold),
        accuracy=correct / len(gold) if gold else 0.0,
        macro_f1=macro,
        per_label=per_label,
        labels=LABELS,
        confusion=confusion,
    )
