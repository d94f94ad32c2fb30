"""Leaderboard chart PNGs drawn with Pillow in the system's CJK font (``wenming.fonts``, found by fontconfig)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFont

from wenming import fonts


class FontError(RuntimeError):
    """No usable CJK font: charts would show boxes instead of Chinese."""


def system_font() -> fonts.SystemFont:
    """The CJK font fontconfig finds; a clear Chinese error naming the Debian package when there is none."""
    try:
        return fonts.cjk_font()
    except fonts.FontMissingError as exc:
        raise FontError(str(exc)) from None


@lru_cache(maxsize=8)
def cjk_font(size: int) -> ImageFont.FreeTypeFont:
    found = system_font()
    font = ImageFont.truetype(str(found.path), size, index=found.index)
    if not renders_cjk(font):
        raise FontError(f"字体 {found.family} 缺少中文字形，图表会显示方框。{fonts.INSTALL_HINT}")
    return font


def _glyph(font: ImageFont.FreeTypeFont, char: str) -> Image.Image:
    image = Image.new("L", (font.size * 2, font.size * 2), 0)
    ImageDraw.Draw(image).text((2, 2), char, font=font, fill=255)
    return image


def renders_cjk(font: ImageFont.FreeTypeFont, sample: str = "文明单位活跃度排行") -> bool:
    """Every sample character has ink and differs from the font's missing-glyph box (tofu)."""
    tofu = _glyph(font, "\ue000")  # a private-use code point: always the .notdef box
    for char in sample:
        glyph = _glyph(font, char)
        if glyph.getbbox() is None or ImageChops.difference(glyph, tofu).getbbox() is None:
            return False
    return True


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    note: str = ""  # small text after the value, e.g. "实践 9 次 · 7 天"
    highlight: bool = False  # e.g. below the monthly minimum


WIDTH, ROW, TOP, BOTTOM, LABEL_W = 1080, 46, 120, 56, 330
COLOURS = {
    "bg": "#ffffff",
    "title": "#8b1a1a",
    "text": "#222222",
    "muted": "#777777",
    "bar": "#c0392b",
    "low": "#e0a030",
}


def _fit(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def bar_chart(title: str, subtitle: str, bars: list[Bar], footer: str = "") -> bytes:
    """A horizontal bar chart, ranked top to bottom, as PNG bytes."""
    height = TOP + ROW * max(len(bars), 1) + BOTTOM
    image = Image.new("RGB", (WIDTH, height), COLOURS["bg"])
    draw = ImageDraw.Draw(image)
    big, mid, small = cjk_font(34), cjk_font(22), cjk_font(18)
    draw.text((40, 24), title, font=big, fill=COLOURS["title"])
    draw.text((40, 74), _fit(draw, subtitle, small, WIDTH - 80), font=small, fill=COLOURS["muted"])
    top_value = max((b.value for b in bars), default=0) or 1
    area = WIDTH - LABEL_W - 60 - 230
    for i, bar in enumerate(bars):
        y = TOP + i * ROW
        label = _fit(draw, bar.label, mid, LABEL_W - 20)
        draw.text((LABEL_W - draw.textlength(label, font=mid), y + 8), label, font=mid, fill=COLOURS["text"])
        length = max(int(area * bar.value / top_value), 2 if bar.value > 0 else 0)
        colour = COLOURS["low"] if bar.highlight else COLOURS["bar"]
        draw.rectangle((LABEL_W + 16, y + 10, LABEL_W + 16 + length, y + ROW - 10), fill=colour)
        text = f"{bar.value:g}" + (f"  {bar.note}" if bar.note else "")
        draw.text((LABEL_W + 26 + length, y + 10), text, font=small, fill=COLOURS["text"])
    if not bars:
        draw.text((40, TOP + 8), "本期暂无数据", font=mid, fill=COLOURS["muted"])
    if footer:
        draw.text((40, height - BOTTOM + 18), _fit(draw, footer, small, WIDTH - 80), font=small, fill=COLOURS["muted"])
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
