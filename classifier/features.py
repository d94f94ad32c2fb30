"""Features shared by training and prediction: jieba words, character bigrams, photo and length buckets."""

from __future__ import annotations

import re
from operator import add

# Bump when the feature definition changes: every model version records it and refuses a mismatch.
FEATURE_VERSION = 1

_BIGRAM_PREFIX = "c:"
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
_PUNCT = frozenset(" ,.;:!?()\"'，。；：！？、（）“”‘’《》【】[]…-—~～·|｜/@#%&*+=<>\n\t")


def _photo_bucket(photo_count: int) -> str:
    if photo_count <= 0:
        return "p:0"
    return "p:1-3" if photo_count <= 3 else "p:4+"


def _length_bucket(length: int) -> str:
    if length <= 6:
        return "n:tiny"
    if length <= 30:
        return "n:short"
    return "n:medium" if length <= 200 else "n:long"


def extract(text: str, words: list[str], photo_count: int, weight: float = 1.0) -> dict[str, float]:
    """Binary features of one normalised text (``weight`` < 1 for secondary inputs such as OCR lines)."""
    features = {"w:" + w: weight for w in words if w not in _PUNCT}
    for run in _CJK_RUN.findall(text):
        features.update(dict.fromkeys(map(_BIGRAM_PREFIX.__add__, map(add, run, run[1:])), weight))
    features[_photo_bucket(photo_count)] = weight
    features[_length_bucket(len(text))] = weight
    return features


def merge(into: dict[str, float], other: dict[str, float]) -> dict[str, float]:
    """Union of two feature maps keeping the larger value of shared features."""
    for key, value in other.items():
        if value > into.get(key, 0.0):
            into[key] = value
    return into
