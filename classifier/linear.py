"""The trained layer: one-vs-rest logistic regression over text features, on top of the rule scores.

Training uses SciPy's L-BFGS; prediction is a few dictionary lookups and one small matrix product, so that
classifying costs little more than segmenting. Artefacts are plain arrays (``.npz``, no pickle) and JSON.
SciPy and threadpoolctl are imported by the training functions only: a process that only predicts (``wenming run``)
stays about 40 MB smaller without them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import mul
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.features import FEATURE_VERSION

if TYPE_CHECKING:
    from scipy import sparse

MODEL_FILE = "model.npz"
FEATURES_FILE = "features.json"
# Chosen by 3-fold cross-validation by writing batch on the train batches only (C in 5, 20, 50, 100).
REGULARISATION_C = 50.0
# Folds of the out-of-fold logits the probability calibration is fitted on.
CALIBRATION_FOLDS = 3


class ModelFileError(RuntimeError):
    """A model artefact is missing, corrupt or built for other features."""


@dataclass
class LinearModel:
    labels: list[str]
    vocab: dict[str, int]
    weights: np.ndarray  # (features, labels)
    rule_weights: np.ndarray  # (rule score per label, labels)
    intercept: np.ndarray  # (labels,)
    # Per-label Platt scaling (slope, offset) of the raw log-odds, fitted on out-of-fold predictions.
    calibration: np.ndarray | None = None  # (2, labels)

    def calibrated(self, z: np.ndarray) -> np.ndarray:
        """Calibrated log-odds: a probability of 0.9 is right about nine times in ten on unseen batches."""
        if self.calibration is None:
            return z
        return self.calibration[0] * z + self.calibration[1]

    def logits(
        self, features: dict[str, float], rule_scores: Sequence[float], *, binary: bool = False
    ) -> tuple[np.ndarray, list[int], np.ndarray]:
        """Per-label log-odds, plus the known feature indices and their normalised values (for evidence).

        ``binary``: every feature value is 1.0 (a text without secondary inputs), so the normalised values are
        all 1/sqrt(n) and the sum needs only the indices — the common case, kept cheap.
        """
        get = self.vocab.get
        z = self.intercept + np.asarray(rule_scores, dtype=np.float64) @ self.rule_weights
        if binary:
            idx = [i for i in map(get, features) if i is not None]
            if not idx:
                return z, [], np.zeros(0)
            scale = 1.0 / math.sqrt(len(features))
            return z + self.weights[idx].sum(axis=0) * scale, idx, np.full(len(idx), scale)
        values = features.values()
        norm = math.sqrt(sum(map(mul, values, values))) or 1.0
        known = [(i, v) for i, v in zip(map(get, features), values, strict=True) if i is not None]
        if not known:
            return z, [], np.zeros(0)
        idx = [i for i, _ in known]
        vals = np.fromiter((v for _, v in known), dtype=np.float64, count=len(known)) / norm
        return z + vals @ self.weights[idx], idx, vals

    def logits_many(
        self, feature_maps: Sequence[dict[str, float]], rule_scores: Sequence[Sequence[float]], binary: Sequence[bool]
    ) -> list[tuple[np.ndarray, list[int], np.ndarray]]:
        """``logits`` of many texts, bit for bit: the weight rows of all binary texts are gathered at once.

        Each text's rows are then summed by the same ``sum(axis=0)`` over a contiguous block that the one-text call
        runs (a different reduction, such as a sparse product or ``reduceat``, adds in another order and moves the
        last bit), and no SciPy is needed, which a predicting process never imports. The rule term (a BLAS gemv
        per text) and texts with secondary inputs (weighted values, also a gemv) keep the one-text arithmetic.
        """
        get = self.vocab.get
        rows = [
            [i for i in map(get, fm) if i is not None] if flat else []
            for fm, flat in zip(feature_maps, binary, strict=True)
        ]
        gathered = self.weights[np.fromiter((i for row in rows for i in row), dtype=np.int64)]
        ends = np.cumsum([len(row) for row in rows])
        sums = [gathered[end - len(row) : end].sum(axis=0) for row, end in zip(rows, ends, strict=True)]
        out = []
        for r, (fm, scores, flat) in enumerate(zip(feature_maps, rule_scores, binary, strict=True)):
            if not flat:
                out.append(self.logits(fm, scores))
                continue
            z = self.intercept + np.asarray(scores, dtype=np.float64) @ self.rule_weights
            if not rows[r]:
                out.append((z, [], np.zeros(0)))
                continue
            scale = 1.0 / math.sqrt(len(fm))
            out.append((z + sums[r] * scale, rows[r], np.full(len(rows[r]), scale)))
        return out

    def __post_init__(self) -> None:
        self.names = [""] * len(self.vocab)
        for name, i in self.vocab.items():
            self.names[i] = name

    def feature_name(self, index: int) -> str:
        return self.names[index]

    def save(self, directory: Path) -> None:
        np.savez_compressed(
            directory / MODEL_FILE,
            weights=self.weights,
            rule_weights=self.rule_weights,
            intercept=self.intercept,
            calibration=self._calibration_array(),
        )
        meta = {"feature_version": FEATURE_VERSION, "labels": self.labels, "features": self.names}
        (directory / FEATURES_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    def _calibration_array(self) -> np.ndarray:
        if self.calibration is None:
            return np.vstack([np.ones(len(self.labels)), np.zeros(len(self.labels))])
        return self.calibration

    @classmethod
    def load(cls, directory: Path) -> LinearModel:
        try:
            meta = json.loads((directory / FEATURES_FILE).read_text(encoding="utf-8"))
            with np.load(directory / MODEL_FILE, allow_pickle=False) as arrays:
                weights, rule_weights, intercept, calibration = (
                    arrays["weights"],
                    arrays["rule_weights"],
                    arrays["intercept"],
                    arrays["calibration"],
                )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFileError(f"模型文件损坏或缺失：{directory}（{exc}）") from exc
        if meta.get("feature_version") != FEATURE_VERSION:
            raise ModelFileError(f"模型 {directory.name} 的特征版本与程序不一致，请重新训练：wenming classifier train")
        vocab = {name: i for i, name in enumerate(meta["features"])}
        return cls(meta["labels"], vocab, weights, rule_weights, intercept, calibration)


def fit(
    feature_maps: Sequence[dict[str, float]],
    rule_scores: Sequence[Sequence[float]],
    targets: Sequence[tuple[str, str | None]],
    sample_weights: Sequence[float],
    labels: Sequence[str],
    folds: Sequence[int] | None = None,
) -> LinearModel:
    """Fit one binary logistic regression per label on top of the rule scores, then calibrate it.

    The rules act as a fixed prior in log-odds (an offset): the model learns what the rules miss or get
    wrong, and a weight staff change in the rules file moves the answer by exactly that amount. With ``folds``
    (e.g. by writing batch), models fitted without each fold predict it, and a per-label Platt scaling fitted on
    those out-of-fold log-odds makes the probabilities honest on texts unlike the training ones.
    """

    from threadpoolctl import threadpool_limits

    # One BLAS thread: the vectors are small and, on a busy machine, threads waiting for each other made a
    # two-second fit take over a minute.
    def fit_rows(rows: Sequence[int]) -> LinearModel:
        return _fit_plain(
            [feature_maps[i] for i in rows],
            [rule_scores[i] for i in rows],
            [targets[i] for i in rows],
            [sample_weights[i] for i in rows],
            labels,
        )

    with threadpool_limits(limits=1):
        model = fit_rows(range(len(feature_maps)))
        if folds is not None and len(set(folds)) > 1:
            model.calibration = _calibrate(fit_rows, feature_maps, rule_scores, targets, labels, folds)
    return model


def _calibrate(
    fit_rows: Callable[[Sequence[int]], LinearModel],
    feature_maps: Sequence[dict[str, float]],
    rule_scores: Sequence[Sequence[float]],
    targets: Sequence[tuple[str, str | None]],
    labels: Sequence[str],
    folds: Sequence[int],
) -> np.ndarray:
    """Per-label (slope, offset) fitted on out-of-fold log-odds."""
    logits = np.zeros((len(feature_maps), len(labels)))
    for fold in sorted(set(folds)):
        part = fit_rows([i for i, f in enumerate(folds) if f != fold])
        for i in (i for i, f in enumerate(folds) if f == fold):
            logits[i] = part.logits(feature_maps[i], rule_scores[i])[0]
    calibration = np.zeros((2, len(labels)))
    for j, label in enumerate(labels):
        y, counted = _binary_target(label, targets)
        calibration[:, j] = _platt(logits[counted, j], y[counted])
    return calibration


def _binary_target(label: str, targets: Sequence[tuple[str, str | None]]) -> tuple[np.ndarray, np.ndarray]:
    """One label's yes/no per example, and which examples count for it (all of them).

    The second acceptable label is a yes too: a volunteer clean-up in the paired village must score high for
    both, so that it carries volunteer as a secondary label (scoring counts it). Trained on the primary label
    only, the model dropped those secondary labels.
    """
    y = np.fromiter((label in (primary, alt) for primary, alt in targets), dtype=np.float64, count=len(targets))
    return y, np.ones(len(targets), dtype=bool)


def _platt(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slope and offset of a one-feature logistic regression of y on z (slope kept positive)."""
    from scipy.optimize import minimize
    from scipy.special import expit

    def loss_and_grad(params: np.ndarray) -> tuple[float, np.ndarray]:
        margin = params[0] * z + params[1]
        residual = expit(margin) - y
        return float(np.sum(np.logaddexp(0.0, margin) - y * margin)), np.array([residual @ z, residual.sum()])

    result = minimize(
        loss_and_grad, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B", bounds=[(0.05, 20.0), (None, None)]
    )
    return result.x


def _fit_plain(
    feature_maps: Sequence[dict[str, float]],
    rule_scores: Sequence[Sequence[float]],
    targets: Sequence[tuple[str, str | None]],
    sample_weights: Sequence[float],
    labels: Sequence[str],
) -> LinearModel:
    vocab = {name: i for i, name in enumerate(sorted({f for fm in feature_maps for f in fm}))}
    matrix = _text_matrix(feature_maps, vocab)
    offsets = np.asarray(rule_scores, dtype=np.float64)
    weights = np.asarray(sample_weights, dtype=np.float64)
    coef = np.zeros((len(vocab), len(labels)))
    intercept = np.zeros(len(labels))
    for j, label in enumerate(labels):
        y, counted = _binary_target(label, targets)
        coef[:, j], intercept[j] = _fit_binary(matrix, y, offsets[:, j], weights * counted)
    return LinearModel(list(labels), vocab, coef, np.eye(len(labels)), intercept)


def _fit_binary(
    matrix: sparse.csr_matrix, y: np.ndarray, offset: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression with a per-example offset, solved by L-BFGS (deterministic)."""
    from scipy.optimize import minimize
    from scipy.special import expit

    n_features = matrix.shape[1]
    sign = 2.0 * y - 1.0
    transposed = matrix.T.tocsr()

    def loss_and_grad(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:n_features], params[n_features]
        margin = sign * (matrix @ w + b + offset)
        loss = REGULARISATION_C * float(weights @ np.logaddexp(0.0, -margin)) + 0.5 * float(w @ w)
        dz = -REGULARISATION_C * weights * sign * expit(-margin)
        grad = np.empty_like(params)
        grad[:n_features] = transposed @ dz + w
        grad[n_features] = dz.sum()
        return loss, grad

    result = minimize(loss_and_grad, np.zeros(n_features + 1), jac=True, method="L-BFGS-B", options={"maxiter": 3000})
    return result.x[:n_features], float(result.x[n_features])


def _text_matrix(feature_maps: Sequence[dict[str, float]], vocab: dict[str, int]) -> sparse.csr_matrix:
    from scipy import sparse

    rows, cols, vals = [], [], []
    for r, fm in enumerate(feature_maps):
        norm = math.sqrt(sum(v * v for v in fm.values())) or 1.0
        for name, value in fm.items():
            rows.append(r)
            cols.append(vocab[name])
            vals.append(value / norm)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(feature_maps), len(vocab)))
