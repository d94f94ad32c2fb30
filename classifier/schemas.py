"""What the classifier answers, evaluation results, and the correction staff make."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from classifier.models import Label


class LabelScore(BaseModel):
    label: str
    score: float


class ClassificationResult(BaseModel):
    """One answer: primary label, secondary labels with scores, confidence, facts, evidence, version."""

    label: str
    secondary: list[LabelScore] = Field(default_factory=list)
    confidence: float
    facts: dict[str, Any] = Field(default_factory=dict)
    evidence: list[str] = Field(default_factory=list)
    model_version: str
    needs_review: bool


class LabelMetrics(BaseModel):
    label: str
    precision: float
    recall: float
    f1: float
    support: int


class EvaluationReport(BaseModel):
    """Metrics of one system (model or keyword baseline) on one labelled file."""

    total: int
    accuracy: float
    macro_f1: float
    per_label: list[LabelMetrics]
    labels: list[str]
    confusion: list[list[int]]  # rows: gold label, columns: predicted label


class ClassificationPatch(BaseModel):
    """Staff set a report's labels (and maybe facts): the API body and the console form alike."""

    model_config = ConfigDict(extra="forbid")

    label: Label
    secondary_labels: list[Label] = Field(default_factory=list, max_length=4)
    facts: dict[str, Any] | None = None
    reason: str = Field(min_length=1, max_length=500, description="修改理由，记入审计日志")


class GenreScore(BaseModel):
    genre: str
    total: int
    correct: int
    accuracy: float


class ErrorItem(BaseModel):
    """One wrong answer: what it was, what the model said and how sure it was."""

    text: str
    label: str
    alt: str | None
    predicted: str
    confidence: float
    genre: str | None
    batch: str | None


class FullEvaluation(BaseModel):
    """Everything ``classifier eval`` prints: lenient, strict and keyword-baseline scores, genres, review load."""

    version: str
    model: EvaluationReport  # lenient: the alt label counts as right
    strict: EvaluationReport  # only the primary label counts
    baseline: EvaluationReport  # keyword rules only, same texts, same run
    genres: list[GenreScore]
    worst: list[ErrorItem]
    review_threshold: float
    review_share: float  # texts whose confidence is below the threshold (a person must look)
    accepted_precision: float  # share right among the texts accepted automatically
    short_total: int = 0  # texts under SHORT_CHARS characters …
    short_correct: int = 0
    short_to_other: int = 0  # … of an activity label that the model still called 其他
