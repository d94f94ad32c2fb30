"""The README's main command as a newcomer meets it: the console serves, the simulated QQ bot's posts are
captured and classified live, and Ctrl+C stops everything cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from ingest.models import Platform, Report
from tests.support import free_port, wait_until
from tests.wiring.test_cli_demo import demo_subset
from wenming.db import create_db_engine, make_session_factory

REPO = Path(__file__).resolve().parents[2]


def test_demo_serves_the_console_and_captures_the_simulator_live(fresh_database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = os.environ | {
        "WENMING_DATABASE_URL": fresh_database_url,
        "WENMING_DATA_DIR": str(tmp_path / "data"),
        "WENMING_MEDIA_DIR": str(tmp_path / "media"),
        "WENMING_OCR_ENABLED": "false",
        "WENMING_BOT_ASSEMBLE_INTERVAL_SECONDS": "0.5",
        "COLUMNS": "200",
        "PYTHONUNBUFFERED": "1",
    }
    data = demo_subset(tmp_path / "demo", 120)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from wiring.cli.main import app; app()",
            "demo",
            "--data",
            str(data),
            "--port",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    factory = make_session_factory(create_db_engine(fresh_database_url))
    try:
        pattern = re.compile(r"登录：demo / (\S+)")
        login = wait_until(lambda: next((m for line in lines if (m := pattern.search(line))), None), 240)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert "登录" in client.get("/login").text
            assert client.get("/healthz").status_code == 200

        def live_reports() -> list[Report]:
            with factory() as session:
                stmt = select(Report).join(Report.group).where(Report.group.has(platform=Platform.QQ.value))
                return [r for r in session.scalars(stmt) if r.label is not None and r.first_message_at.year >= 2026]

        captured = wait_until(lambda: [r for r in live_reports() if r.created_at.timestamp() > time.time() - 600], 90)
        assert captured, "the simulator's posts were not captured"
        assert login.group(1)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=5)
    output = "".join(lines)
    assert proc.returncode == 0, output  # Ctrl+C is the normal way to stop the demo, not an error
    assert "Traceback" not in output
    assert "模拟器 → QQ 群" in output and "演示已停止" in output
