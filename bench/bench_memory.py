"""Memory of ``wenming run`` (OneBot): RSS idle and after N live messages classified, against a bare import.

    .venv/bin/python bench/bench_memory.py [--messages 30] [--rounds 3] [--cold]   # SQLite; or WENMING_DATABASE_URL

Each round starts a real ``wenming run --adapters=onebot`` (scheduler and job worker on, as in production), reads its
RSS once it listens and has settled (idle), sends N group messages over the reverse WebSocket as NapCat would,
waits until every one is a classified report, and reads the RSS again. The baseline is a fresh interpreter that
imports what classification needs (``import jieba, numpy, scipy.sparse``), measured in the same round. The seed
model is built beforehand in another process (``wenming classifier versions``), as it is after the first start of
any installation; ``--cold`` leaves it to ``run`` (its first start on a fresh data directory).
Goal: ``run`` after classification ≤ 250 MB without OCR work pending.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import websockets
from benchlib import load_line, reset_database
from sqlalchemy import func, select

from classifier.models import Classification
from wenming import schema
from wenming.db import create_db_engine

BASELINE = "import jieba, numpy, scipy.sparse"
GOAL_MB = 250.0
TOKEN, SELF_ID, GROUP = "bench-token", 10001000, 778899
SETTLE_SECONDS = 5.0
TEXTS = (
    "县图书馆今天在城东社区开展读书分享志愿服务活动，参加群众{n}人。",
    "县财政局党支部组织党员到港口村开展结对共建，帮助村里修缮文化礼堂。",
    "县人民医院在城西广场开展义诊志愿服务，服务群众{n}人次。",
    "本报讯 县实验小学举行“文明礼仪进校园”主题活动，全体师生参加。",
    "县税务局开展道德讲堂活动，邀请身边好人讲述家风故事。",
    "县交通局志愿者在汽车站开展文明出行劝导，发放宣传资料{n}份。",
    "县供电公司开展垃圾分类宣传进社区活动，入户宣传{n}户。",
    "县检察院组织干部职工到敬老院慰问老人，送去米油等慰问品。",
    "县文化馆举办“我们的节日·重阳”文艺演出，观众{n}余人。",
    "县市场监管局开展食品安全进校园宣传，讲解食品安全知识。",
)


def _event(i: int, now: int) -> dict:
    sender = 20000000 + i % 10
    return {
        "time": now,
        "self_id": SELF_ID,
        "post_type": "message",
        "message_type": "group",
        "sub_type": "normal",
        "message_id": 500000 + i,
        "group_id": GROUP,
        "user_id": sender,
        "message": [{"type": "text", "data": {"text": TEXTS[i % len(TEXTS)].format(n=20 + i)}}],
        "sender": {"user_id": sender, "card": f"单位{i % 10}-联络员", "role": "member"},
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM / Threads of a process (kB and count), from /proc."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            values[key] = int(rest.split()[0])
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    for line in rollup:
        key, _, rest = line.partition(":")
        if key in ("Anonymous", "Rss"):
            values["Anon" if key == "Anonymous" else "RollupRss"] = int(rest.split()[0])
    return values


def _baseline_mb() -> float:
    code = f"{BASELINE}\nimport pathlib\nprint(pathlib.Path('/proc/self/status').read_text())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``wenming run`` with its log in a file (a pipe nobody reads would stall it once full)."""
    command = [sys.executable, "-c", "from wiring.cli.main import app; app()", "run", "--adapters=onebot"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    port = int(env["WENMING_API_PORT"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            raise RuntimeError(log.read_text(errors="replace")[-3000:])
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("wenming run did not listen")


async def _send(port: int, n: int) -> None:
    headers = {"X-Self-ID": str(SELF_ID), "X-Client-Role": "Event", "Authorization": f"Bearer {TOKEN}"}
    now = int(time.time())
    async with websockets.connect(f"ws://127.0.0.1:{port}/onebot/v11/ws", additional_headers=headers) as ws:
        for i in range(n):
            await ws.send(json.dumps(_event(i, now), ensure_ascii=False))
        await asyncio.sleep(1.0)  # the server reads frames one by one; let it take the last before closing


def _classified(url: str) -> int:
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(Classification)).scalar_one()
    finally:
        engine.dispose()


def _round(n: int, cold: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="wenming-mem-") as d:
        tmp = Path(d)
        url = os.environ.get("WENMING_DATABASE_URL") or f"sqlite:///{tmp / 'mem.db'}"
        reset_database(url)
        schema.upgrade(url)
        env = os.environ | {
            "WENMING_DATABASE_URL": url,
            "WENMING_DATA_DIR": str(tmp / "data"),
            "WENMING_MEDIA_DIR": str(tmp / "media"),
            "WENMING_API_PORT": str(_free_port()),
            "WENMING_ONEBOT_ACCESS_TOKEN": TOKEN,
            "WENMING_BOT_ASSEMBLE_INTERVAL_SECONDS": "1",
        }
        if not cold:
            wenming = [sys.executable, "-c", "from wiring.cli.main import app; app()"]
            subprocess.run([*wenming, "classifier", "versions"], env=env, check=True, stdout=subprocess.DEVNULL)
        baseline = _baseline_mb()
        log = tmp / "run.log"
        proc = _start(env, log)
        try:
            time.sleep(SETTLE_SECONDS)
            idle = _status(proc.pid)
            started = time.monotonic()
            asyncio.run(_send(int(env["WENMING_API_PORT"]), n))
            while _classified(url) < n:
                if proc.poll() is not None or time.monotonic() - started > 300:
                    tail = log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"only {_classified(url)} of {n} messages classified; log:\n{tail}")
                time.sleep(0.5)
            took = time.monotonic() - started
            time.sleep(2 * float(env["WENMING_BOT_ASSEMBLE_INTERVAL_SECONDS"]))  # one more idle tick
            after = _status(proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {
        "baseline": baseline,
        "idle": idle["VmRSS"] / 1024,
        "after": after["VmRSS"] / 1024,
        "anon": after["Anon"] / 1024,
        "peak": after["VmHWM"] / 1024,
        "threads": after["Threads"],
        "seconds": took,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="let run build the seed model itself (first start)")
    opts = parser.parse_args()
    rounds = []
    for r in range(opts.rounds):
        row = _round(opts.messages, opts.cold)
        rounds.append(row)
        print(
            f"round {r + 1}: baseline {row['baseline']:.0f} MB, idle {row['idle']:.0f} MB, after {row['after']:.0f} MB "
            f"(anonymous {row['anon']:.0f}, peak {row['peak']:.0f}, {row['threads']:.0f} threads, "
            f"classified in {row['seconds']:.1f} s)",
            flush=True,
        )
    med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    base = med["baseline"]
    start = "cold (run builds the seed model)" if opts.cold else "seed model built beforehand"
    print(f"median of {opts.rounds}, {opts.messages} messages, {start}:")
    print(f"  bare `{BASELINE}`  {base:6.0f} MB")
    print(f"  wenming run idle                        {med['idle']:6.0f} MB  {med['idle'] / base:5.2f}×")
    verdict = "OK" if med["after"] <= GOAL_MB else "ABOVE GOAL"
    print(
        f"  wenming run after classification        {med['after']:6.0f} MB  {med['after'] / base:5.2f}×  "
        f"goal ≤ {GOAL_MB:.0f} MB: {verdict}  (peak {med['peak']:.0f} MB)"
    )


if __name__ == "__main__":
    print(load_line("start"), flush=True)
    main()
    print(load_line("end"))
