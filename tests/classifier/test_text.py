"""Normalisation and the dedicated jieba tokenizer."""

from __future__ import annotations

from pathlib import Path

import jieba

from classifier import text


def test_normalize_unifies_script_width_case_and_spaces() -> None:
    assert text.normalize("縣稅務局　志願者  ＡＢＣ１２３") == "县税务局 志愿者 abc123"
    assert text.normalize(None) == ""
    assert len(text.normalize("县" * 100_000)) == text.MAX_CHARS


def test_dedicated_tokenizer_keeps_domain_words_and_caches_in_the_data_dir(tmp_path: Path) -> None:
    tok = text._build_tokenizer(tmp_path)
    assert tok is not jieba.dt
    assert (tmp_path / "jieba.cache").exists()
    words = text.segment(tok, "县局来到文明实践站开展结对共建和文明劝导，被湖州日报录用")
    for word in ("文明实践站", "结对共建", "文明劝导", "湖州日报"):
        assert word in words
    assert "文明实践站" not in jieba.dt.FREQ or jieba.dt.FREQ["文明实践站"] == 0  # the global one is untouched
