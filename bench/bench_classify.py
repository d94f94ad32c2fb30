"""Bench: texts/s through the full ``classify_text`` call vs bare ``jieba.lcut``, and the review load.

Usage: ``python bench/bench_classify.py [--rounds 5]``. Both sides run over the whole shipped corpus
(real-style train and held-out batches plus the old templates: one-word chatter up to long pasted articles),
timed back to back on every text; the median round's ratio is reported. Target: classify at least 0.5x the
speed of bare segmentation. Then, on the held-out set at the configured review threshold: the share of texts
sent to review and the precision of the ones accepted automatically.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import jieba

from classifier import corpus
from classifier.service import classify_text, evaluate_path
from wenming.settings import Settings

TARGET = 0.5


def _round(texts: list[str], classify: Callable[[str], object]) -> tuple[float, float]:
    """One pass over the texts, timing jieba and classify back to back on each text.

    Interleaving per text means a busy machine slows both sides alike, so the ratio stays honest.
    """
    jieba_time = classify_time = 0.0
    clock = time.perf_counter
    for text in texts:
        start = clock()
        jieba.lcut(text)
        middle = clock()
        classify(text)
        classify_time += clock() - middle
        jieba_time += middle - start
    return jieba_time, classify_time


def _separate_passes(texts: list[str], classify: Callable[[str], object]) -> float:
    """The same comparison as two whole passes (more exposed to load changes on a shared machine)."""
    start = time.perf_counter()
    for text in texts:
        jieba.lcut(text)
    middle = time.perf_counter()
    for text in texts:
        classify(text)
    return (middle - start) / (time.perf_counter() - middle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    jieba.setLogLevel(logging.WARNING)
    examples = corpus.training_examples() + corpus.heldout_examples()
    examples += corpus.read_jsonl(corpus.TRAIN_FILE) + corpus.read_jsonl(corpus.HELDOUT_FILE)
    texts = [e.text for e in examples]
    photos = {e.text: e.photos for e in examples}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), _env_file=None)  # type: ignore[call-arg]

        def classify(text: str) -> object:
            return classify_text(text, photo_count=photos[text], settings=settings)

        classify(texts[0])  # builds the seed model and loads the tokenizer: not part of the measurement
        jieba.lcut(texts[0])
        rounds = [_round(texts, classify) for _ in range(args.rounds)]
        separate = [_separate_passes(texts, classify) for _ in range(args.rounds)]
        review = evaluate_path(settings)
    best_jieba = min(r[0] for r in rounds)
    best_classify = min(r[1] for r in rounds)
    ratios = sorted(j / c for j, c in rounds)
    chars = sum(map(len, texts))
    jieba_rate, classify_rate = len(texts) / best_jieba, len(texts) / best_classify
    ratio = ratios[len(ratios) // 2]
    print(f"texts: {len(texts)} ({chars} characters), {args.rounds} rounds, interleaved per text")
    print(f"jieba.lcut:     {jieba_rate:10.0f} texts/s")
    print(f"classify_text:  {classify_rate:10.0f} texts/s")
    verdict = "OK" if ratio >= TARGET else "BELOW TARGET"
    print(f"ratio per round (interleaved):    {' '.join(f'{r:.2f}' for r in ratios)}")
    print(f"ratio per round (separate passes): {' '.join(f'{r:.2f}' for r in sorted(separate))}")
    print(f"ratio classify/jieba = {ratio:.2f} (median round; target >= {TARGET}) {verdict}")
    print(
        f"review at threshold {review.review_threshold:.2f} on the held-out set ({review.model.total} texts): "
        f"{review.review_share:.1%} sent to review, {review.accepted_precision:.1%} of the accepted ones right"
    )


if __name__ == "__main__":
    from benchlib import load_line

    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))
