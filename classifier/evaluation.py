"""Accuracy, macro-F1, per-label precision/recall/F1 and confusion matrix; ``alt`` labels count as right."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from classifier.models import Label
from classifier.schemas import ErrorItem, EvaluationReport, FullEvaluation, GenreScore, LabelMetrics

if TYPE_CHECKING:
    from classifier.corpus import Example
    from classifier.predictor import Predictor

LABELS = [label.value for label in Label]
OTHER = Label.OTHER.value


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


WORST_ERRORS = 20
SHORT_CHARS = 20  # a headline or a one-line chat post: must not fall to 其他 just for being short


def evaluate(predictor: Predictor, examples: Sequence[Example], review_threshold: float) -> FullEvaluation:
    """Score a predictor on labelled examples the way ``classifier eval`` and the retraining gate read it."""
    predicted: list[str] = []
    confidence: list[float] = []
    for example in examples:
        best, probs, _, _ = predictor.decide(predictor.prepare(example.text, example.photos))
        predicted.append(LABELS[best])
        confidence.append(float(probs.max() if LABELS[best] == "news" else probs[best]))
    gold = [(e.label, e.alt) for e in examples]
    right = [guess in e.labels() for guess, e in zip(predicted, examples, strict=True)]
    accepted = [ok for ok, c in zip(right, confidence, strict=True) if c >= review_threshold]
    return FullEvaluation(
        version=predictor.version,
        model=score(gold, predicted),
        strict=score([(e.label, None) for e in examples], predicted),
        baseline=score(gold, [predictor.rules.baseline_label(e.text) for e in examples]),
        genres=_genres(examples, right),
        worst=_worst(examples, predicted, confidence, right),
        review_threshold=review_threshold,
        review_share=1 - len(accepted) / len(examples) if examples else 0.0,
        accepted_precision=sum(accepted) / len(accepted) if accepted else 0.0,
        **_short(examples, predicted, right),
    )


def _short(examples: Sequence[Example], predicted: Sequence[str], right: Sequence[bool]) -> dict[str, int]:
    short = [i for i, e in enumerate(examples) if len(e.text.strip()) < SHORT_CHARS]
    to_other = [i for i in short if predicted[i] == OTHER and OTHER not in examples[i].labels()]
    return {"short_total": len(short), "short_correct": sum(right[i] for i in short), "short_to_other": len(to_other)}


def _genres(examples: Sequence[Example], right: Sequence[bool]) -> list[GenreScore]:
    totals: dict[str, list[int]] = {}
    for example, ok in zip(examples, right, strict=True):
        entry = totals.setdefault(example.genre or "-", [0, 0])
        entry[0] += 1
        entry[1] += ok
    return [
        GenreScore(genre=genre, total=total, correct=correct, accuracy=correct / total)
        for genre, (total, correct) in sorted(totals.items())
    ]


def _worst(
    examples: Sequence[Example], predicted: Sequence[str], confidence: Sequence[float], right: Sequence[bool]
) -> list[ErrorItem]:
    """The wrong answers the model was surest of: the ones that slip past review."""
    wrong = [i for i, ok in enumerate(right) if not ok]
    wrong.sort(key=lambda i: -confidence[i])
    return [
        ErrorItem(
            text=examples[i].text,
            label=examples[i].label,
            alt=examples[i].alt,
            predicted=predicted[i],
            confidence=round(confidence[i], 4),
            genre=examples[i].genre,
            batch=examples[i].batch,
        )
        for i in wrong[:WORST_ERRORS]
    ]
