"""One loaded model version: rules + linear model + fact extraction → a ClassificationResult."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import jieba
import numpy as np

from classifier import facts as facts_mod
from classifier import features
from classifier.features import DISPATCH_FEATURE, SHARE_FEATURE
from classifier.linear import LinearModel
from classifier.models import Label
from classifier.rules import LABEL_ZH, LABELS, Hit, RuleSet
from classifier.schemas import ClassificationResult, LabelScore
from classifier.text import normalize, segment

EXTRA_TEXT_WEIGHT = 0.5  # OCR lines and other secondary inputs count half beside a real text
# A post whose own text is this short ("今天的活动", or nothing) says nothing; its banners are the evidence and
# count in full.
VAGUE_TEXT_MAX_CHARS = 6
SECONDARY_FLOOR = 0.2  # secondary labels below this are not even reported
_OTHER = Label.OTHER.value
_NEWS = Label.NEWS.value
# Banners name the partner village and screenshots the outlet; their dates are publication dates, not activities.
_EXTRA_FACT_KEYS = {"outlet", "outlet_level", "article_title", "partner"}
_BUCKETS = {
    "p:0": "没有照片",
    "p:1-3": "有 1–3 张照片",
    "p:4+": "有 4 张以上照片",
}


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def describe_feature(name: str) -> str:
    """A feature as staff read it: 词「敬老院」, 字「志愿」, 有 4 张以上照片."""
    if name.startswith("w:"):
        return f"词「{name[2:]}」"
    if name[:1] >= "\u4e00":
        return f"字「{name}」"
    if name == features.SHARE_FEATURE:
        return "分享的文章链接"
    if name == features.DISPATCH_FEATURE:
        return "新闻电头（本报讯、记者/通讯员署名）"
    if name.startswith("o:"):
        return "提到媒体" if name == "o:outlet" else f"提到{facts_mod.LEVEL_ZH.get(name[2:], '')}媒体"
    return _BUCKETS.get(name, name)


def _photos_without_words(text: str | None, photo_count: int, extra_texts: Sequence[str]) -> bool:
    """Photos with no text and nothing read from them could be any activity: a person must look."""
    return photo_count > 0 and not (text or "").strip() and not any(t.strip() for t in extra_texts)


@dataclass(frozen=True)
class TextInput:
    """One text to classify with what comes with it: the report's photo count, banner lines and posting date."""

    text: str | None
    photo_count: int = 0
    extra_texts: Sequence[str] = ()
    post_date: date | None = None


def _binary(prepared: Prepared) -> bool:
    """Whether every feature value is 1.0 (no secondary inputs), so the model may take its cheaper sum."""
    return not prepared.extra_texts and features.WORD_WEIGHT == features.CHAR_WEIGHT == 1.0


@dataclass
class Prepared:
    text: str
    features: dict[str, float]
    hits: list[Hit]
    rule_scores: list[float]
    outlets: list[tuple[str, str]]
    extra_texts: list[str]


class Predictor:
    """Classifies texts with one model version; immutable and shared across threads."""

    def __init__(
        self,
        version: str,
        model: LinearModel,
        rules: RuleSet,
        outlets: facts_mod.OutletTable,
        tok: jieba.Tokenizer,
        review_threshold: float,
    ) -> None:
        self.version = version
        self.model = model
        self.rules = rules
        self.outlets = outlets
        self.tok = tok
        self.review_threshold = review_threshold
        self._label_index = [model.labels.index(label) for label in LABELS]
        self._label_weights = {
            label: np.ascontiguousarray(model.weights[:, model.labels.index(label)]) for label in LABELS
        }

    def prepare(self, text: str | None, photo_count: int, extra_texts: Sequence[str] = ()) -> Prepared:
        """Normalise, segment, featurise and run the rules: the input both training and prediction use."""
        norm = normalize(text)
        vague = len(norm) <= VAGUE_TEXT_MAX_CHARS
        # "今天的活动" beside a banner says nothing: the banner alone decides (its words, not these, are evidence).
        read = "" if vague and any(e.strip() for e in extra_texts) else norm
        feats = features.extract(read, segment(self.tok, read), photo_count)
        outlets = self.outlets.mentioned(norm)
        for _, level in outlets:
            feats["o:outlet"] = feats["o:" + level] = 1.0
        hits = self.rules.hits(read)
        scores = RuleSet.scores(hits)
        extras = []
        weight = 1.0 if vague else EXTRA_TEXT_WEIGHT
        for extra in extra_texts:
            extra_norm = normalize(extra)
            if not extra_norm:
                continue
            extras.append(extra_norm)
            extra_feats = features.extract(extra_norm, segment(self.tok, extra_norm), photo_count, weight)
            for _, level in self.outlets.mentioned(extra_norm):
                extra_feats["o:outlet"] = extra_feats["o:" + level] = weight
            features.merge(feats, extra_feats)
            extra_hits = self.rules.hits(extra_norm)
            extra_scores = RuleSet.scores(extra_hits, weight)
            scores = [a + b for a, b in zip(scores, extra_scores, strict=True)]
            fired = {h.rule.name for h in hits}
            hits += [h for h in extra_hits if h.rule.name not in fired]
        return Prepared(norm, feats, hits, scores, outlets, extras)

    def probabilities(self, prepared: Prepared) -> tuple[np.ndarray, list[int], np.ndarray]:
        return self._probabilities(self.model.logits(prepared.features, prepared.rule_scores, binary=_binary(prepared)))

    def _probabilities(
        self, logits: tuple[np.ndarray, list[int], np.ndarray]
    ) -> tuple[np.ndarray, list[int], np.ndarray]:
        z, idx, vals = logits
        return _sigmoid(self.model.calibrated(z)[self._label_index]), idx, vals

    def decide(self, prepared: Prepared) -> tuple[int, np.ndarray, list[int], np.ndarray]:
        """The primary label's index (into LABELS) with the probabilities behind it.

        The most probable label wins, with one rule from the office's reading (labels-office.md): a shared
        article (a link card) or a press dispatch lead (本报讯…, 新华社…电) about an activity is counted as news,
        and the activity the model read from it stays as the secondary label. In the corpus every such text
        is labelled news (or other, for a shared notice).
        """
        return self._decide(prepared, self.probabilities(prepared))

    def _decide(
        self, prepared: Prepared, scored: tuple[np.ndarray, list[int], np.ndarray]
    ) -> tuple[int, np.ndarray, list[int], np.ndarray]:
        probs, idx, vals = scored
        best = int(probs.argmax())
        published = SHARE_FEATURE in prepared.features or DISPATCH_FEATURE in prepared.features
        if published and LABELS[best] not in (_NEWS, _OTHER):
            best = LABELS.index(_NEWS)
        return best, probs, idx, vals

    def classify(
        self,
        text: str | None,
        *,
        photo_count: int = 0,
        extra_texts: Sequence[str] = (),
        post_date: date | None = None,
    ) -> ClassificationResult:
        item = TextInput(text, photo_count, tuple(extra_texts), post_date)
        prepared = self.prepare(text, photo_count, extra_texts)
        return self._result(item, prepared, self.decide(prepared))

    def classify_many(self, items: Sequence[TextInput]) -> list[ClassificationResult]:
        """``classify`` of many texts, answer for answer: the linear model runs once over all of them.

        Normalising, segmenting (jieba), the rules and the facts are per text whichever way; the model's sums
        over the texts' features share one gather of the weight rows.
        """
        prepared = [self.prepare(item.text, item.photo_count, item.extra_texts) for item in items]
        logits = self.model.logits_many(
            [p.features for p in prepared], [p.rule_scores for p in prepared], [_binary(p) for p in prepared]
        )
        return [
            self._result(item, p, self._decide(p, self._probabilities(z)))
            for item, p, z in zip(items, prepared, logits, strict=True)
        ]

    def _result(
        self, item: TextInput, prepared: Prepared, decided: tuple[int, np.ndarray, list[int], np.ndarray]
    ) -> ClassificationResult:
        best, probs, idx, vals = decided
        scores = probs.tolist()
        silent = _photos_without_words(item.text, item.photo_count, item.extra_texts)
        if silent:  # nothing to read: not a guess at an activity, but 其他 until a person (or OCR) looks
            best = LABELS.index(_OTHER)
        label = LABELS[best]
        confidence = max(scores) if label == _NEWS else scores[best]  # published: as sure as the topic read from it
        secondary = []
        if label != _OTHER:
            ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
            secondary = [
                LabelScore.model_construct(label=LABELS[i], score=round(scores[i], 4))
                for i in ranked
                if i != best and LABELS[i] != _OTHER and scores[i] >= SECONDARY_FLOOR
            ]
        news_like = label == "news" or any(s.label == "news" for s in secondary)
        found = self._facts(prepared, item.post_date, news_like)
        # Every field is built here with the right type; skipping re-validation keeps classify cheap.
        return ClassificationResult.model_construct(
            label=label,
            secondary=secondary,
            confidence=round(confidence, 4),
            facts=found,
            evidence=self._evidence(label, prepared.hits, idx, vals, found),
            model_version=self.version,
            needs_review=not confidence >= self.review_threshold or silent,
        )

    def predict_label(self, text: str | None, photo_count: int = 0) -> str:
        return LABELS[self.decide(self.prepare(text, photo_count))[0]]

    def _facts(self, prepared: Prepared, post_date: date | None, news_like: bool) -> dict[str, Any]:
        found = facts_mod.extract(prepared.text, self.outlets, post_date, news_like, prepared.outlets)
        # Photo text (OCR) names the outlet of a screenshot; its dates are publication dates, not activities.
        for extra in prepared.extra_texts:
            for key, value in facts_mod.extract(extra, self.outlets, None, news_like).items():
                if key in _EXTRA_FACT_KEYS:
                    found.setdefault(key, value)
        return found

    def _evidence(
        self, label: str, hits: list[Hit], idx: list[int], vals: np.ndarray, found: dict[str, Any]
    ) -> list[str]:
        evidence = [hit.describe() for hit in hits]
        if len(idx):
            contributions = vals * self._label_weights[label][idx]
            top = np.argpartition(-contributions, 3)[:4] if len(idx) > 4 else np.arange(len(idx))
            scored = sorted(zip((-contributions[top]).tolist(), top.tolist(), strict=True))
            names = self.model.names
            words = [f"{describe_feature(names[idx[i]])} {-c:+.2f}" for c, i in scored if -c > 0.05]
            if words:
                evidence.append(f"模型判为{LABEL_ZH[label]}的主要依据：" + "，".join(words))
        if "outlet" in found:
            evidence.append(f"媒体：{found['outlet']}（{facts_mod.LEVEL_ZH[found['outlet_level']]}）")
        if "partner" in found:
            evidence.append(f"结对对象：{found['partner']}")
        return evidence
