"""Scoring benchmark: 2,000 units × one year (≈ 500k reports) timed against a bare GROUP BY in the same run.

    .venv/bin/python bench/bench_scoring.py                       # SQLite file under ./var/bench
    WENMING_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/wm_h3 \
        .venv/bin/python bench/bench_scoring.py --reset

The database must be empty (or pass ``--reset``, which wipes it). Rows are generated with bulk inserts; a
classification row is written only for reports whose facts scoring reads (news with an outlet level, volunteer
reports with hours), which is all that scoring joins.

Each table is timed in four states: cold (every stored per-unit part dropped: the whole table computed and
stored), warm (nothing changed since the last call), after ``--changed`` units each had one report relabelled
(what a stretch of staff review or live reporting leaves between two reads), and the next day (only the parts of
the as-of day stored, the table read as of the day after: a closed period reuses them, an open one is computed).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from benchlib import reset_database
from sqlalchemy import case, func, insert, select, text, update
from sqlalchemy.orm import Session

from classifier.models import Classification, ReportTag
from ingest.models import ChatGroup, Member, Report, Unit
from scoring import repository, service
from scoring.models import Criticism, MediaAdoption, PairingSheet, VolunteerStats, XixiangCheck
from wenming import schema
from wenming.db import create_db_engine
from wenming.settings import Settings

YEAR = 2026
LABELS = [
    "practice",
    "practice",
    "practice",
    "volunteer",
    "volunteer",
    "news",
    "news",
    "pairing",
    "other",
    "other",
]
LEVELS = ["county", "county", "county", "city", "city", "province", "central"]
BATCH = 20_000
BENCH_SQLITE = "sqlite:///./var/bench/scoring.db"


def _flush(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(model), rows)
        rows.clear()


def _report_rows(rng: random.Random, unit_id: int, report_id: int, day: date) -> tuple[dict[str, Any], list[str]]:
    at = datetime(day.year, day.month, day.day, rng.randint(0, 23), rng.randint(0, 59), tzinfo=UTC)
    label = rng.choice(LABELS)
    labels = [label] + (["volunteer"] if label == "practice" and rng.random() < 0.2 else [])
    status = rng.choices(["classified", "needs_review", "corrected"], [85, 10, 5])[0]
    activity = day - timedelta(days=rng.randint(0, 5)) if rng.random() < 0.3 else None
    row = {
        "id": report_id,
        "unit_id": unit_id,
        "group_id": 1,
        "sender_id": unit_id,
        "first_message_at": at,
        "last_message_at": at,
        "post_date": day,
        "activity_date": activity,
        "text": "开展新时代文明实践志愿服务活动",
        "photo_count": rng.randint(0, 9),
        "status": status,
        "label": label,
        "confidence": 0.8,
        "possible_repost": rng.random() < 0.03,
        "created_at": at,
        "updated_at": at,
    }
    return row, labels


def generate(url: str, units: int, per_unit: int, seed: int) -> int:
    """Bulk-insert units, members, reports, tags and the classifications scoring reads."""
    rng = random.Random(seed)
    engine = create_db_engine(url)
    now = datetime.now(UTC)
    start = date(YEAR, 1, 1)
    with Session(engine) as session:
        session.execute(insert(ChatGroup), [{"id": 1, "platform": "wechat", "platform_id": "bench", "created_at": now}])
        levels = ["county"] * 6 + ["city"] * 2 + ["provincial", "national"]
        session.execute(
            insert(Unit),
            [
                {
                    "id": i,
                    "name": f"单位{i:04d}",
                    "aliases": [],
                    "honour_level": rng.choice(levels),
                    "headcount": rng.randint(20, 400),
                    "active": True,
                    "created_at": now,
                }
                for i in range(1, units + 1)
            ],
        )
        session.execute(
            insert(Member),
            [
                {
                    "id": i,
                    "platform": "wechat",
                    "platform_user_id": f"wx{i}",
                    "unit_id": i,
                    "is_staff": False,
                    "first_seen_at": now,
                    "last_seen_at": now,
                }
                for i in range(1, units + 1)
            ],
        )
        reports: list[dict[str, Any]] = []
        tags: list[dict[str, Any]] = []
        classes: list[dict[str, Any]] = []
        report_id = 0
        for unit_id in range(1, units + 1):
            count = max(0, int(rng.gauss(per_unit, per_unit / 3)))
            for _ in range(count):
                report_id += 1
                row, labels = _report_rows(rng, unit_id, report_id, start + timedelta(days=rng.randint(0, 364)))
                reports.append(row)
                tags.extend(
                    {"report_id": report_id, "label": lab, "is_primary": i == 0, "score": 0.8}
                    for i, lab in enumerate(labels)
                )
                facts = _facts(rng, labels[0], report_id)
                classes.append(
                    {
                        "report_id": report_id,
                        "label": labels[0],
                        "secondary_labels": [],
                        "confidence": 0.8,
                        "facts": facts,
                        "evidence": [],
                        "source": "model",
                        "is_current": True,
                        "created_at": now,
                    }
                )
            if len(reports) >= BATCH:
                _flush(session, Report, reports)
                _flush(session, ReportTag, tags)
                _flush(session, Classification, classes)
        _flush(session, Report, reports)
        _flush(session, ReportTag, tags)
        _flush(session, Classification, classes)
        _staff_records(session, rng, units, now)
        session.commit()
    # what autovacuum would have done on a live server: statistics, and on PostgreSQL the visibility map
    statement = "VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(statement))
    engine.dispose()
    return report_id


def _staff_records(session: Session, rng: random.Random, units: int, now: datetime) -> None:
    """A year of staff entries: pairing sheets, volunteer stats, 西乡 checks, criticisms, adoptions."""
    audit = {"created_by": "bench", "created_at": now}
    sheets, stats, checks, criticisms, adoptions = [], [], [], [], []
    for unit_id in range(1, units + 1):
        for quarter in range(1, 5):
            if rng.random() < 0.8:
                sheets.append(
                    {
                        "unit_id": unit_id,
                        "year": YEAR,
                        "quarter": quarter,
                        "partner": "某村",
                        "activity_count": 1,
                    }
                    | audit
                )
            headcount = rng.randint(20, 400)
            registered = rng.randint(headcount // 10, headcount)
            stats.append(
                {
                    "unit_id": unit_id,
                    "year": YEAR,
                    "quarter": quarter,
                    "headcount": headcount,
                    "registered": registered,
                    "active": rng.randint(0, registered),
                    "service_projects": rng.randint(1, 6),
                    "service_hours": rng.uniform(0, 8) * registered,
                }
                | audit
            )
            checks.append(
                {
                    "unit_id": unit_id,
                    "kind": "awareness",
                    "year": YEAR,
                    "quarter": quarter,
                    "done_on": date(YEAR, 3 * quarter, 15),
                    "value": rng.uniform(60, 100),
                }
                | audit
            )
        for month in range(1, 13):
            checks.append(
                {
                    "unit_id": unit_id,
                    "kind": "monthly_summary",
                    "year": YEAR,
                    "quarter": (month + 2) // 3,
                    "month": month,
                    "done_on": date(YEAR, month, rng.randint(10, 28)),
                }
                | audit
            )
        if rng.random() < 0.1:
            criticisms.append(
                {"unit_id": unit_id, "occurred_on": date(YEAR, rng.randint(1, 12), 5), "reason": "督查通报"} | audit
            )
        for i in range(2):
            title = f"文明实践简讯{unit_id}-{i}"
            adoptions.append(
                {
                    "unit_id": unit_id,
                    "title": title,
                    "title_key": title,
                    "outlet": "湖州日报",
                    "level": rng.choice(LEVELS),
                    "published_on": date(YEAR, rng.randint(1, 12), 9),
                }
                | audit
            )
    for model, rows in (
        (PairingSheet, sheets),
        (VolunteerStats, stats),
        (XixiangCheck, checks),
        (Criticism, criticisms),
        (MediaAdoption, adoptions),
    ):
        for i in range(0, len(rows), BATCH):
            session.execute(insert(model), rows[i : i + BATCH])


def _facts(rng: random.Random, label: str, report_id: int) -> dict[str, Any]:
    if label == "news" and rng.random() < 0.3:
        return {
            "outlet": "长兴新闻网",
            "outlet_level": rng.choice(LEVELS),
            "article_title": f"文明实践简讯{report_id // 3}",
        }
    if label == "volunteer" and rng.random() < 0.5:
        return {"volunteer_hours": rng.choice([1.0, 2.0, 3.5]), "participants": rng.randint(3, 30)}
    return {}


def _ms(fn: Callable[[], Any]) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds of one call (CPU: this process, which is all of SQLite's work)."""
    began, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - began) * 1000, (time.process_time() - cpu) * 1000


def timed_pair(
    fn: Callable[[], Any], bare: Callable[[], Any], repeat: int, before: Callable[[], Any] | None = None
) -> tuple[float, float, float, float]:
    """Median wall and CPU times of ``fn`` and of the bare query, run alternately so that load hits both alike.

    ``before`` runs untimed ahead of each call of ``fn`` (emptying the stored parts, changing some reports).
    On a crowded machine the wall clock mostly measures waiting for a core; with SQLite the CPU time of this
    process is the work itself, so its ratio is the steadier figure.
    """
    ours, base = [], []
    for _ in range(repeat):
        base.append(_ms(bare))
        if before is not None:
            before()
        ours.append(_ms(fn))
    return (
        statistics.median(t for t, _ in ours),
        statistics.median(t for t, _ in base),
        statistics.median(c for _, c in ours),
        statistics.median(c for _, c in base),
    )


def run(url: str, repeat: int, changed: int) -> None:
    engine = create_db_engine(url)
    settings = Settings(database_url=url, _env_file=None)  # type: ignore[call-arg]
    changxing = service.load_rubric("changxing-2020")
    xixiang = service.load_rubric("xixiang-2022")
    as_of = date(YEAR, 12, 31)
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(Report))
        unit_id = session.scalar(select(Report.unit_id).group_by(Report.unit_id).order_by(func.count().desc()).limit(1))

        def bare() -> Any:
            return session.execute(select(Report.unit_id, func.count()).group_by(Report.unit_id)).all()

        # (name, table as of a day, the as-of day); the monthly ranking has none (its month is its whole window)
        cases: list[tuple[str, Callable[[date], Any], date]] = [
            (
                "月度活跃度排名 2026-10（长兴）",
                lambda day: service.monthly_ranking(session, settings, changxing, YEAR, 10),
                as_of,
            ),
            (
                "季度汇总表 2026Q3（长兴）",
                lambda day: service.quarter_table(session, settings, changxing, YEAR, 3, day),
                as_of,
            ),
            (
                "季度考核表 2026Q3（西乡）",
                lambda day: service.quarter_table(session, settings, xixiang, YEAR, 3, day),
                as_of,
            ),
            (
                "单位年度得分说明（长兴）",
                lambda day: service.explain_unit(session, settings, changxing, unit_id, YEAR, day),
                as_of,
            ),
            (
                "单位年度得分说明（西乡）",
                lambda day: service.explain_unit(session, settings, xixiang, unit_id, YEAR, day),
                as_of,
            ),
            (
                "全部单位年度得分（长兴，参考）",
                lambda day: service.annual_scores(session, settings, changxing, YEAR, day),
                as_of,
            ),
            (
                "全部单位年度得分（长兴，截至8月：预计+累计）",
                lambda day: service.annual_scores(session, settings, changxing, YEAR, day),
                date(YEAR, 8, 31),
            ),
            (
                "全部单位年度得分（西乡，截至8月：预计+累计）",
                lambda day: service.annual_scores(session, settings, xixiang, YEAR, day),
                date(YEAR, 8, 31),
            ),
        ]
        bare()  # warm the cache for everyone alike
        repository.take_score_changes(session)  # the generated rows' change marks, consumed once …
        session.commit()
        _vacuum(engine, "score_changes", "score_cache")  # … and their dead rows gone, as autovacuum would leave them
        print(f"数据库：{engine.dialect.name}；报送 {total} 条；单位 #{unit_id} 用于单位说明")
        print(f"基准：SELECT unit_id, count(*) FROM reports GROUP BY unit_id（与每项交替 {repeat} 次，取中位数）")
        print(
            f"四种状态：冷＝已存单位分项全部清空（整表重算并存入）；热＝无变化；"
            f"改{changed}单位＝上次计算后 {changed} 个单位各有一条报送改了标签；"
            "次日＝只存有截至日的分项，按其次日读取（已结束的期间沿用，未结束的重算）"
        )
        in_process = engine.dialect.name == "sqlite"  # PostgreSQL works in the server: its CPU is not ours
        cpu_head = f"{'CPU':>10}{'CPU基准':>10}{'CPU倍数':>8}" if in_process else ""
        print(f"{'项目':<36}{'状态':<8}{'用时':>10}{'基准':>10}{'倍数':>8}{cpu_head}")
        rng = random.Random(7)
        originals: dict[int, str] = {}

        def cold() -> None:
            repository.drop_score_cache(session)
            session.commit()

        def change() -> None:
            _change_reports(session, rng, changed, originals)
            session.commit()

        try:
            for name, fn, day in cases:
                call = _committed(session, lambda fn=fn, day=day: fn(day))  # as at a request's edge: parts committed
                next_day = _committed(session, lambda fn=fn, day=day: fn(day + timedelta(days=1)))

                def only_today(call: Callable[[], Any] = call) -> None:
                    cold()
                    call()

                states: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]] = [
                    ("冷", call, cold),
                    ("热", call, None),
                    (f"改{changed}单位", call, change),
                    ("次日", next_day, only_today),
                ]
                call()
                for state, timed, before in states:
                    elapsed, baseline, cpu, cpu_base = timed_pair(timed, bare, repeat, before)
                    line = f"{name:<30}{state:<8}{elapsed:8.1f}ms{baseline:8.1f}ms{elapsed / baseline:7.2f}×"
                    if in_process:
                        line += f"{cpu:8.1f}ms{cpu_base:8.1f}ms{cpu / max(cpu_base, 0.001):7.2f}×"
                    print(line, flush=True)
        finally:
            _restore(session, originals)  # the bench leaves the data as generated
    engine.dispose()


def _vacuum(engine: Any, *tables: str) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"VACUUM ANALYZE {', '.join(tables)}"))


def _committed(session: Session, fn: Callable[[], Any]) -> Callable[[], Any]:
    def call() -> Any:
        result = fn()
        session.commit()
        return result

    return call


def _change_reports(session: Session, rng: random.Random, units: int, originals: dict[int, str]) -> None:
    """Give one report of each of ``units`` random units another label, as a day of staff review does."""
    rows = session.execute(
        select(Report.id, Report.label).where(
            Report.id.in_(
                select(func.min(Report.id))
                .where(Report.unit_id.in_(rng.sample(range(1, 2001), units)))
                .group_by(Report.unit_id)
            )
        )
    ).all()
    for report_id, label in rows:
        originals.setdefault(report_id, label)
    label = case((Report.label == "practice", "news"), else_="practice")
    session.execute(update(Report).where(Report.id.in_([r for r, _ in rows])).values(label=label))


def _restore(session: Session, originals: dict[int, str]) -> None:
    session.rollback()
    for report_id, label in originals.items():
        session.execute(update(Report).where(Report.id == report_id).values(label=label))
    repository.drop_score_cache(session)
    session.commit()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="评分性能基准：与同一张表上的 GROUP BY 计数对比")
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--per-unit", type=int, default=250, help="每个单位一年的平均报送数")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261)
    parser.add_argument("--reset", action="store_true", help="清空目标数据库后重新生成")
    parser.add_argument("--reuse", action="store_true", help="沿用已生成的数据，只计时")
    parser.add_argument("--changed", type=int, default=20, help="“改N单位”状态下每次改动的单位数")
    args = parser.parse_args(argv)
    url = Settings().database_url
    if url == Settings.model_fields["database_url"].default:
        url = BENCH_SQLITE
    if not args.reuse:
        if args.reset or url == BENCH_SQLITE:
            reset_database(url)
        schema.upgrade(url)
        engine = create_db_engine(url)
        with engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(Unit)).scalar():
                sys.exit("目标数据库不是空的；请加 --reset（会清空数据库）或 --reuse")
        engine.dispose()
        began = time.perf_counter()
        count = generate(url, args.units, args.per_unit, args.seed)
        print(f"生成 {args.units} 个单位、{count} 条报送用时 {time.perf_counter() - began:.1f} s")
    run(url, args.repeat, args.changed)


if __name__ == "__main__":
    from benchlib import load_line

    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))
