"""The reference agent (agents/wenming_agent.py) against the real API app: a folder of JSONL with photo files and a
chat export goes in through `wenming agents add` credentials, survives a flaky network, resumes from its last
acknowledged message after an interruption, and a revoked agent stops with the server's Chinese reason."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.history.wechat_exports import parse_wechatmsg_csv
from ingest.models import RawMessage, Report
from tests.ingest.builders import photo

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "tests" / "bot" / "fixtures" / "history" / "wechatmsg.csv"


def _load_agent() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wenming_agent", ROOT / "agents" / "wenming_agent.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["wenming_agent"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


agent_mod = _load_agent()


class Flaky(httpx.BaseTransport):
    """The office's network: requests numbered in ``down`` fail (connection error, or the given HTTP status)."""

    def __init__(self, inner: httpx.BaseTransport, down: dict[int, int | None] | None = None) -> None:
        self.inner, self.down, self.calls = inner, down or {}, 0
        self.bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls in self.down:
            status = self.down[self.calls]
            if status is None:
                raise httpx.ConnectError("连接被重置", request=request)
            return httpx.Response(status, json={"error": {"code": "unavailable", "message": "服务暂时不可用"}})
        request.read()
        if request.content:
            self.bodies.append(json.loads(request.content))
        return self.inner.handle_request(request)


def _folder(tmp_path: Path, lines: int = 7) -> Path:
    """A JSONL of one unit's reports with photo files next to it, and a WeChatMsg export."""
    folder = tmp_path / "导出"
    (folder / "images").mkdir(parents=True)
    rows = []
    for i in range(lines):
        base = {
            "platform": "qq",
            "group_id": "650433512",
            "group_name": "长兴县文明单位工作群",
            "sender_id": "87654321",
            "sender_name": "长兴县人民医院-王医生",
        }
        if i % 2 == 0:
            rows.append(
                base
                | {
                    "message_id": f"a{i}",
                    "sent_at": f"2026-11-{10 + i:02d}T09:00:00+08:00",
                    "kind": "text",
                    "text": f"11月{10 + i}日县人民医院志愿者在城东社区开展义诊志愿服务活动。",
                }
            )
        else:
            (folder / "images" / f"p{i}.jpg").write_bytes(photo(200 + i))
            rows.append(
                base
                | {
                    "message_id": f"a{i}",
                    "sent_at": f"2026-11-{9 + i:02d}T09:02:00+08:00",
                    "kind": "image",
                    "image": f"images/p{i}.jpg",
                }
            )
    text = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    (folder / "messages.jsonl").write_text(text + "{这一行坏了\n", encoding="utf-8")
    shutil.copy(EXPORT, folder / "wechatmsg.csv")
    return folder


def _api(client: TestClient, agent: Any, transport: Flaky, waits: list[float], **config: Any) -> Any:
    http = httpx.Client(transport=transport)
    settings = agent_mod.Config("http://testserver", agent.name, agent.secret, **config)
    return agent_mod.Api(settings, http, sleep=waits.append)


def _count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_agent_pushes_a_folder_end_to_end_and_a_second_run_sends_nothing(
    client: TestClient,
    add_agent: Any,
    tmp_path: Path,
    committed_factory: sessionmaker[Session],
    capture_settings: Any,
) -> None:
    agent = add_agent()
    folder = _folder(tmp_path)
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(agent.secret, encoding="utf-8")
    argv = [
        "--server",
        "http://testserver",
        "--agent",
        agent.name,
        "--secret-file",
        str(secret_file),
        "--batch",
        "3",
        "push",
        str(folder),
    ]
    transport = Flaky(client._transport)
    assert agent_mod.main(argv, client=httpx.Client(transport=transport)) == 0
    with committed_factory() as session:
        raws = session.scalars(select(RawMessage)).all()
        reports = session.scalars(select(Report)).all()
    from_jsonl = [r for r in raws if r.platform == "qq"]
    assert len(from_jsonl) == 7 and sum(r.media_id is not None for r in from_jsonl) == 3
    assert any(r.status == "rejected" and r.platform == "unknown" for r in raws)  # the broken line, kept
    assert any(r.platform == "wechat" and (r.payload or {}).get("history") for r in raws)  # the export, parsed
    assert reports and all(r.status != "unclassified" for r in reports)  # assembled and classified
    state = json.loads((folder / ".wenming_agent_state.json").read_text(encoding="utf-8"))
    exported = len(list(parse_wechatmsg_csv(EXPORT)))
    acked = {k.split("|")[0]: v["acked"] for k, v in state["files"].items()}
    assert acked == {"messages.jsonl": 8, "wechatmsg.csv": exported}
    sent = transport.calls
    assert agent_mod.main(argv, client=httpx.Client(transport=transport)) == 0
    assert transport.calls == sent  # everything was acknowledged: nothing is sent again
    assert _count(committed_factory, RawMessage) == len(raws)


def test_flaky_network_is_retried_and_an_interrupted_run_resumes_where_it_stopped(
    client: TestClient, add_agent: Any, tmp_path: Path, committed_factory: sessionmaker[Session]
) -> None:
    agent = add_agent()
    folder = _folder(tmp_path)
    (folder / "wechatmsg.csv").unlink()
    waits: list[float] = []
    # request 1 fails to connect, 2 is a 503, 3 goes through; then the server stays down (4, 5, 6)
    transport = Flaky(client._transport, {1: None, 2: 503, 4: 503, 5: 503, 6: 503})
    api = _api(client, agent, transport, waits, batch=3, max_attempts=3)
    with pytest.raises(agent_mod.AgentError, match="下次运行会从上次确认处继续"):
        agent_mod.push_folder(folder, api)
    assert waits == [2.0, 4.0, 2.0, 4.0]  # back-off doubles, per batch
    state = json.loads((folder / ".wenming_agent_state.json").read_text(encoding="utf-8"))
    assert [v["acked"] for v in state["files"].values()] == [3]
    assert _count(committed_factory, RawMessage) == 3

    healthy = Flaky(client._transport)
    summary = agent_mod.push_folder(folder, _api(client, agent, healthy, []))
    assert (summary.skipped, summary.sent, summary.stored, summary.duplicates, summary.rejected) == (3, 5, 4, 0, 1)
    assert [m.get("message_id") for m in healthy.bodies[0]["messages"]] == ["a3", "a4", "a5", "a6", None]
    assert _count(committed_factory, RawMessage) == 8


def test_a_photo_the_server_already_has_is_sent_by_hash_and_resent_only_when_missing(
    client: TestClient, add_agent: Any, tmp_path: Path, committed_factory: sessionmaker[Session]
) -> None:
    agent = add_agent()
    folder = tmp_path / "照片"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(photo(301))
    (folder / "b.jpg").write_bytes(photo(302))
    base = {"platform": "qq", "group_id": "650433512", "sender_id": "87654321", "kind": "image"}

    def post(name: str, message_id: str, image: str) -> None:
        row = base | {"message_id": message_id, "sent_at": "2026-11-20T09:00:00+08:00", "image": image}
        (folder / name).write_text(json.dumps(row) + "\n", encoding="utf-8")

    transport = Flaky(client._transport)
    post("1.jsonl", "p1", "a.jpg")
    agent_mod.push_folder(folder, _api(client, agent, transport, []))
    assert len(transport.bodies[-1]["photos"]) == 1  # first time: the bytes travel
    post("2.jsonl", "p2", "a.jpg")  # the same picture posted again later: only its hash travels
    agent_mod.push_folder(folder, _api(client, agent, transport, []))
    assert transport.bodies[-1]["photos"] == {} and transport.bodies[-1]["messages"][0]["image_sha256"]

    state_file = folder / ".wenming_agent_state.json"  # the agent believes b.jpg is uploaded; the server lacks it
    state = json.loads(state_file.read_text(encoding="utf-8"))
    state["photos"].append(hashlib.sha256(photo(302)).hexdigest())
    state_file.write_text(json.dumps(state), encoding="utf-8")
    post("3.jsonl", "p3", "b.jpg")
    summary = agent_mod.push_folder(folder, _api(client, agent, transport, []))
    assert [len(b["photos"]) for b in transport.bodies[-2:]] == [0, 1]  # by hash, refused, then with the bytes
    assert (summary.stored, summary.rejected) == (1, 0) and _count(committed_factory, RawMessage) == 3


def test_time_window_sends_only_the_gap(client: TestClient, add_agent: Any, tmp_path: Path) -> None:
    agent = add_agent()
    folder = _folder(tmp_path)
    (folder / "wechatmsg.csv").unlink()
    (folder / "messages.jsonl").write_text(
        "\n".join((folder / "messages.jsonl").read_text(encoding="utf-8").splitlines()[:7]) + "\n", encoding="utf-8"
    )
    transport = Flaky(client._transport)
    since, until = datetime.fromisoformat("2026-11-12T00:00+08:00"), datetime.fromisoformat("2026-11-14T23:59+08:00")
    summary = agent_mod.push_folder(folder, _api(client, agent, transport, []), since=since, until=until)
    sent = [m["sent_at"] for body in transport.bodies for m in body["messages"]]
    assert sent == [
        "2026-11-12T09:00:00+08:00",
        "2026-11-12T09:02:00+08:00",
        "2026-11-14T09:00:00+08:00",
        "2026-11-14T09:02:00+08:00",
    ]
    assert summary.sent == 4


def test_a_revoked_agent_stops_with_the_servers_reason(
    client: TestClient, add_agent: Any, cli: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wiring.cli.main import app

    agent = add_agent()
    assert cli.invoke(app, ["agents", "revoke", agent.name]).exit_code == 0
    folder = _folder(tmp_path, lines=1)
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(agent.secret, encoding="utf-8")
    code = agent_mod.main(
        [
            "--server",
            "http://testserver",
            "--agent",
            agent.name,
            "--secret-file",
            str(secret_file),
            "push",
            str(folder),
        ],
        client=httpx.Client(transport=Flaky(client._transport)),
    )
    assert code == 2 and "已被吊销" in capsys.readouterr().err
