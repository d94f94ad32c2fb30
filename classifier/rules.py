"""The readable layer: keyword and pattern rules with weights, loaded from a YAML file staff can edit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from classifier.models import Label
from classifier.text import DATA_DIR, normalize

SHIPPED_RULES = DATA_DIR / "rules.yaml"
LABELS = [label.value for label in Label]
LABEL_ZH = {label.value: label.zh for label in Label}


class RulesError(ValueError):
    """The rules file is malformed; the message says where."""


@dataclass(frozen=True)
class Rule:
    name: str
    label: str
    weight: float
    keywords: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    # Keywords compiled into one alternation (longest first): one C-level scan instead of a Python loop.
    keyword_re: re.Pattern[str] | None = None

    def match(self, text: str) -> str | None:
        """The first keyword or pattern text that fires, else None."""
        for compiled in (self.keyword_re, self.pattern):
            if compiled is not None:
                found = compiled.search(text)
                if found:
                    return found.group(0)
        return None


@dataclass(frozen=True)
class Hit:
    rule: Rule
    matched: str

    def describe(self) -> str:
        zh = LABEL_ZH[self.rule.label]
        return f"规则「{self.rule.name}」命中「{self.matched[:20]}」→ {zh} {self.rule.weight:+.1f}"


class RuleSet:
    """All rules of one version; ``scores`` sums the weights of fired rules per label."""

    def __init__(self, rules: list[Rule], source: str) -> None:
        self.rules = rules
        self.source = source

    @classmethod
    def from_yaml(cls, text: str) -> RuleSet:
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise RulesError(f"规则文件不是合法的 YAML：{exc}") from exc
        items = data.get("rules") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise RulesError("规则文件缺少 rules 列表")
        return cls([_parse_rule(item, number) for number, item in enumerate(items, 1)], text)

    @classmethod
    def load(cls, path: Path) -> RuleSet:
        return cls.from_yaml(path.read_text(encoding="utf-8"))

    def hits(self, text: str) -> list[Hit]:
        """Rules that fire on an already normalised text."""
        hits = []
        for rule in self.rules:
            matched = rule.match(text)
            if matched is not None:
                hits.append(Hit(rule, matched))
        return hits

    @staticmethod
    def scores(hits: list[Hit], weight: float = 1.0) -> list[float]:
        totals = dict.fromkeys(LABELS, 0.0)
        for hit in hits:
            totals[hit.rule.label] += hit.rule.weight * weight
        return [totals[label] for label in LABELS]

    def baseline_label(self, text: str) -> str:
        """Keyword-only answer: the label with the highest rule score, ``other`` when nothing fires."""
        scores = self.scores(self.hits(normalize(text)))
        best = max(range(len(LABELS)), key=lambda i: scores[i])
        return LABELS[best] if scores[best] > 0 else Label.OTHER.value


def _parse_rule(item: object, number: int) -> Rule:
    if not isinstance(item, dict):
        raise RulesError(f"第 {number} 条规则格式不对")
    name = str(item.get("name") or f"规则{number}")
    label = item.get("label")
    if label not in LABELS:
        raise RulesError(f"规则「{name}」的类别 {label!r} 未知（应为 {'/'.join(LABELS)}）")
    try:
        weight = float(item.get("weight", 1.0))
    except (TypeError, ValueError) as exc:
        raise RulesError(f"规则「{name}」的权重不是数字") from exc
    keywords = tuple(normalize(str(k)) for k in item.get("keywords") or () if str(k).strip())
    pattern = None
    if item.get("pattern"):
        try:
            pattern = re.compile(str(item["pattern"]), re.IGNORECASE)
        except re.error as exc:
            raise RulesError(f"规则「{name}」的正则表达式有误：{exc}") from exc
    if not keywords and pattern is None:
        raise RulesError(f"规则「{name}」既没有关键词也没有正则表达式")
    keyword_re = None
    if keywords:
        keyword_re = re.compile("|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True)))
    return Rule(name=name, label=label, weight=weight, keywords=keywords, pattern=pattern, keyword_re=keyword_re)
