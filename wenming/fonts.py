"""The system's CJK font, found through fontconfig (charts, generated sample photos).

No font comes from a Python package: a font wheel is code from whoever uploaded it, imported into the process that
holds the database credentials. Debian's ``fonts-noto-cjk`` or ``fonts-wqy-microhei`` are what the README installs.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

INSTALL_HINT = "请安装系统中文字体：sudo apt-get install fonts-noto-cjk（或 fonts-wqy-microhei）"

# Preferred families first: Noto Sans CJK SC reads best; WenQuanYi Micro Hei is small and everywhere.
PREFERRED = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "Noto Sans CJK")


class FontMissingError(RuntimeError):
    """No CJK font on this machine; the message names the Debian package to install."""


@dataclass(frozen=True)
class SystemFont:
    """A font file and the face inside it (``.ttc`` collections hold several)."""

    path: Path
    index: int
    family: str


def _fc_list(runner: object = subprocess.run) -> str:
    if shutil.which("fc-list") is None:
        raise FontMissingError(f"找不到 fontconfig（fc-list），无法查找中文字体。{INSTALL_HINT}")
    result = runner(  # type: ignore[operator]
        ["fc-list", ":lang=zh", "--format", "%{file}|%{index}|%{family}\\n"],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    return result.stdout


def choose(listing: str) -> SystemFont:
    """The best face in ``fc-list :lang=zh`` output (``file|index|family`` lines)."""
    fonts: list[SystemFont] = []
    for line in listing.splitlines():
        parts = line.split("|", 2)
        if len(parts) == 3 and parts[0] and Path(parts[0]).is_file():
            index = int(parts[1]) if parts[1].isdigit() else 0
            fonts.append(SystemFont(Path(parts[0]), index, parts[2]))
    if not fonts:
        raise FontMissingError(f"系统中没有中文字体，图表和示例图片会显示方框。{INSTALL_HINT}")

    def rank(font: SystemFont) -> tuple[int, str]:
        families = [name.strip() for name in font.family.split(",")]
        hits = [i for i, name in enumerate(PREFERRED) if name in families]
        return (min(hits) if hits else len(PREFERRED), str(font.path))

    return min(fonts, key=rank)


@lru_cache(maxsize=1)
def cjk_font() -> SystemFont:
    """The system CJK font fontconfig knows (cached for the process)."""
    return choose(_fc_list())
