"""``wenming demo`` and its committed synthetic data: runs end to end, twice, without duplicating anything."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image
from sqlalchemy import func, select

from ingest.models import RawMessage, Report, Unit
from ingest.schemas import IncomingMessage
from tests.wiring.clikit import Cli, cli, cli_data_dir, summary_value
from wiring.cli import common
from wiring.cli.demo import DEMO_DATA

__all__ = ["cli", "cli_data_dir"]

REPO = Path(__file__).resolve().parents[2]


def demo_subset(target: Path, lines: int, *, with_recall: bool = False) -> Path:
    """The first ``lines`` messages of the real demo data with the photos they use (a fast but real run);
    ``with_recall`` adds the demo's first recall and, after it, the message it recalls."""
    (target / "images").mkdir(parents=True)
    shutil.copy(DEMO_DATA / "units.csv", target / "units.csv")
    every = (DEMO_DATA / "messages.jsonl").read_text(encoding="utf-8").splitlines()
    kept = every[:lines]
    if with_recall:
        recall = next(raw for raw in every if json.loads(raw)["kind"] == "recall")
        recalled = json.loads(recall)["recalls_message_id"]
        kept += [recall, next(raw for raw in every if json.loads(raw)["message_id"] == recalled)]
    for raw in kept:
        image = json.loads(raw).get("image")
        if image:
            shutil.copy(DEMO_DATA / image, target / image)
    (target / "messages.jsonl").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return target


def totals() -> tuple[int, int, int]:
    with common.unit_of_work() as session:
        return (
            session.scalar(select(func.count()).select_from(Unit)) or 0,
            session.scalar(select(func.count()).select_from(RawMessage)) or 0,
            session.scalar(select(func.count()).select_from(Report)) or 0,
        )


def test_demo_runs_end_to_end_and_is_rerunnable(cli: Cli) -> None:
    data = demo_subset(cli.root / "demo", 250, with_recall=True)
    first = cli.ok("demo", "--data", str(data), "--no-serve")
    assert "2/6 演示单位已导入：新增 41 个" in first
    steps = re.findall(r"^(\d)/(\d) ", first, flags=re.MULTILINE)
    assert [n for n, _ in steps] == ["1", "2", "3", "4", "5"] and {total for _, total in steps} == {"6"}
    assert "预览" in first and "活跃度" in first
    charts = list((common.settings().data_dir / "posts" / "dry-run").glob("*.png"))
    assert charts and charts[0].read_bytes().startswith(b"\x89PNG")
    assert summary_value(first, "读取消息") == 252
    assert summary_value(first, "新存入") == 252
    assert "各单位活动报送统计" in first and "接下来可以试试" in first
    assert "无任何报送的单位" in first and "长兴县应急管理局" in first  # the silent unit
    # the recalled message arrives after its recall and still ends withdrawn, shown apart from the counted reports
    assert summary_value(first, "被撤回的报送") == 1
    assert "已撤回" in first and "另有 1 条已被发送者撤回（不计入）" in first
    after_first = totals()
    assert after_first[0] == 41 and after_first[1] == 252 and after_first[2] > 20
    second = cli.ok("demo", "--data", str(data), "--no-serve")
    assert "新增 0 个，更新 0 个，无变化 41 个" in second
    assert summary_value(second, "重复（已存在，跳过）") == 252
    assert summary_value(second, "新建报送") == 0
    assert totals() == after_first


def test_demo_without_data_says_where_it_looked(cli: Cli) -> None:
    result = cli("demo", "--data", str(cli.root / "nowhere"), "--no-serve")
    assert result.exit_code == 1 and "找不到演示数据" in result.output


def test_committed_demo_data_is_valid_and_within_budget() -> None:
    lines = [json.loads(x) for x in (DEMO_DATA / "messages.jsonl").read_text(encoding="utf-8").splitlines()]
    assert 2000 <= len(lines) <= 5000
    for data in lines:
        fields = {k: v for k, v in data.items() if k not in ("image", "image_name")}
        message = IncomingMessage.model_validate(fields)
        assert message.sent_at.utcoffset() is not None and message.sent_at.utcoffset().total_seconds() == 8 * 3600
        if message.kind == "image":
            assert (DEMO_DATA / data["image"]).is_file()
    ids = [(x["platform"], x["message_id"]) for x in lines if x["message_id"]]
    assert len(ids) == len(set(ids))
    assert {x["group_name"] for x in lines} == {"长兴县各级文明单位工作群", "长兴县文明单位管理群"}
    months = {x["sent_at"][:7] for x in lines}
    assert months == {"2026-08", "2026-09", "2026-10"}
    size = sum(p.stat().st_size for p in DEMO_DATA.rglob("*") if p.is_file())
    assert size < 7 * 1024 * 1024  # small enough to clone quickly; banner photos of photo-only posts are larger


def test_only_the_planted_reposts_look_alike() -> None:
    files = sorted((DEMO_DATA / "images").glob("*.jpg"))
    hashes = np.array([int(str(imagehash.phash(Image.open(f))), 16) for f in files], dtype=np.uint64)
    distance = np.bitwise_count(hashes[:, None] ^ hashes[None, :])
    np.fill_diagonal(distance, 64)
    close = {frozenset((files[a].name, files[b].name)) for a, b in zip(*np.where(distance <= 10), strict=True)}
    # two originals re-posted by their unit and by another unit (3 alike pairs each), one by its unit only (1 pair)
    assert len(close) == 7


def test_generator_reproduces_the_committed_messages(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "demo" / "generate.py"), "--out", str(tmp_path), "--no-images"],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / "messages.jsonl").read_bytes() == (DEMO_DATA / "messages.jsonl").read_bytes()
    assert (tmp_path / "units.csv").read_bytes() == (DEMO_DATA / "units.csv").read_bytes()
