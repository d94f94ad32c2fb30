"""Rubrics are data: YAML files in ``scoring/rubrics/`` validated into these models, with named errors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

RUBRIC_DIR = Path(__file__).resolve().parent / "rubrics"

Level = Literal["county", "city", "province", "central"]
Rounding = Literal["floor", "ceil", "exact"]
Points = Annotated[float, Field(ge=0, le=100)]


class RubricError(ValueError):
    """A rubric file is missing or malformed; the Chinese message names the file, the key and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Counting(_Strict):
    """Which reports count and on which date."""

    date_basis: Literal["activity_date", "post_date"]
    count_needs_review: bool
    in_progress: Literal["elapsed", "all"]


class Liveliness(_Strict):
    """活跃度: capped reports per day + distinct active days + capped non-repost photos."""

    labels: list[Literal["practice", "pairing", "news", "volunteer", "other"]] = Field(min_length=1)
    daily_report_cap: int = Field(ge=1)
    report_weight: float = Field(ge=0)
    day_weight: float = Field(ge=0)
    photo_weight: float = Field(ge=0)
    daily_photo_cap: int = Field(ge=0)
    exclude_repost_photos: bool = True
    min_practice_per_month: int = Field(ge=0)


class MonthlyCountItem(_Strict):
    """Full points for a month with ``min_per_month`` reports; ``partial`` maps fewer to a fraction."""

    points: Points
    labels: list[Literal["practice", "pairing", "news", "volunteer", "other"]] = Field(min_length=1)
    min_per_month: int = Field(ge=1)
    partial: dict[int, Annotated[float, Field(ge=0, le=1)]] = {}

    @model_validator(mode="after")
    def _partial_below_minimum(self) -> MonthlyCountItem:
        for count in self.partial:
            if not 0 < count < self.min_per_month:
                raise ValueError(f"partial 的次数 {count} 必须大于 0 且小于 min_per_month")
        return self


class PairingItem(_Strict):
    points: Points
    min_per_quarter: int = Field(ge=1)
    evidence: Literal["sheet", "sheet_or_report"]


class AdoptionItem(_Strict):
    points: Points
    per_article: dict[Level, Annotated[float, Field(ge=0)]]
    cap: float | None = Field(ge=0)

    @model_validator(mode="after")
    def _all_levels(self) -> AdoptionItem:
        missing = {"county", "city", "province", "central"} - set(self.per_article)
        if missing:
            raise ValueError(f"per_article 缺少级别：{', '.join(sorted(missing))}")
        return self


class CooperationItem(_Strict):
    points: Points
    per_criticism: float = Field(gt=0)


class ChangxingItems(_Strict):
    practice: MonthlyCountItem
    pairing: PairingItem
    news: MonthlyCountItem
    adoption: AdoptionItem
    cooperation: CooperationItem


class ChangxingAnnual(_Strict):
    warning_below: float = Field(ge=0, le=100)
    rectification_years: int = Field(ge=2)
    review_weight: float = Field(ge=0, le=1)


class VolunteerRatios(_Strict):
    min_registered_ratio: float = Field(ge=0, le=1)
    min_registered_ratio_high: float = Field(ge=0, le=1)
    high_levels: list[Literal["national", "provincial", "city", "county"]]
    min_active_ratio: float = Field(ge=0, le=1)


class ChangxingRubric(_Strict):
    kind: Literal["changxing"]
    name: str
    title: str
    source: str
    counting: Counting
    liveliness: Liveliness
    items: ChangxingItems
    annual: ChangxingAnnual
    volunteer: VolunteerRatios

    @property
    def total_points(self) -> float:
        i = self.items
        return i.practice.points + i.pairing.points + i.news.points + i.adoption.points + i.cooperation.points


class PlanItem(_Strict):
    annual_plan: Points
    annual_summary: Points
    materials: Points


class RegistrationRule(_Strict):
    points: Points
    min_ratio: float = Field(ge=0, le=1)
    per_point_below: float = Field(ge=0)


class TrainingRule(_Strict):
    points: Points
    min_per_quarter: int = Field(ge=1)


class TeamItem(_Strict):
    team_flag: Points
    uniforms: Points
    uniform_worn: Points
    registration: RegistrationRule
    training: TrainingRule


class ServicesRule(_Strict):
    points: Points
    labels: list[Literal["practice", "pairing", "news", "volunteer", "other"]] = Field(min_length=1)
    small_max_projects: int = Field(ge=0)
    small_min_services: int = Field(ge=1)
    large_min_services: int = Field(ge=1)
    per_missing: float = Field(ge=0)
    projects_when_unknown: int = Field(ge=0)


class ParticipationRule(_Strict):
    points: Points
    hours_per_volunteer: float = Field(gt=0)
    per_missing_hour: float = Field(ge=0)
    hours_source: Literal["stats", "stats_then_reports"]


class AwarenessRule(_Strict):
    points: Points
    min_percent: float = Field(ge=0, le=100)
    per_point_below: float = Field(ge=0)
    when_missing: Literal["full", "zero"]


class ActivityItem(_Strict):
    services: ServicesRule
    participation: ParticipationRule
    awareness: AwarenessRule


class BrandItem(_Strict):
    brand_plan: Points
    brand_promoted: Points


class MediaItem(_Strict):
    points: Points
    per_item: dict[Level, Annotated[float, Field(ge=0)]]
    cap: float | None = Field(ge=0)


class MonthlySummaryRule(_Strict):
    points: Points
    deadline_day: int = Field(ge=1, le=28)
    deadline_inclusive: bool
    per_miss: float = Field(ge=0)


class SatisfactionRule(_Strict):
    grades: dict[str, Points] = Field(min_length=1)
    when_missing: float = Field(ge=0)


class FeedbackItem(_Strict):
    monthly_summary: MonthlySummaryRule
    satisfaction: SatisfactionRule


class XixiangItems(_Strict):
    plan: PlanItem
    team: TeamItem
    activity: ActivityItem
    brand: BrandItem
    media: MediaItem
    feedback: FeedbackItem


class BonusTable(_Strict):
    hosted_event: float = Field(ge=0)
    research_visit: dict[Level, Annotated[float, Field(ge=0)]]
    leader_instruction: dict[Level, Annotated[float, Field(ge=0)]]


class XixiangAnnual(_Strict):
    average_over: Literal["elapsed_quarters", "all_quarters"]
    warning_below: float | None = Field(ge=0, le=100)


class XixiangRubric(_Strict):
    kind: Literal["xixiang"]
    name: str
    title: str
    source: str
    counting: Counting
    liveliness: Liveliness
    point_rounding: Rounding
    items: XixiangItems
    bonus: BonusTable
    annual: XixiangAnnual

    @property
    def total_points(self) -> float:
        i = self.items
        return (
            i.plan.annual_plan
            + i.plan.annual_summary
            + i.plan.materials
            + i.team.team_flag
            + i.team.uniforms
            + i.team.uniform_worn
            + i.team.registration.points
            + i.team.training.points
            + i.activity.services.points
            + i.activity.participation.points
            + i.activity.awareness.points
            + i.brand.brand_plan
            + i.brand.brand_promoted
            + i.media.points
            + i.feedback.monthly_summary.points
            + max(i.feedback.satisfaction.grades.values())
        )


Rubric = Annotated[ChangxingRubric | XixiangRubric, Field(discriminator="kind")]


class _RubricFile(BaseModel):
    rubric: Rubric


_PROBLEMS = {
    "missing": "缺少必填项",
    "extra_forbidden": "不认识的键（拼写错误？）",
    "literal_error": "取值不在允许范围内",
    "union_tag_invalid": "kind 必须是 changxing 或 xixiang",
    "union_tag_not_found": "缺少 kind（changxing 或 xixiang）",
    "float_parsing": "应为数字",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_parsing": "应为 true 或 false",
    "string_type": "应为文字",
    "list_type": "应为列表",
    "dict_type": "应为映射（键: 值）",
    "model_type": "应为映射（键: 值）",
    "too_short": "不能为空",
}


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    """Turn one pydantic error into (dotted key, Chinese problem)."""
    loc = [str(part) for part in error["loc"][1:] if part not in ("changxing", "xixiang")]
    key = ".".join(loc) or "（文件顶层）"
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than"):
        sign = "≥" if kind == "greater_than_equal" else ">"
        problem = f"应{sign} {ctx.get('ge', ctx.get('gt'))}，实际为 {error.get('input')!r}"
    elif kind in ("less_than_equal", "less_than"):
        sign = "≤" if kind == "less_than_equal" else "<"
        problem = f"应{sign} {ctx.get('le', ctx.get('lt'))}，实际为 {error.get('input')!r}"
    elif kind == "literal_error":
        problem = f"取值 {error.get('input')!r} 不在允许范围内（{ctx.get('expected')}）"
    elif kind == "value_error":
        problem = str(ctx.get("error", error["msg"]))
    else:
        problem = _PROBLEMS.get(kind, f"取值无效（{error['msg']}）")
        if kind in ("float_parsing", "int_parsing", "bool_parsing"):
            problem += f"，实际为 {error.get('input')!r}"
    return key, problem


def parse_rubric_file(path: Path) -> ChangxingRubric | XixiangRubric:
    """Read and validate one rubric file; every failure is a ``RubricError`` naming file and key."""
    if not path.is_file():
        raise RubricError(f"评分标准文件 {path} 不存在")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark else "某处"
        raise RubricError(f"评分标准文件 {path.name} {where} YAML 格式错误：{exc}") from None
    if not isinstance(data, dict):
        raise RubricError(f"评分标准文件 {path.name}：内容应为键值映射")
    try:
        rubric = _RubricFile.model_validate({"rubric": data}).rubric
    except ValidationError as exc:
        key, problem = _describe(exc.errors()[0])
        more = f"（另有 {exc.error_count() - 1} 处错误）" if exc.error_count() > 1 else ""
        raise RubricError(f"评分标准文件 {path.name} 中的 {key}：{problem}{more}") from None
    if rubric.name != path.stem:
        raise RubricError(f"评分标准文件 {path.name} 中的 name：应与文件名一致（{path.stem}），实际为 {rubric.name!r}")
    return rubric


def list_rubric_names(directory: Path = RUBRIC_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_rubric_by_name(name: str, directory: Path = RUBRIC_DIR) -> ChangxingRubric | XixiangRubric:
    """Load a shipped rubric by name (file stem), or a path to a YAML file."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml"):
        return parse_rubric_file(candidate)
    if name not in list_rubric_names(directory):
        known = "、".join(list_rubric_names(directory))
        raise RubricError(f"没有名为 {name!r} 的评分标准（可选：{known}）")
    return parse_rubric_file(directory / f"{name}.yaml")
