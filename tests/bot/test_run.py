"""`wenming run` as a real process: the simulator captures live, status is visible, Ctrl+C stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bot.simulator import DEFAULT_SELF_ID, OneBotSimulator, builtin_traffic
from ingest.models import RawMessage, Report
from tests.support import free_port, wait_until
from wiring.cli.main import app


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_run_serves_onebot_reports_status_and_stops_gracefully(
    cli_env: sessionmaker[Session], fresh_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = os.environ | {
        "WENMING_DATABASE_URL": fresh_database_url,
        "WENMING_DATA_DIR": str(tmp_path / "run-data"),
        "WENMING_MEDIA_DIR": str(tmp_path / "run-media"),
        "WENMING_API_PORT": str(port),
        "WENMING_BOT_ADAPTERS": '["onebot"]',
        "WENMING_ONEBOT_ACCESS_TOKEN": "run-token",
        "WENMING_BOT_STATUS_INTERVAL_SECONDS": "0.3",
        "WENMING_BOT_ASSEMBLE_INTERVAL_SECONDS": "0.3",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", "from wiring.cli.main import app; app()", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: _listening(port) or proc.poll() is not None, 30, "the server to listen")
        assert proc.poll() is None
        traffic = builtin_traffic(DEFAULT_SELF_ID)
        sim = OneBotSimulator(
            f"ws://127.0.0.1:{port}/onebot/v11/ws", traffic, access_token="run-token", interval=0.0, heartbeat_ms=1000
        )

        async def during() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(sim.run(stop=stop))
            deadline = time.monotonic() + 20
            while not (_count(cli_env, RawMessage) == len(traffic.events) and _count(cli_env, Report) > 0):
                assert time.monotonic() < deadline, "capture or assembly too slow"
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.7)  # let a status write see the live connection
            result = CliRunner().invoke(app, ["bot", "status"], env={"COLUMNS": "200"})
            assert "已连接" in result.output and str(DEFAULT_SELF_ID) in result.output, result.output
            stop.set()
            await task

        asyncio.run(during())
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, output
    assert "Wenming 已停止" in output
    result = CliRunner().invoke(app, ["bot", "status"], env={"COLUMNS": "200"})
    assert "wenming run 已停止" in result.output


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as session:
        return len(list(session.scalars(select(model.id))))
