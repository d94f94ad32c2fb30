"""Read a normalized-message JSONL file (docs/formats.md) line by line, resolving photos safely."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

MAX_LINE_CHARS_KEPT = 10_000  # how much of an unparseable line is kept for inspection


@dataclass(frozen=True)
class ReplayLine:
    """One line: either a message ready for ``ingest.service.receive`` or an error to record as rejected."""

    line_no: int
    message: dict[str, Any] | None = None
    error: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)  # what is stored when the line is rejected
    platform: str = "unknown"


def count_lines(path: Path) -> int:
    """Non-blank lines, for a progress bar's total."""
    with path.open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())


def read_jsonl(path: Path, *, max_image_bytes: int) -> Iterator[ReplayLine]:
    """Yield every non-blank line; never raises for a bad line, so one typo cannot stop a replay."""
    base = path.resolve().parent
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line_no, text in enumerate(handle, start=1):
            if text.strip():
                yield parse_line(text, line_no, base, max_image_bytes=max_image_bytes)


def parse_line(text: str, line_no: int, base: Path, *, max_image_bytes: int) -> ReplayLine:
    """Turn one JSONL line into a message dict; photos are read from files strictly inside ``base``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return ReplayLine(
            line_no=line_no,
            error=f"第 {line_no} 行不是合法的 JSON：{exc.msg}（第 {exc.colno} 列）",
            payload={"line_no": line_no, "text": text.rstrip("\n")[:MAX_LINE_CHARS_KEPT]},
        )
    if not isinstance(data, dict):
        return ReplayLine(
            line_no=line_no,
            error=f"第 {line_no} 行应为一个 JSON 对象（{{...}}），实际是 {type(data).__name__}",
            payload={"line_no": line_no, "text": text.rstrip("\n")[:MAX_LINE_CHARS_KEPT]},
        )
    platform = data.get("platform") if isinstance(data.get("platform"), str) else "unknown"
    message = {k: v for k, v in data.items() if k not in ("image", "image_name")}
    image = data.get("image")
    if image is None:
        return ReplayLine(line_no=line_no, message=message, platform=platform)
    try:
        media = _load_image(image, data.get("image_name"), base, max_image_bytes)
    except ValueError as exc:
        return ReplayLine(line_no=line_no, error=f"第 {line_no} 行：{exc}", payload=data, platform=platform)
    message["media"] = media
    return ReplayLine(line_no=line_no, message=message, platform=platform)


def _load_image(ref: Any, image_name: Any, base: Path, max_image_bytes: int) -> dict[str, Any]:
    """Resolve ``ref`` inside ``base`` (no absolute path, ``..`` or symlink escape) and read it."""
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError("「image」应为图片文件的相对路径，如 images/0001.jpg")
    if "\x00" in ref or PurePosixPath(ref).is_absolute() or Path(ref).is_absolute() or ref.startswith("\\"):
        raise ValueError(f"图片路径「{ref}」必须是相对于 JSONL 文件所在目录的路径，拒绝读取")
    target = (base / ref).resolve()
    if not target.is_relative_to(base):
        raise ValueError(f"图片路径「{ref}」指向 JSONL 文件所在目录之外，拒绝读取")
    if not target.is_file():
        raise ValueError(f"找不到图片文件「{ref}」")
    size = target.stat().st_size
    if size > max_image_bytes:
        raise ValueError(f"图片文件「{ref}」过大（{size} 字节，上限 {max_image_bytes} 字节）")
    original = image_name if isinstance(image_name, str) and image_name.strip() else PurePosixPath(ref).name
    return {"data": target.read_bytes(), "original_name": original[:500]}
