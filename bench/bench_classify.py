"""Bench: texts/s through the full ``classify_text`` call vs bare ``jieba.lcut``, and the review load.

Usage: ``[WENMING_DATABASE_URL=...] python bench/bench_classify.py [--rounds 5] [--reports 500]``. Both sides run
over the whole shipped corpus
(real-style train and held-out batches plus the old templates: one-word chatter up to long pasted articles),
timed back to back on every text; the median round's ratio is reported. Target: classify at least 0.5x the
speed of bare segmentation. Then, on the held-out set at the configured review threshold: the share of texts
sent to review and the precision of the ones accepted automatically.

Last, on the database ``WENMING_DATABASE_URL`` names (default: a throw-away SQLite file; PostgreSQL gets a
throw-away schema): ``--reports`` stored reports classified one by one (``classify_report``) against the same
reports in one ``classify_reports`` call, each pass rolled back, three rounds: SQL statements and milliseconds per
report, and the ratio.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jieba
from bench_ingest import scratch_database
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from classifier import corpus
from classifier.service import classify_report, classify_reports, classify_text, evaluate_path
from ingest.models import ChatGroup, Member, Report
from wenming import schema
from wenming.db import create_db_engine, make_session_factory
from wenming.settings import Settings, get_settings

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


def _one_pass(session: Session, settings: Settings, ids: list[int], batched: bool) -> tuple[float, int]:
    """Seconds and SQL statements to classify these stored reports, one by one or in one call (rolled back)."""
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    bind = session.get_bind()
    reports = list(session.query(Report).filter(Report.id.in_(ids)).order_by(Report.id))
    event.listen(bind, "before_cursor_execute", count)
    started = time.perf_counter()
    if batched:
        classify_reports(session, settings, reports)
    else:
        for report in reports:
            classify_report(session, settings, report)
    session.flush()
    elapsed = time.perf_counter() - started
    event.remove(bind, "before_cursor_execute", count)
    session.rollback()
    return elapsed, statements


def batch_line(settings: Settings, texts: list[str], photos: dict[str, int], count: int, rounds: int) -> str:
    """The line: classify N reports one by one vs classify_reports in one call (statements, ms per report, ratio)."""
    base_url = get_settings().database_url
    with tempfile.TemporaryDirectory() as tmp, scratch_database(base_url, Path(tmp)) as url:
        schema.upgrade(url)
        engine = create_db_engine(url)
        factory = make_session_factory(engine)
        with factory() as session:
            group = ChatGroup(platform="wechat", platform_id="bench", name="基准群")
            member = Member(platform="wechat", platform_user_id="bench", display_name="基准")
            session.add_all([group, member])
            session.flush()
            start = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
            reports = [
                Report(
                    group_id=group.id,
                    sender_id=member.id,
                    first_message_at=start + timedelta(minutes=n),
                    last_message_at=start + timedelta(minutes=n),
                    text_message_at=start + timedelta(minutes=n),
                    post_date=date(2026, 4, 1),
                    text=texts[n % len(texts)],
                    photo_count=photos[texts[n % len(texts)]],
                )
                for n in range(count)
            ]
            session.add_all(reports)
            session.commit()
            ids = [r.id for r in reports]
        one: list[tuple[float, int]] = []
        many: list[tuple[float, int]] = []
        for _ in range(rounds):  # alternate, so that a change in the machine's load hits both alike
            for batched, results in ((False, one), (True, many)):
                with factory() as session:
                    results.append(_one_pass(session, settings, ids, batched))
        engine.dispose()
    backend = make_url(base_url).get_backend_name()
    one_ms = statistics.median(t for t, _ in one) * 1000 / count
    many_ms = statistics.median(t for t, _ in many) * 1000 / count
    return (
        f"classify {count} reports ({backend}, median of {rounds}): one by one {one[0][1] / count:.1f} statements "
        f"and {one_ms:.2f} ms per report; classify_reports in one call {many[0][1]} statements in all "
        f"({many[0][1] / count:.3f} per report) and {many_ms:.2f} ms per report; ratio {one_ms / many_ms:.2f}×"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reports", type=int, default=500, help="reports for the one-by-one vs batch line")
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
        batch = batch_line(settings, texts, photos, args.reports, 3)
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
    print(batch)


if __name__ == "__main__":
    from benchlib import load_line

    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))
