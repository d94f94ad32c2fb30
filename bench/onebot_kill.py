"""SIGKILL of `wenming run` in the middle of a OneBot flood: sent / stored / lost / duplicated, WebSocket and HTTP.

.venv/bin/python bench/onebot_kill.py [SECONDS_BEFORE_KILL [EVENTS_PER_SECOND]]   # SQLite; or WENMING_DATABASE_URL

A real `wenming run` process receives events as fast as one client can send them (reverse WebSocket), or from eight
concurrent HTTP posters; it is killed with SIGKILL mid-flood, started again (which stores what its journal holds),
and stopped with Ctrl+C. Then every distinct message id is counted. "sent" on the WebSocket counts frames the client
wrote to its socket; frames still in the kernel's buffers when the server died were never read, and OneBot v11 has
no acknowledgement to resend them. "acknowledged" on HTTP counts 204 answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx  # noqa: E402
import websockets  # noqa: E402
from sqlalchemy import select  # noqa: E402

from ingest.models import RawMessage  # noqa: E402
from wenming import schema  # noqa: E402
from wenming.db import create_db_engine  # noqa: E402

TOKEN, SECRET, SELF_ID, GROUP = "bench-token", "bench-secret", 10001000, 778899


def _event(i: int) -> dict:
    return {
        "time": 1790000000 + i // 10,
        "self_id": SELF_ID,
        "post_type": "message",
        "message_type": "group",
        "sub_type": "normal",
        "message_id": i,
        "group_id": GROUP,
        "user_id": 20000000 + i % 50,
        "message": [{"type": "text", "data": {"text": f"第{i}条：县图书馆开展读书分享志愿服务活动"}}],
        "sender": {"user_id": 20000000 + i % 50, "card": f"单位{i % 50}-联络员", "role": "member"},
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from wiring.cli.main import app; app()", "run", "--adapters=onebot", "--no-scheduler"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    port = int(env["WENMING_API_PORT"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        if proc.poll() is not None:
            raise RuntimeError(proc.stdout.read() if proc.stdout else "wenming run exited")
        time.sleep(0.2)
    raise RuntimeError("wenming run did not listen")


async def _ws_flood(port: int, seconds: float, proc: subprocess.Popen[str], rate: float | None) -> int:
    """Frames written before the SIGKILL (at ``rate`` per second, or as fast as the socket takes them)."""
    headers = {"X-Self-ID": str(SELF_ID), "X-Client-Role": "Event", "Authorization": f"Bearer {TOKEN}"}
    sent = 0
    start = time.monotonic()
    async with websockets.connect(f"ws://127.0.0.1:{port}/onebot/v11/ws", additional_headers=headers) as ws:
        while time.monotonic() - start < seconds:
            await ws.send(json.dumps(_event(sent), ensure_ascii=False))
            sent += 1
            if rate:
                await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
            elif sent % 50 == 0:
                await asyncio.sleep(0)
        proc.send_signal(signal.SIGKILL)
    return sent


async def _http_flood(port: int, seconds: float, proc: subprocess.Popen[str], first: int) -> tuple[int, int]:
    attempted, acknowledged = 0, 0
    stop_at = time.monotonic() + seconds
    counter = iter(range(first, first + 10_000_000))

    async def poster(client: httpx.AsyncClient) -> None:
        nonlocal attempted, acknowledged
        while proc.poll() is None:
            body = json.dumps(_event(next(counter)), ensure_ascii=False).encode()
            signature = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
            headers = {"X-Signature": signature, "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            attempted += 1
            try:
                response = await client.post(f"http://127.0.0.1:{port}/onebot/v11/http", content=body, headers=headers)
            except httpx.HTTPError:
                return
            acknowledged += response.status_code == 204
            if time.monotonic() >= stop_at and proc.poll() is None:
                proc.send_signal(signal.SIGKILL)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(poster(client) for _ in range(8)))
    return attempted, acknowledged


def _count(url: str, low: int, high: int) -> tuple[int, int]:
    engine = create_db_engine(url)
    with engine.connect() as conn:
        ids = RawMessage.platform_message_id
        in_range = [ids.like(f"{SELF_ID}:%")]
        rows = conn.execute(select(ids).where(*in_range)).scalars().all()
    engine.dispose()
    numbers = [int(r.split(":")[1]) for r in rows]
    mine = [n for n in numbers if low <= n < high]
    return len(mine), len(mine) - len(set(mine))


def _restart_and_stop(env: dict[str, str]) -> str:
    proc = _start(env)
    time.sleep(3)  # the journal is replayed before the server listens; let assembly run once
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    return output


def main(seconds: float, rate: float | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wenming-kill-"))
    url = os.environ.get("WENMING_DATABASE_URL") or f"sqlite:///{tmp / 'kill.db'}"
    schema.upgrade(url)
    port = _free_port()
    env = os.environ | {
        "WENMING_DATABASE_URL": url,
        "WENMING_DATA_DIR": str(tmp / "data"),
        "WENMING_MEDIA_DIR": str(tmp / "media"),
        "WENMING_API_PORT": str(port),
        "WENMING_ONEBOT_ACCESS_TOKEN": TOKEN,
        "WENMING_ONEBOT_SECRET": SECRET,
        "WENMING_OCR_ENABLED": "false",
        "WENMING_BOT_ASSEMBLE_INTERVAL_SECONDS": "5",
    }
    proc = _start(env)
    sent = asyncio.run(_ws_flood(port, seconds, proc, rate))
    proc.wait()
    replay = _restart_and_stop(env)
    stored, duplicated = _count(url, 0, sent)
    replayed = [line for line in replay.splitlines() if "补存" in line]
    pace = f"{rate:g}/s" if rate else "unthrottled"
    print(f"WebSocket ({pace}): sent {sent}, stored {stored}, lost {sent - stored}, duplicated {duplicated}")
    print("  " + (replayed[0].strip() if replayed else "journal: nothing to replay"))

    first = 1_000_000
    proc = _start(env)
    attempted, acknowledged = asyncio.run(_http_flood(port, seconds, proc, first))
    proc.wait()
    _restart_and_stop(env)
    stored, duplicated = _count(url, first, first + attempted)
    lost_acknowledged = max(0, acknowledged - stored)
    print(
        f"HTTP: sent {attempted}, acknowledged {acknowledged}, stored {stored}, "
        f"acknowledged but lost {lost_acknowledged}, duplicated {duplicated}"
    )


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 4.0, float(sys.argv[2]) if len(sys.argv) > 2 else None)
