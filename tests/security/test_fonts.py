"""Finding 13: fonts come from the system (fontconfig), not from wheels; dependencies are pinned with reasons."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from bot.posts import chart
from wenming import fonts

ROOT = Path(__file__).resolve().parents[2]


def test_the_chart_font_is_a_system_font_found_by_fontconfig() -> None:
    found = fonts.cjk_font()
    assert found.path.is_file() and str(found.path).startswith(("/usr/share/fonts", "/usr/local/share/fonts"))
    assert chart.renders_cjk(chart.cjk_font(20))


def test_the_best_listed_face_wins(tmp_path: Path) -> None:
    wqy, noto = tmp_path / "wqy-microhei.ttc", tmp_path / "NotoSansCJK-Regular.ttc"
    wqy.write_bytes(b"x")
    noto.write_bytes(b"x")
    listing = f"{wqy}|0|WenQuanYi Micro Hei,文泉驿微米黑\n{noto}|2|Noto Sans CJK SC,Noto Sans CJK SC Regular\n"
    best = fonts.choose(listing)
    assert best.path == noto and best.index == 2


def test_no_cjk_font_gives_a_chinese_error_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fonts, "_fc_list", lambda: "")
    fonts.cjk_font.cache_clear()
    chart.cjk_font.cache_clear()
    try:
        with pytest.raises(chart.FontError) as missing:
            chart.cjk_font(20)
    finally:
        fonts.cjk_font.cache_clear()
        chart.cjk_font.cache_clear()
    assert "fonts-noto-cjk" in str(missing.value) and "fonts-wqy-microhei" in str(missing.value)


def test_no_font_wheels_and_exact_pins_where_a_release_is_unusual() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    every = project["dependencies"] + [d for deps in project["optional-dependencies"].values() for d in deps]
    assert not [d for d in every if "font" in d.lower()]
    [itchat] = [d for d in every if d.startswith("itchat")]
    assert re.fullmatch(r"itchat-uos==[\w.]+", itchat)
    assert [d for d in every if "<" not in d and "==" not in d] == []  # every range has a top
