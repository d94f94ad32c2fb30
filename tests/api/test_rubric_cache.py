"""Rubrics are parsed once per process and again only when their file changes."""

from __future__ import annotations

import os
from pathlib import Path

from api import scores
from scoring import rubric as scoring_rubric


def test_a_rubric_is_parsed_once_and_reloaded_when_its_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "changxing-2020.yaml"
    original = (scoring_rubric.RUBRIC_DIR / "changxing-2020.yaml").read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    first = scores._shipped_rubric(str(path))
    assert scores._shipped_rubric(str(path)) is first  # no second parse while the file is unchanged

    path.write_text(original.replace("title: 长兴县", "title: 长兴县（修订）", 1), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert scores._shipped_rubric(str(path)).title.startswith("长兴县（修订）")
