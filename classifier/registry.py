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
import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from classifier import corpus, linear
from classifier import facts as facts_mod
from classifier.evaluation import score
from classifier.features import FEATURE_VERSION
from classifier.predictor import Predictor
from classifier.rules import LABELS, SHIPPED_RULES, RuleSet
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


class VersionInfo(BaseModel):
    version: str
    kind: str  # seed | trained
    created_at: str
    examples: int
    corrections: int
    heldout_macro_f1: float | None = None
    heldout_accuracy: float | None = None
    baseline_macro_f1: float | None = None
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
    for path in (corpus.TRAIN_FILE, SHIPPED_RULES, facts_mod.SHIPPED_OUTLETS, USER_DICT):
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
    """Build the seed model under the data dir if it is not there yet (deterministic, about a second)."""
    version = seed_version()
    directory = models_dir(settings) / version
    if _artefact_complete(directory):
        return version
    with _lock:
        if _artefact_complete(directory):
            return version
        files = _seed_bytes.get(version)
        if files is None:
            seed = corpus.read_jsonl(corpus.TRAIN_FILE)
            staging = _train_into(settings, seed, version, "seed", 0, SHIPPED_RULES, facts_mod.SHIPPED_OUTLETS)
            files = {p.name: p.read_bytes() for p in staging.iterdir()}
            _seed_bytes[version] = files
            _publish(staging, directory)
        else:
            staging = _staging_dir(settings)
            for name, data in files.items():
                (staging / name).write_bytes(data)
            _publish(staging, directory)
    return version


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
    model = linear.fit(feature_maps, rule_scores, [e.labels() for e in examples], [e.weight for e in examples], LABELS)
    staging = _staging_dir(settings)
    model.save(staging)
    (staging / RULES_FILE).write_text(rules_text, encoding="utf-8")
    predictor = Predictor(version, model, rules, outlets, helper.tok, 1.0)
    heldout = corpus.read_jsonl(corpus.HELDOUT_FILE)
    gold = [(e.label, e.alt) for e in heldout]
    report = score(gold, [predictor.predict_label(e.text, e.photos) for e in heldout])
    baseline = score(gold, [rules.baseline_label(e.text) for e in heldout])
    metrics: dict[str, Any] = {
        "version": version,
        "kind": kind,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds") if kind != "seed" else "",
        "examples": len(examples),
        "corrections": corrections,
        "feature_version": FEATURE_VERSION,
        "heldout_macro_f1": round(report.macro_f1, 4),
        "heldout_accuracy": round(report.accuracy, 4),
        "baseline_macro_f1": round(baseline.macro_f1, 4),
    }
    (staging / METRICS_FILE).write_text(json.dumps(metrics, ensure_ascii=False, indent=2), encoding="utf-8")
    return staging


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
