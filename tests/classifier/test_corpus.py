"""The shipped seed corpus: reproducible, large enough, varied, and an honest held-out split."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from classifier import corpus
from classifier.hanzi import SIMPLIFIED_TO_TRADITIONAL, TRADITIONAL_TO_SIMPLIFIED


def test_committed_files_are_exactly_what_the_seeded_script_generates() -> None:
    train, heldout = corpus.build()
    assert corpus.TRAIN_FILE.read_text(encoding="utf-8") == "".join(e.to_json() + "\n" for e in train)
    assert corpus.HELDOUT_FILE.read_text(encoding="utf-8") == "".join(e.to_json() + "\n" for e in heldout)


def test_size_labels_and_disjoint_splits() -> None:
    train = corpus.read_jsonl(corpus.TRAIN_FILE)
    heldout = corpus.read_jsonl(corpus.HELDOUT_FILE)
    assert len(train) + len(heldout) >= 800
    assert len(heldout) >= 200
    for split in (train, heldout):
        counts = Counter(e.label for e in split)
        assert set(counts) == {"practice", "pairing", "news", "volunteer", "other"}
        assert min(counts.values()) >= 0.12 * len(split)
    assert not {e.text for e in train} & {e.text for e in heldout}


def test_heldout_uses_other_templates_and_fillers() -> None:
    import yaml

    train_spec = yaml.safe_load((corpus.CORPUS_DIR / "templates_train.yaml").read_text(encoding="utf-8"))
    held_spec = yaml.safe_load((corpus.CORPUS_DIR / "templates_heldout.yaml").read_text(encoding="utf-8"))
    for label in ("practice", "pairing", "news", "volunteer"):
        assert not set(train_spec["templates"][label]) & set(held_spec["templates"][label])
    for filler in ("unit", "village", "community"):
        assert not set(train_spec["fillers"][filler]) & set(held_spec["fillers"][filler])


def test_corpus_covers_the_real_variety() -> None:
    examples = corpus.read_jsonl(corpus.TRAIN_FILE) + corpus.read_jsonl(corpus.HELDOUT_FILE)
    texts = [e.text for e in examples]
    traditional = set(TRADITIONAL_TO_SIMPLIFIED) - set(SIMPLIFIED_TO_TRADITIONAL)
    assert sum(any(ch in traditional for ch in t) for t in texts) >= 40
    assert sum(any(ord(ch) > 0x1F000 for ch in t) for t in texts) >= 40  # emoji
    assert sum(len(t) > 300 for t in texts) >= 20  # long pasted articles
    assert sum("录用" in t or "刊发" in t or "采用" in t for t in texts) >= 30  # adoption notices
    assert sum(len(t) <= 6 for t in texts) >= 10  # one-word chatter
    assert any(e.alt for e in examples)


def test_reading_a_bad_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "好的", "label": "other"}) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(corpus.CorpusError, match="第 2 行"):
        corpus.read_jsonl(path)
    path.write_text(json.dumps({"text": "好的", "label": "chatter"}) + "\n", encoding="utf-8")
    with pytest.raises(corpus.CorpusError, match="未知"):
        corpus.read_jsonl(path)
