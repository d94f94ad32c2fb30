"""The classifier's public calls: classify a text or a report, staff corrections, training, versions, eval.

Ingest calls :func:`classify_report` for every new or changed report; the API calls
:func:`correct_classification`; the CLI drives training, switching versions and evaluation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from classifier import corpus, registry, repository
from classifier.evaluation import evaluate
from classifier.facts import LEVELS
from classifier.models import Classification, ClassificationSource, Label
from classifier.predictor import Predictor, TextInput
from classifier.registry import VersionError, VersionInfo
from classifier.schemas import ClassificationPatch, ClassificationResult, EvaluationReport, FullEvaluation
from ingest.models import Report, ReportStatus
from wenming import audit, versions
from wenming.audit import AuditKind
from wenming.errors import DomainError, NotFound
from wenming.settings import Settings, get_settings

__all__ = [
    "ClassificationResult",
    "ClassifierError",
    "VersionError",
    "VersionInfo",
    "classify_report",
    "classify_reports",
    "classify_text",
    "correct_classification",
    "evaluate_file",
    "evaluate_path",
    "list_versions",
    "parse_label",
    "reclassify",
    "train",
    "use_version",
]

# How often a long-running process (bot, API) re-reads which version is current.
VERSION_CHECK_SECONDS = 2.0
_LABEL_CODES = ", ".join(f"{label.value}（{label.zh}）" for label in Label)


class ClassifierError(DomainError):
    """A request the classifier cannot honour; the message is Chinese and meant for staff."""


class ReportNotFound(NotFound, ClassifierError):
    """The report to correct does not exist."""


@dataclass
class _Active:
    predictor: Predictor
    checked_at: float


_lock = threading.Lock()
_active: dict[tuple[Path, float], _Active] = {}
_loaded: dict[tuple[str, str, float], Predictor] = {}


def active_predictor(settings: Settings | None = None) -> Predictor:
    """The predictor of the current version, loaded once per process and refreshed when staff switch."""
    settings = settings or get_settings()
    key = (settings.data_dir, settings.classifier_review_threshold)
    entry = _active.get(key)
    now = time.monotonic()
    if entry is not None and now - entry.checked_at < VERSION_CHECK_SECONDS:
        return entry.predictor
    version = registry.current_version(settings)
    if entry is None or entry.predictor.version != version:
        entry = _Active(_load(settings, version), now)
        _active[key] = entry
    entry.checked_at = now
    return entry.predictor


def _load(settings: Settings, version: str) -> Predictor:
    key = (str(registry.models_dir(settings)), version, settings.classifier_review_threshold)
    with _lock:
        if key not in _loaded:
            _loaded[key] = registry.load_predictor(settings, version)
        return _loaded[key]


def _forget_active(settings: Settings) -> None:
    for key in [k for k in _active if k[0] == settings.data_dir]:
        del _active[key]


def classify_text(
    text: str | None,
    *,
    photo_count: int = 0,
    extra_texts: Sequence[str] = (),
    post_date: date | None = None,
    settings: Settings | None = None,
) -> ClassificationResult:
    """Label, secondary labels, confidence, facts and evidence for one text; pure, no database.

    ``post_date`` (the local date the report was posted) resolves dates without a year such as "4月20日";
    ``extra_texts`` (e.g. OCR banner lines) count half beside a real text, in full when the text is vague.
    """
    return active_predictor(settings).classify(
        text, photo_count=max(photo_count, 0), extra_texts=extra_texts, post_date=post_date
    )


def parse_label(value: str) -> str:
    """Accept a label code (``volunteer``) or its Chinese name (``志愿服务``)."""
    cleaned = (value or "").strip()
    for label in Label:
        if cleaned.lower() == label.value or cleaned == label.zh:
            return label.value
    raise ClassifierError(f"未知的类别：{value!r}，应为 {_LABEL_CODES}")


def _facts_date(facts: dict[str, Any]) -> date | None:
    raw = facts.get("activity_date")
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def classify_report(
    session: Session, settings: Settings, report: Report, *, extra_texts: Sequence[str] | None = None
) -> Classification | None:
    """(Re)classify one report with the model; a staff classification is never overridden (returns None).

    ``extra_texts`` are banner lines read from the photos; when not given, the lines already read are used, so a
    re-classification never forgets what the photos said.
    """
    return classify_reports(session, settings, [report], extra_texts=None if extra_texts is None else [extra_texts])[0]


def classify_reports(
    session: Session,
    settings: Settings,
    reports: Sequence[Report],
    *,
    extra_texts: Sequence[Sequence[str] | None] | None = None,
) -> list[Classification | None]:
    """``classify_report`` of many reports, result for result, with a handful of statements per chunk.

    One query for who set the current classifications, one for the banner lines, the model over all texts at
    once, one UPDATE to retire, the new classifications and tags inserted together at one flush. ``extra_texts``,
    when given, has one entry per report (``None``: the lines already read).
    """
    if extra_texts is not None and len(extra_texts) != len(reports):
        raise ValueError("extra_texts needs one entry per report")
    given = list(extra_texts) if extra_texts is not None else [None] * len(reports)
    results: list[Classification | None] = []
    for start in range(0, len(reports), CLASSIFY_CHUNK):
        results += _classify_chunk(
            session, settings, reports[start : start + CLASSIFY_CHUNK], given[start : start + CLASSIFY_CHUNK]
        )
    return results


# Reports per round of statements: keeps IN lists well below SQLite's bound on parameters.
CLASSIFY_CHUNK = 500


def _classify_chunk(
    session: Session, settings: Settings, reports: Sequence[Report], given: Sequence[Sequence[str] | None]
) -> list[Classification | None]:
    session.flush()  # the reports' own pending changes go first: the labels below are written past the ORM
    unique = {id(report): report for report in reports}  # a report listed twice is classified once
    sources = repository.current_sources(session, [r.id for r in unique.values()])
    todo = {r.id: r for r in unique.values() if sources.get(r.id) != ClassificationSource.STAFF.value}
    if not todo:
        return [None] * len(reports)
    read = {r.id: lines for r, lines in zip(reports, given, strict=True) if lines is not None and r.id in todo}
    missing = [report_id for report_id in todo if report_id not in read]
    banners = repository.banner_lines_of(session, missing) if missing else {}
    lines = {report_id: list(read.get(report_id, banners.get(report_id, ()))) for report_id in todo}
    items = [TextInput(r.text, max(r.photo_count or 0, 0), tuple(lines[r.id]), r.post_date) for r in todo.values()]
    classified = active_predictor(settings).classify_many(items)
    repository.retire_classifications_of(session, list(todo))
    values: list[dict[str, Any]] = []
    tags: dict[int, list[tuple[str, bool, float]]] = {}
    changed: list[tuple[Report, dict[str, Any]]] = []
    for report, result in zip(todo.values(), classified, strict=True):
        row, tags[report.id], written = _outcome(settings, report, result, lines[report.id])
        values.append(row)
        if any(getattr(report, key) != value for key, value in written.items()):
            changed.append((report, written))
    rows = repository.add_classifications(session, values)
    repository.replace_tags_of(session, tags)
    repository.write_report_labels(session, changed)
    versions.touch(session, versions.RANKINGS)
    return [rows.get(report.id) for report in reports]


def _outcome(
    settings: Settings, report: Report, result: ClassificationResult, extra_texts: Sequence[str]
) -> tuple[dict[str, Any], list[tuple[str, bool, float]], dict[str, Any]]:
    """The model's answer as rows: the new classification, the tags, and the report's label columns."""
    if extra_texts:
        result.evidence = [*(f"横幅：{line}" for line in extra_texts), *result.evidence]
    row = {
        "report_id": report.id,
        "label": result.label,
        "secondary_labels": [s.model_dump() for s in result.secondary],
        "confidence": result.confidence,
        "facts": result.facts,
        "evidence": result.evidence,
        "model_version": result.model_version,
        "source": ClassificationSource.MODEL.value,
        "is_current": True,
        "created_by": None,
    }
    tags = [(result.label, True, result.confidence)]
    tags += [(s.label, False, s.score) for s in result.secondary if s.score >= settings.classifier_secondary_threshold]
    status = report.status
    if status != ReportStatus.WITHDRAWN.value:  # labels still help staff read it; it never counts again
        status = (ReportStatus.NEEDS_REVIEW if result.needs_review else ReportStatus.CLASSIFIED).value
    written = {
        "label": result.label,
        "confidence": result.confidence,
        "status": status,
        "activity_date": _facts_date(result.facts),
    }
    return row, tags, written


FACT_KEYS = (
    "outlet",
    "outlet_level",
    "article_title",
    "partner",
    "participants",
    "volunteer_hours",
    "activity_date",
)


def _validate_facts(facts: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in facts.items():
        if key not in FACT_KEYS:
            raise ClassifierError(f"未知的事实字段：{key!r}，可用字段为 {'、'.join(FACT_KEYS)}")
        if value is None or value == "":
            cleaned[key] = None
            continue
        if key == "outlet_level" and value not in LEVELS:
            raise ClassifierError(
                f"媒体级别 {value!r} 不对，应为 county（县）/city（市）/province（省）/central（中央）"
            )
        if key == "activity_date" and _facts_date({"activity_date": value}) is None:
            raise ClassifierError(f"活动日期 {value!r} 不对，格式应为 YYYY-MM-DD")
        if key == "participants":
            value = _as_number(value, int, "参与人数")
        if key == "volunteer_hours":
            value = _as_number(value, float, "志愿服务时长")
        cleaned[key] = value
    return cleaned


def _as_number(value: Any, kind: type, what: str) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ClassifierError(f"{what} {value!r} 不是数字") from None
    if number < 0:
        raise ClassifierError(f"{what}不能为负数")
    return number


def correct_classification(
    session: Session,
    report_id: int,
    *,
    label: str,
    secondary_labels: Sequence[str] = (),
    facts: dict[str, Any] | None = None,
    actor: str,
    reason: str | None,
) -> Classification:
    """Staff set the labels (and maybe facts) of a report; audited, and never overwritten by the model."""
    report = session.get(Report, report_id)
    if report is None:
        raise ReportNotFound(f"报告 {report_id} 不存在")
    if not actor or not actor.strip():
        raise ClassifierError("更正必须注明操作人")
    primary = parse_label(label)
    secondary = [s for s in dict.fromkeys(parse_label(s) for s in secondary_labels) if s != primary]
    current = repository.current_classification(session, report_id)
    merged = dict(current.facts or {}) if current is not None else {}
    if facts:
        merged.update(_validate_facts(facts))
    merged = {k: v for k, v in merged.items() if v is not None}
    before = _snapshot(current, report)
    repository.retire_classifications(session, report_id)
    row = Classification(
        report_id=report_id,
        label=primary,
        secondary_labels=[{"label": s, "score": 1.0} for s in secondary],
        confidence=1.0,
        facts=merged,
        evidence=[f"工作人员 {actor} 更正" + (f"：{reason}" if reason else "")],
        model_version=None,
        source=ClassificationSource.STAFF.value,
        is_current=True,
        created_by=actor,
    )
    session.add(row)
    repository.replace_tags(session, report_id, [(primary, True, 1.0), *((s, False, 1.0) for s in secondary)])
    report.label = primary
    report.confidence = 1.0
    if report.status != ReportStatus.WITHDRAWN.value:  # the sender recalled it: a relabel does not bring it back
        report.status = ReportStatus.CORRECTED.value
    report.activity_date = _facts_date(merged)
    after = {"label": primary, "secondary_labels": secondary, "facts": merged}
    subject = ("report", report_id)
    audit.record(session, actor, AuditKind.CLASSIFICATION, subject=subject, before=before, after=after, reason=reason)
    return row


def relabel(session: Session, actor: str, report_id: int, data: ClassificationPatch) -> Classification:
    """A staff correction as the API and the console take it (``correct_classification`` does the work)."""
    return correct_classification(
        session,
        report_id,
        label=data.label.value,
        secondary_labels=[label.value for label in data.secondary_labels],
        facts=data.facts,
        actor=actor,
        reason=data.reason,
    )


def _snapshot(current: Classification | None, report: Report) -> dict[str, Any]:
    if current is None:
        return {"label": report.label, "secondary_labels": [], "facts": {}, "source": None}
    return {
        "label": current.label,
        "secondary_labels": [s["label"] for s in current.secondary_labels or []],
        "facts": current.facts or {},
        "source": current.source,
        "model_version": current.model_version,
    }


def reclassify(
    session: Session,
    settings: Settings,
    report_ids: Sequence[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Reclassify reports with the current model, keeping staff corrections; returns how many changed."""
    done = 0
    ids = repository.report_ids(session, report_ids)
    for start in range(0, len(ids), 200):
        chunk = ids[start : start + 200]
        reports = {r.id: r for r in session.scalars(select(Report).where(Report.id.in_(chunk)))}
        done += sum(row is not None for row in classify_reports(session, settings, [reports[i] for i in chunk]))
        if progress is not None:
            progress(len(chunk))
    return done


def reclassify_now(
    session: Session,
    actor: str,
    settings: Settings,
    report_ids: Sequence[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Staff re-classify reports in the foreground (``wenming reports reclassify``): one audit row for the run."""
    changed = reclassify(session, settings, report_ids, progress)
    after = {"version": registry.current_version(settings), "reclassified": changed}
    if report_ids is not None:
        after["report_ids"] = list(report_ids)
    audit.record(session, actor, AuditKind.RECLASSIFY, after=after)
    return changed


def correction_examples(session: Session, settings: Settings) -> list[corpus.Example]:
    """Staff-labelled reports as training examples, weighted above the seed corpus."""
    examples = []
    for classification, report in repository.staff_labelled(session):
        if not (report.text or "").strip():
            continue
        secondary = [s["label"] for s in classification.secondary_labels or []]
        examples.append(
            corpus.Example(
                text=report.text or "",
                label=classification.label,
                alt=secondary[0] if secondary else None,
                photos=report.photo_count or 0,
                weight=settings.classifier_correction_weight,
            )
        )
    return examples


def train(session: Session, settings: Settings, *, activate: bool = True) -> VersionInfo:
    """A new model version from the seed corpus plus every staff correction; made current by default."""
    return train_from(settings, correction_examples(session, settings), activate=activate)


def train_from(settings: Settings, corrections: list[corpus.Example], *, activate: bool = True) -> VersionInfo:
    """Train on the shipped corpus plus these corrections; no database needed (background jobs train outside it).

    The new version goes live only if the retraining gate passes (not worse than the active version on the
    held-out set, overall and per class); otherwise it is kept inactive with the reason, for staff to inspect.
    """
    examples = [*corpus.training_examples(), *corrections]
    info = registry.train_version(settings, examples, corrections=len(corrections))
    active_version, active = registry.current_metrics(settings)
    passed, reason = registry.gate(info.model_dump(), active, active_version)
    if passed and not activate:
        reason += "；按要求未启用"
    info = registry.record_gate(settings, info.version, passed, reason)
    if activate and passed:
        use_version(settings, info.version)
        info.current = True
    return info


def use_version(settings: Settings, version: str) -> VersionInfo:
    """Switch (or roll back) the model every process uses from now on."""
    if version == "seed":
        version = registry.ensure_seed(settings)
    registry.set_current(settings, version)
    _forget_active(settings)
    return registry.read_info(settings, version)


def switch_version(
    session: Session, actor: str, settings: Settings, version: str, *, reason: str | None = None
) -> VersionInfo:
    """Staff switch (or roll back) the model every process uses (CLI, console, API): audited."""
    before = registry.current_version(settings)
    info = use_version(settings, version)
    record_version(session, actor, info, before=before, reason=reason or "切换模型版本")
    return info


def train_version(session: Session, actor: str, settings: Settings, *, activate: bool = True) -> VersionInfo:
    """Staff train a new version now (``wenming classifier train``); audited, with the version it replaced."""
    before = registry.current_version(settings)
    info = train(session, settings, activate=activate)
    record_version(session, actor, info, before=before, reason="重新训练模型")
    return info


def record_version(session: Session, actor: str, info: VersionInfo, *, before: str | None, reason: str) -> None:
    """One audit row for a new or switched model version (from the CLI or the retraining job)."""
    after = {
        "version": info.version,
        "current": info.current,
        "examples": info.examples,
        "corrections": info.corrections,
        "heldout_macro_f1": info.heldout_macro_f1,
    }
    if info.gate_reason:
        after["gate"] = info.gate_reason
    audit.record(
        session,
        actor,
        AuditKind.CLASSIFIER_VERSION,
        subject=("model", info.version),
        before={"version": before},
        after=after,
        reason=reason,
    )


def list_versions(settings: Settings) -> list[VersionInfo]:
    return registry.list_versions(settings)


def evaluate_file(
    settings: Settings, path: Path, version: str | None = None
) -> tuple[EvaluationReport, EvaluationReport, str]:
    """Score the model and the keyword-only baseline on a labelled JSONL file (and name the version)."""
    result = evaluate_path(settings, path, version)
    return result.model, result.baseline, result.version


def evaluate_path(settings: Settings, path: Path | None = None, version: str | None = None) -> FullEvaluation:
    """Everything ``classifier eval`` prints, on a JSONL file or a directory of them (default: the held-out set)."""
    target = path or corpus.HELDOUT_DIR
    try:
        examples = corpus.read_path(target)
    except corpus.CorpusError as exc:
        raise ClassifierError(str(exc)) from exc
    if not examples:
        raise ClassifierError(f"{target} 中没有样本")
    predictor = _load(settings, version) if version else active_predictor(settings)
    return evaluate(predictor, examples, settings.classifier_review_threshold)
