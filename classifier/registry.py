"""Versioned model artefacts under ``data_dir/models``: the seed model, trained versions, the current pointer.

Why files and not a table: an artefact is a few arrays plus the rules it was trained with; files can be
copied, inspected and backed up like any data file, and the seed model is rebuilt deterministically from
the shipped corpus on first use, so a fresh clone classifies without any manual step.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from classifier import corpus, linear
from classifier import facts as facts_mod
from classifier.evaluation import evaluate
from classifier.features import FEATURE_VERSION
from classifier.predictor import Predictor
from classifier.rules import LABEL_ZH, LABELS, SHIPPED_RULES, RuleSet
from classifier.text import USER_DICT, tokenizer
from wenming.settings import Settings

CURRENT_FILE = "CURRENT"
RULES_FILE = "rules.yaml"
METRICS_FILE = "metrics.json"
_VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
_lock = threading.Lock()
_seed_bytes: dict[str, dict[str, bytes]] = {}


class VersionError(ValueError):
    """A model version that does not exist or cannot be used; the message is for staff."""


# The retraining gate: a new version must not be worse than the active one on the held-out set, overall and per
# class, beyond these tolerances (training is deterministic, so the slack only absorbs real trade-offs).
GATE_MACRO_TOLERANCE = 0.005
GATE_CLASS_TOLERANCE = 0.02


class VersionInfo(BaseModel):
    version: str
    kind: str  # seed | trained
    created_at: str
    examples: int
    corrections: int
    heldout_macro_f1: float | None = None
    heldout_accuracy: float | None = None
    heldout_strict_macro_f1: float | None = None
    baseline_macro_f1: float | None = None
    heldout_examples: int | None = None
    per_label_f1: dict[str, float] = {}
    per_label_recall: dict[str, float] = {}
    review_threshold: float | None = None
    review_share: float | None = None
    accepted_precision: float | None = None
    # The retraining gate's verdict (None for the seed model): passed, and why it was or was not activated.
    gate_passed: bool | None = None
    gate_reason: str | None = None
    current: bool = False


def models_dir(settings: Settings) -> Path:
    return settings.data_dir / "models"


def rules_path(settings: Settings) -> Path:
    """Staff's edited rules under the data dir win over the shipped file."""
    override = settings.data_dir / "classifier" / RULES_FILE
    return override if override.exists() else SHIPPED_RULES


def outlets_path(settings: Settings) -> Path:
    override = settings.data_dir / "classifier" / "outlets.yaml"
    return override if override.exists() else facts_mod.SHIPPED_OUTLETS


@functools.cache
def seed_version() -> str:
    """Name of the seed model: a hash of the shipped files it is built from, so it changes with them."""
    digest = hashlib.sha256(f"features={FEATURE_VERSION};C={linear.REGULARISATION_C}".encode())
    for path in (*corpus.training_files(), SHIPPED_RULES, facts_mod.SHIPPED_OUTLETS, USER_DICT):
        digest.update(path.read_bytes())
    return "seed-" + digest.hexdigest()[:10]


def current_version(settings: Settings) -> str:
    """The version staff chose with ``use`` or ``train``; the seed model until then."""
    try:
        chosen = (models_dir(settings) / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        chosen = ""
    return chosen or seed_version()


def set_current(settings: Settings, version: str) -> None:
    if not _artefact_complete(models_dir(settings) / version):
        if version == seed_version() or version == "seed":
            version = ensure_seed(settings)
        else:
            raise VersionError(f"模型版本 {version} 不存在，可用版本见：wenming classifier versions")
    target = models_dir(settings) / CURRENT_FILE
    tmp = target.with_suffix(f".{uuid.uuid4().hex}")
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, target)


def _artefact_complete(directory: Path) -> bool:
    return all((directory / name).exists() for name in (linear.MODEL_FILE, linear.FEATURES_FILE, RULES_FILE))


def ensure_seed(settings: Settings) -> str:
    """Build the seed model under the data dir if it is not there yet (deterministic, a few seconds).

    It is trained in a child process: training imports SciPy and allocates ~150 MB, which a long-running
    ``wenming run`` starting on an empty data dir would otherwise keep for its whole life.
    """
    version = seed_version()
    directory = models_dir(settings) / version
    if _artefact_complete(directory):
        return version
    with _lock:
        if _artefact_complete(directory):
            return version
        files = _seed_bytes.get(version)
        if files is None:
            files = _train_seed_in_child(settings, version)
            _seed_bytes[version] = files
        else:
            staging = _staging_dir(settings)
            for name, data in files.items():
                (staging / name).write_bytes(data)
            _publish(staging, directory)
    return version


def _train_seed_in_child(settings: Settings, version: str) -> dict[str, bytes]:
    """Run ``classifier.seed`` in a fresh interpreter; the published seed model's files."""
    command = [sys.executable, "-m", "classifier.seed", str(settings.data_dir)]
    done = subprocess.run(
        [*command, str(settings.classifier_review_threshold), version], capture_output=True, text=True, check=False
    )
    directory = models_dir(settings) / version
    if done.returncode != 0 or not _artefact_complete(directory):
        raise RuntimeError(f"种子模型训练失败（{' '.join(command)}）：{done.stderr.strip()[-2000:]}")
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def train_seed(settings: Settings, version: str) -> None:
    """Train and publish the seed model under the data dir (``python -m classifier.seed``, a child process)."""
    seed = corpus.training_examples()
    staging = _train_into(settings, seed, version, "seed", 0, SHIPPED_RULES, facts_mod.SHIPPED_OUTLETS)
    _publish(staging, models_dir(settings) / version)


def _staging_dir(settings: Settings) -> Path:
    staging = models_dir(settings) / f".staging-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    return staging


def _publish(staging: Path, directory: Path) -> None:
    """Move a finished artefact into place atomically; a concurrent identical build simply wins."""
    try:
        os.rename(staging, directory)
    except OSError:
        if not _artefact_complete(directory):
            raise
        shutil.rmtree(staging, ignore_errors=True)


def train_version(settings: Settings, examples: Sequence[corpus.Example], corrections: int) -> VersionInfo:
    """Train a new numbered version (v1, v2, …) from the given examples and store it with its metrics."""
    with _lock:
        staging = _train_into(
            settings,
            examples,
            "pending",
            "trained",
            corrections,
            rules_path(settings),
            outlets_path(settings),
        )
        # Another process may take a number at the same moment: claim the next free one atomically.
        for _ in range(100):
            version = _next_version(settings)
            _set_version_name(staging, version)
            try:
                os.rename(staging, models_dir(settings) / version)
            except OSError:
                continue
            return read_info(settings, version)
    shutil.rmtree(staging, ignore_errors=True)
    raise VersionError("无法为新模型分配版本号，请检查数据目录的权限")


def _set_version_name(directory: Path, version: str) -> None:
    metrics_file = directory / METRICS_FILE
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    metrics["version"] = version
    metrics_file.write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")


def _next_version(settings: Settings) -> str:
    numbers = [int(p.name[1:]) for p in models_dir(settings).glob("v*") if p.name[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1}"


def _train_into(
    settings: Settings,
    examples: Sequence[corpus.Example],
    version: str,
    kind: str,
    corrections: int,
    rules_file: Path,
    outlets_file: Path,
) -> Path:
    """Train into a staging directory: arrays, the rules snapshot, and held-out metrics."""
    rules_text = rules_file.read_text(encoding="utf-8")
    rules = RuleSet.from_yaml(rules_text)
    outlets = facts_mod.OutletTable.load(outlets_file)
    helper = Predictor(version, _empty_model(), rules, outlets, tokenizer(settings.data_dir), 1.0)
    feature_maps, rule_scores = [], []
    for example in examples:
        prepared = helper.prepare(example.text, example.photos)
        feature_maps.append(prepared.features)
        rule_scores.append(prepared.rule_scores)
    targets = [(e.label, e.alt) for e in examples]
    model = linear.fit(feature_maps, rule_scores, targets, [e.weight for e in examples], LABELS, _folds(examples))
    staging = _staging_dir(settings)
    model.save(staging)
    (staging / RULES_FILE).write_text(rules_text, encoding="utf-8")
    predictor = Predictor(version, model, rules, outlets, helper.tok, settings.classifier_review_threshold)
    metrics: dict[str, Any] = {
        "version": version,
        "kind": kind,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds") if kind != "seed" else "",
        "examples": len(examples),
        "corrections": corrections,
        "feature_version": FEATURE_VERSION,
        **heldout_metrics(predictor, settings.classifier_review_threshold),
    }
    (staging / METRICS_FILE).write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    return staging


def _folds(examples: Sequence[corpus.Example]) -> list[int]:
    """Calibration folds by writing batch (texts of one batch share a style); texts without a batch by position."""
    batches = sorted({e.batch for e in examples if e.batch})
    index = {batch: i for i, batch in enumerate(batches)}
    n = linear.CALIBRATION_FOLDS
    return [index[e.batch] % n if e.batch else i % n for i, e in enumerate(examples)]


def heldout_metrics(predictor: Predictor, review_threshold: float) -> dict[str, Any]:
    """The held-out numbers a version is listed, compared and gated with."""
    result = evaluate(predictor, corpus.heldout_examples(), review_threshold)
    return {
        "heldout_examples": result.model.total,
        "heldout_macro_f1": round(result.model.macro_f1, 4),
        "heldout_accuracy": round(result.model.accuracy, 4),
        "heldout_strict_macro_f1": round(result.strict.macro_f1, 4),
        "baseline_macro_f1": round(result.baseline.macro_f1, 4),
        "per_label_f1": {m.label: round(m.f1, 4) for m in result.model.per_label},
        "per_label_recall": {m.label: round(m.recall, 4) for m in result.model.per_label},
        "review_threshold": review_threshold,
        "review_share": round(result.review_share, 4),
        "accepted_precision": round(result.accepted_precision, 4),
    }


def gate(candidate: dict[str, Any], active: dict[str, Any], active_version: str) -> tuple[bool, str]:
    """Whether a new version may replace the active one: not worse overall nor in any class (held-out F1)."""
    problems = []
    if candidate["heldout_macro_f1"] < active["heldout_macro_f1"] - GATE_MACRO_TOLERANCE:
        new, old = candidate["heldout_macro_f1"], active["heldout_macro_f1"]
        problems.append(f"留出集 macro-F1 {new:.4f} 低于当前版本的 {old:.4f}")
    for label, old in active["per_label_f1"].items():
        new = candidate["per_label_f1"].get(label, 0.0)
        if new < old - GATE_CLASS_TOLERANCE:
            problems.append(f"{LABEL_ZH[label]} F1 {new:.4f} 低于当前版本的 {old:.4f}")
    if problems:
        return False, f"未启用：与当前版本 {active_version} 相比，" + "；".join(problems)
    return True, (
        f"通过：留出集 macro-F1 {candidate['heldout_macro_f1']:.4f}，当前版本 {active_version} 为 "
        f"{active['heldout_macro_f1']:.4f}，各类别均未变差"
    )


def record_gate(settings: Settings, version: str, passed: bool, reason: str) -> VersionInfo:
    """Store the gate's verdict with the version, so that lists show why it is (not) active."""
    metrics_file = models_dir(settings) / version / METRICS_FILE
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    metrics["gate_passed"], metrics["gate_reason"] = passed, reason
    tmp = metrics_file.with_suffix(f".{uuid.uuid4().hex}")
    tmp.write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, metrics_file)
    return read_info(settings, version)


def current_metrics(settings: Settings) -> tuple[str, dict[str, Any]]:
    """The active version measured now on today's held-out set (it may have grown since it was trained)."""
    version = current_version(settings)
    predictor = load_predictor(settings, version)
    return version, heldout_metrics(predictor, settings.classifier_review_threshold)


def _empty_model() -> linear.LinearModel:
    import numpy as np

    n = len(LABELS)
    return linear.LinearModel(list(LABELS), {}, np.zeros((0, n)), np.zeros((n, n)), np.zeros(n))


def read_info(settings: Settings, version: str) -> VersionInfo:
    try:
        data = json.loads((models_dir(settings) / version / METRICS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VersionError(f"模型版本 {version} 的说明文件缺失或损坏") from exc
    data["current"] = version == current_version(settings)
    return VersionInfo.model_validate(data)


def list_versions(settings: Settings) -> list[VersionInfo]:
    """Every stored version, seed first, then by number."""
    ensure_seed(settings)
    names = [p.name for p in models_dir(settings).iterdir() if p.is_dir() and _artefact_complete(p)]
    names.sort(key=lambda n: (not n.startswith("seed"), int(n[1:]) if n[1:].isdigit() else 0, n))
    return [read_info(settings, name) for name in names]


def load_predictor(settings: Settings, version: str) -> Predictor:
    """Load a stored version (building the seed model first when that is the one asked for)."""
    if not _VERSION_RE.match(version):
        raise VersionError(f"模型版本名不合法：{version!r}")
    directory = models_dir(settings) / version
    if not _artefact_complete(directory) and version == seed_version():
        ensure_seed(settings)
    if not _artefact_complete(directory):
        raise VersionError(f"模型版本 {version} 不存在，可用版本见：wenming classifier versions")
    model = linear.LinearModel.load(directory)
    rules = RuleSet.load(directory / RULES_FILE)
    outlets = facts_mod.OutletTable.load(outlets_path(settings))
    return Predictor(version, model, rules, outlets, tokenizer(settings.data_dir), settings.classifier_review_threshold)
