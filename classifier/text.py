"""Text normalisation and the process-wide jieba tokenizer with the shipped domain dictionary."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from pathlib import Path

import jieba

from classifier.hanzi import to_simplified

DATA_DIR = Path(__file__).resolve().parent / "data"
USER_DICT = DATA_DIR / "userdict.txt"
# Texts longer than this are classified on their head; a pasted article's first pages carry its topic.
MAX_CHARS = 20_000
# HMM discovery of unknown words is off: character bigrams already cover names jieba does not know,
# and it halves segmentation time.
USE_HMM = False

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_SPACES = re.compile(r"\s+")


def normalize(text: str | None) -> str:
    """One script, half-width digits and letters, lower case, single spaces: what rules and features see."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS])
    return _SPACES.sub(" ", to_simplified(text)).strip().lower()


def tokenizer(cache_dir: Path) -> jieba.Tokenizer:
    """A dedicated jieba tokenizer (not the global one), built once per process, cached in cache_dir."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                _tokenizer = _build_tokenizer(cache_dir)
    return _tokenizer


def _build_tokenizer(cache_dir: Path) -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tok = jieba.Tokenizer()
    tok.tmp_dir = str(cache_dir)
    tok.initialize()
    tok.load_userdict(str(USER_DICT))
    return tok


def segment(tok: jieba.Tokenizer, text: str) -> list[str]:
    """Words of a normalised text, without blanks."""
    return [w for w in tok.lcut(text, HMM=USE_HMM) if w != " "]
