"""bench/bench_api.py: p50/p99 latency of the report-list and leaderboard endpoints at 100 concurrent clients.

A 2,000-unit database is built (SQLite in a temporary directory unless ``--database-url`` names an empty
PostgreSQL database), the app runs in a separate uvicorn process, and ``/healthz`` is measured in the same
run as the baseline every other figure is compared with.

    .venv/bin/python bench/bench_api.py [--units 2000] [--reports-per-unit 25] [--clients 100] [--requests 2000]
                                        [--workers 1] [--seconds 10] [--compare-workers]

The load comes from ``wrk`` (Debian package ``wrk``) when it is installed: a C load generator is not the limit,
whereas the Python client (used otherwise, and said so) saturates a core of its own at a few hundred requests per
second. Beside throughput and latency each line prints the server's CPU time per request (all its processes,
from /proc), which the machine's other load hardly moves. Every line asks for ``Accept-Encoding: identity``
except those marked （gzip）, whose client accepts gzip as browsers, httpx and requests do (ready views keep a
compressed copy of each cached body). ``--workers N`` runs N uvicorn worker processes (``wenming serve
--workers N``); ``--compare-workers`` measures one and then two processes on the same database and prints the
throughput ratio per endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accounts import service as auth  # noqa: E402
from accounts.models import Role  # noqa: E402
from classifier.models import Classification, ReportTag  # noqa: E402
from ingest.models import ChatGroup, Member, Report, Unit  # noqa: E402
from wenming import schema  # noqa: E402
from wenming.db import create_db_engine  # noqa: E402

LABELS = ["practice", "practice", "volunteer", "pairing", "news", "other"]
TEXTS = [
    "开展文明实践活动，理论宣讲进社区",
    "志愿者到敬老院开展助老服务",
    "与结对村开展结对共建活动",
    "我单位报送的稿件被县融媒体中心录用",
    "开展文明劝导志愿服务",
    "收到",
]


def build_database(url: str, units: int, reports_per_unit: int, year: int, month: int) -> str:
    """Migrate and fill the database with bulk inserts; returns a bearer token for the benchmark user."""
    schema.upgrade(url)
    engine = create_db_engine(url)
    rng = random.Random(7)
    with Session(engine) as session:
        group = ChatGroup(platform="wechat", platform_id="bench", name="压测群")
        session.add(group)
        session.flush()
        session.execute(
            insert(Unit),
            [
                {"name": f"压测单位{i:04d}", "aliases": [], "honour_level": "county", "active": True}
                for i in range(units)
            ],
        )
        unit_ids = list(session.scalars(select(Unit.id).order_by(Unit.id)))
        session.execute(
            insert(Member),
            [
                {
                    "platform": "wechat",
                    "platform_user_id": f"bench{uid}",
                    "display_name": f"报送员{uid}",
                    "unit_id": uid,
                }
                for uid in unit_ids
            ],
        )
        members = dict(session.execute(select(Member.unit_id, Member.id)).tuples().all())
        start = datetime(year, month, 1, 1, tzinfo=UTC)
        rows = []
        for uid in unit_ids:
            for _ in range(reports_per_unit):
                at = start + timedelta(days=rng.randrange(0, 28), minutes=rng.randrange(0, 600))
                k = rng.randrange(len(LABELS))
                review = rng.random() < 0.05
                rows.append(
                    {
                        "unit_id": uid,
                        "group_id": group.id,
                        "sender_id": members[uid],
                        "first_message_at": at,
                        "last_message_at": at,
                        "post_date": (at + timedelta(hours=8)).date(),
                        "text": TEXTS[k],
                        "photo_count": rng.randrange(0, 4),
                        "status": "needs_review" if review else "classified",
                        "label": LABELS[k],
                        "confidence": 0.4 if review else 0.9,
                    }
                )
        for i in range(0, len(rows), 20_000):
            session.execute(insert(Report), rows[i : i + 20_000])
        reports = session.execute(select(Report.id, Report.label)).tuples().all()
        for i in range(0, len(reports), 20_000):
            chunk = reports[i : i + 20_000]
            session.execute(insert(ReportTag), [{"report_id": r, "label": lb, "is_primary": True} for r, lb in chunk])
            session.execute(
                insert(Classification),
                [{"report_id": r, "label": lb, "confidence": 0.9, "model_version": "bench"} for r, lb in chunk],
            )
        user = auth.create_user(session, "bench", "steady-harbor-2718", Role.VIEWER)
        _token, plain = auth.create_token(session, user, "压测")
        session.commit()
    with engine.connect() as conn:  # statistics, as autovacuum (PostgreSQL) or an operator (SQLite) would have
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    engine.dispose()
    return plain


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(
    url: str, data_dir: Path, cache_seconds: float, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = os.environ | {
        "WENMING_API_LEADERBOARD_CACHE_SECONDS": str(cache_seconds),
        "WENMING_DATABASE_URL": url,
        "WENMING_DATA_DIR": str(data_dir),
        "WENMING_MEDIA_DIR": str(data_dir / "media"),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-keep-alive",
            "120",  # under 100-client queueing, a 5 s idle close races with the client's next request
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # two workers starting on a loaded 2-core machine can take a minute
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("服务未能在 120 秒内启动")


async def measure(
    base: str, path: str, token: str, clients: int, total: int, encoding: str, cpu: Callable[[], float]
) -> dict[str, float]:
    """``total`` requests from ``clients`` concurrent connections; latencies in milliseconds."""
    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": encoding}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120, headers=headers) as client:
        await client.get(path)  # warm-up (imports, caches, connection)

        async def worker() -> None:
            nonlocal errors
            while True:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t0 = time.perf_counter()
                try:
                    response = await client.get(path)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += not ok

        started, cpu_before = time.perf_counter(), cpu()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed, cpu_used = time.perf_counter() - started, cpu() - cpu_before
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "rps": total / elapsed,
        "errors": errors,
        "cpu_ms": cpu_used * 1000 / total,
    }


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_TICKS = os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(pid: int) -> float:
    """CPU time used so far by the server and its worker processes (Linux /proc): a per-request cost that, unlike
    the throughput, hardly moves with the other load on the machine."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICKS
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure_wrk(
    base: str, path: str, token: str, clients: int, seconds: int, encoding: str, cpu: Callable[[], float]
) -> dict[str, float]:
    """The same figures from ``wrk --latency`` (p50/p99 in milliseconds, requests per second, non-2xx count)."""
    command = ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {token}"]
    command += ["-H", f"Accept-Encoding: {encoding}"]
    subprocess.run([*command[:3], "-d2s", base + path], capture_output=True, check=True)  # warm-up
    cpu_before = cpu()
    out = subprocess.run([*command, base + path], capture_output=True, text=True, check=True).stdout
    cpu_used = cpu() - cpu_before
    figures: dict[str, float] = {"errors": 0.0}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "99%"):
            number = parts[1].rstrip("usm")
            unit = parts[1][len(number) :]
            figures["p" + parts[0][:-1]] = float(number) * _UNITS[unit]
        elif line.startswith("Requests/sec:"):
            figures["rps"] = float(parts[1])
        elif len(parts) > 2 and parts[1:3] == ["requests", "in"]:
            figures["cpu_ms"] = cpu_used * 1000 / max(1, int(parts[0]))
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            figures["errors"] = float(parts[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="空的 PostgreSQL 数据库；默认在临时目录建 SQLite")
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--reports-per-unit", type=int, default=25)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--requests", type=int, default=2000, help="每个接口的请求数")
    parser.add_argument("--cache-seconds", type=float, default=3600, help="排行缓存最长秒数；0 表示每次都重新计算")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn 工作进程数（wenming serve --workers N）")
    parser.add_argument("--seconds", type=int, default=10, help="wrk 每个接口的压测秒数")
    parser.add_argument("--compare-workers", action="store_true", help="先用 1 个、再用 2 个服务进程各测一遍并对比")
    args = parser.parse_args()

    today = date.today()
    with tempfile.TemporaryDirectory(prefix="wenming-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        t0 = time.perf_counter()
        token = build_database(url, args.units, args.reports_per_unit, today.year, today.month)
        print(
            f"数据库：{url.split('@')[-1]}，{args.units} 个单位，{args.units * args.reports_per_unit} 条报送，"
            f"建库 {time.perf_counter() - t0:.1f} s"
        )
        use_wrk = shutil.which("wrk") is not None
        tool = "wrk（C 压测工具）" if use_wrk else "Python httpx 客户端（未安装 wrk：客户端本身可能就是瓶颈）"
        print(f"压测工具：{tool}")
        counts = [1, 2] if args.compare_workers else [args.workers]
        results = {n: serve_and_measure(url, Path(tmp), token, args, n, use_wrk) for n in counts}
        if args.compare_workers:
            print("\n两个服务进程 vs 一个（同一数据库、同一次运行；本机 2 核还要分给压测工具）")
            for name, one in results[1].items():
                two = results[2][name]
                print(f"{name:<24}{one['rps']:>8.0f} → {two['rps']:>6.0f} 请求/秒{two['rps'] / one['rps']:>7.2f}×")


GZIP = "（gzip）"  # lines whose client accepts gzip, as browsers, httpx and requests do; the others ask for identity


def _endpoints(base: str, token: str, today: date) -> list[tuple[str, str]]:
    headers = {"Authorization": f"Bearer {token}"}
    cursor = httpx.get(f"{base}/api/v1/reports?page_size=50", headers=headers).json()["next_after"]
    endpoints = [
        ("/healthz", "/healthz"),
        ("报送列表（第 1 页，50 条）", "/api/v1/reports?page_size=50"),
        ("报送列表（第 1 页）" + GZIP, "/api/v1/reports?page_size=50"),
        ("报送列表（第 40 页，页码）", "/api/v1/reports?page_size=50&page=40"),
        ("报送列表（游标翻下一页）", f"/api/v1/reports?page_size=50&after={cursor}"),
        ("报送列表（按分类+日期筛选）", f"/api/v1/reports?label=volunteer&date_from={today.replace(day=1)}"),
        ("待审核队列", "/api/v1/review?page_size=20"),
    ]
    month = f"{today.year}-{today.month:02d}"
    endpoints.append(("月度活跃度排行", f"/api/v1/leaderboards/monthly?month={month}"))
    endpoints.append(("月度活跃度排行" + GZIP, f"/api/v1/leaderboards/monthly?month={month}"))
    endpoints.append(
        ("季度汇总表", f"/api/v1/leaderboards/quarterly?quarter={today.year}Q{(today.month - 1) // 3 + 1}")
    )
    return endpoints


def serve_and_measure(
    url: str, tmp: Path, token: str, args: argparse.Namespace, workers: int, use_wrk: bool
) -> dict[str, dict[str, float]]:
    """Start ``workers`` uvicorn processes, measure every endpoint against /healthz, print and return the figures."""
    proc, base = start_server(url, tmp, args.cache_seconds, workers)
    results: dict[str, dict[str, float]] = {}
    try:
        print(
            f"\n服务进程数：{workers}；{args.clients} 个并发客户端（吞吐比与 p99 倍数以同次 /healthz 为基准；"
            "目标 ≥ 0.5×、p99 ≤ 2×）"
        )
        header = f"{'接口':<24}{'p50 ms':>10}{'p99 ms':>10}{'请求/秒':>10}{'吞吐比':>9}{'p99 倍数':>10}{'错误':>6}"
        header += f"{'CPU ms/次':>11}{'CPU 倍数':>9}"
        print(header, flush=True)
        base_stats: dict[str, float] = {}
        for name, path in _endpoints(base, token, date.today()):
            encoding = "gzip" if name.endswith(GZIP) else "identity"
            cpu = functools.partial(server_cpu_seconds, proc.pid)
            if use_wrk:
                s = measure_wrk(base, path, token, args.clients, args.seconds, encoding, cpu)
            else:
                s = asyncio.run(measure(base, path, token, args.clients, args.requests, encoding, cpu))
            results[name] = s
            base_stats = base_stats or s
            rps_ratio, p99_ratio = s["rps"] / base_stats["rps"], s["p99"] / base_stats["p99"]
            row = f"{name:<24}{s['p50']:>10.1f}{s['p99']:>10.1f}{s['rps']:>10.0f}"
            row += f"{rps_ratio:>8.2f}×{p99_ratio:>9.2f}×{s['errors']:>6.0f}"
            print(f"{row}{s['cpu_ms']:>11.2f}{s['cpu_ms'] / base_stats['cpu_ms']:>8.2f}×", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return results


if __name__ == "__main__":
    from benchlib import load_line

    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))
