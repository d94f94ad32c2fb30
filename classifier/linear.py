"""The trained layer: one-vs-rest logistic regression over text features, on top of the rule scores.

Training uses SciPy's L-BFGS; prediction is a few dictionary lookups and one small matrix product, so that
classifying costs little more than segmenting. Artefacts are plain arrays (``.npz``, no pickle) and JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit

from classifier.features import FEATURE_VERSION

MODEL_FILE = "model.npz"
FEATURES_FILE = "features.json"
# Chosen by 4-fold cross-validation on the training split only (C in 4, 8, 20, 50).
REGULARISATION_C = 20.0


class ModelFileError(RuntimeError):
    """A model artefact is missing, corrupt or built for other features."""


@dataclass
class LinearModel:
    labels: list[str]
    vocab: dict[str, int]
    weights: np.ndarray  # (features, labels)
    rule_weights: np.ndarray  # (rule score per label, labels)
    intercept: np.ndarray  # (labels,)

    def logits(
        self, features: dict[str, float], rule_scores: Sequence[float]
    ) -> tuple[np.ndarray, list[int], np.ndarray]:
        """Per-label log-odds, plus the known feature indices and their normalised values (for evidence)."""
        values = np.fromiter(features.values(), dtype=np.float64, count=len(features))
        ids = np.fromiter(map(self.vocab.get, features, repeat(-1)), dtype=np.int64, count=len(features))
        known = ids >= 0
        norm = math.sqrt(float(values @ values)) or 1.0
        idx = ids[known]
        vals = values[known] / norm
        z = self.intercept + np.asarray(rule_scores, dtype=np.float64) @ self.rule_weights
        if len(idx):
            z = z + vals @ self.weights[idx]
        return z, idx, vals

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
        )
        meta = {"feature_version": FEATURE_VERSION, "labels": self.labels, "features": self.names}
        (directory / FEATURES_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> LinearModel:
        try:
            meta = json.loads((directory / FEATURES_FILE).read_text(encoding="utf-8"))
            with np.load(directory / MODEL_FILE, allow_pickle=False) as arrays:
                weights, rule_weights, intercept = (
                    arrays["weights"],
                    arrays["rule_weights"],
                    arrays["intercept"],
                )
        except (OSError, ValueError, KeyError) as exc:
            raise ModelFileError(f"模型文件损坏或缺失：{directory}（{exc}）") from exc
        if meta.get("feature_version") != FEATURE_VERSION:
            raise ModelFileError(f"模型 {directory.name} 的特征版本与程序不一致，请重新训练：wenming classifier train")
        vocab = {name: i for i, name in enumerate(meta["features"])}
        return cls(meta["labels"], vocab, weights, rule_weights, intercept)


def fit(
    feature_maps: Sequence[dict[str, float]],
    rule_scores: Sequence[Sequence[float]],
    targets: Sequence[set[str]],
    sample_weights: Sequence[float],
    labels: Sequence[str],
) -> LinearModel:
    """Fit one binary logistic regression per label on top of the rule scores.

    The rules act as a fixed prior in log-odds (an offset): the model learns what the rules miss or get
    wrong, and a weight staff change in the rules file moves the answer by exactly that amount.
    """
    vocab = {name: i for i, name in enumerate(sorted({f for fm in feature_maps for f in fm}))}
    matrix = _text_matrix(feature_maps, vocab)
    offsets = np.asarray(rule_scores, dtype=np.float64)
    weights = np.asarray(sample_weights, dtype=np.float64)
    coef = np.zeros((len(vocab), len(labels)))
    intercept = np.zeros(len(labels))
    for j, label in enumerate(labels):
        y = np.fromiter((label in t for t in targets), dtype=np.float64, count=len(targets))
        coef[:, j], intercept[j] = _fit_binary(matrix, y, offsets[:, j], weights)
    return LinearModel(list(labels), vocab, coef, np.eye(len(labels)), intercept)


def _fit_binary(
    matrix: sparse.csr_matrix, y: np.ndarray, offset: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression with a per-example offset, solved by L-BFGS (deterministic)."""
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
    rows, cols, vals = [], [], []
    for r, fm in enumerate(feature_maps):
        norm = math.sqrt(sum(v * v for v in fm.values())) or 1.0
        for name, value in fm.items():
            rows.append(r)
            cols.append(vocab[name])
            vals.append(value / norm)
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(feature_maps), len(vocab)))
