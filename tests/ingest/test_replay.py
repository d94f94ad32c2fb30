"""The JSONL reader: photos are read strictly from inside the file's folder; bad lines become explained errors."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.replay import count_lines, parse_line, read_jsonl

LIMIT = 1024 * 1024


def image_line(ref: object, **extra: object) -> str:
    return json.dumps({"platform": "qq", "group_id": "650433512", "kind": "image", "image": ref, **extra})


def test_photo_inside_the_folder_is_read_with_its_client_name(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(b"\xff\xd8bytes")
    parsed = parse_line(image_line("images/a.jpg", image_name="{ABC}.jpg"), 3, tmp_path, max_image_bytes=LIMIT)
    assert parsed.error is None and parsed.message is not None
    assert parsed.message["media"] == {"data": b"\xff\xd8bytes", "original_name": "{ABC}.jpg"}
    assert "image" not in parsed.message and "image_name" not in parsed.message
    bare = parse_line(image_line("images/./a.jpg"), 4, tmp_path, max_image_bytes=LIMIT)
    assert bare.message is not None and bare.message["media"]["original_name"] == "a.jpg"


def test_escapes_are_refused_even_through_symlinks(tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    (tmp_path / "outside.jpg").write_bytes(b"secret")
    (folder / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    for ref, reason in [
        ("../outside.jpg", "目录之外"),
        ("link.jpg", "目录之外"),
        (str(tmp_path / "outside.jpg"), "必须是相对于"),
        ("images/../../outside.jpg", "目录之外"),
        (42, "应为图片文件的相对路径"),
        ("", "应为图片文件的相对路径"),
    ]:
        parsed = parse_line(image_line(ref), 5, folder, max_image_bytes=LIMIT)
        assert parsed.message is None, ref
        assert parsed.error is not None and parsed.error.startswith("第 5 行：") and reason in parsed.error
        assert parsed.platform == "qq" and parsed.payload["image"] == ref


def test_oversized_photo_is_refused_before_reading(tmp_path: Path) -> None:
    (tmp_path / "big.jpg").write_bytes(b"x" * 2048)
    parsed = parse_line(image_line("big.jpg"), 1, tmp_path, max_image_bytes=1024)
    assert parsed.error is not None and "过大" in parsed.error


def test_broken_and_non_object_lines_are_kept_with_an_error(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"platform": "wechat"}\n\n{oops\n[1, 2]\n', encoding="utf-8")
    parsed = list(read_jsonl(path, max_image_bytes=LIMIT))
    assert count_lines(path) == 3
    assert [p.line_no for p in parsed] == [1, 3, 4]
    assert parsed[0].message == {"platform": "wechat"}
    assert parsed[1].error is not None and parsed[1].error.startswith("第 3 行不是合法的 JSON")
    assert parsed[1].payload == {"line_no": 3, "text": "{oops"}
    assert parsed[2].error is not None and "应为一个 JSON 对象" in parsed[2].error
