"""Generated activity photos with Chinese banners, for tests, the benchmark and the demo (not used in production).

The CJK font is the system's (``wenming.fonts``: Noto Sans CJK SC from ``fonts-noto-cjk`` when installed, else
WenQuanYi Micro Hei from ``fonts-wqy-microhei``), found through fontconfig.
"""

from __future__ import annotations

import contextlib
import io
import random
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from wenming import fonts

# Banner texts per label, in the wording units really put on banners, slides and signs.
BANNERS: dict[str, tuple[str, ...]] = {
    "pairing": (
        "县市场监管局与城东村结对共建志愿服务活动",
        "县人民医院党支部与东方社区结对共建",
        "县教育局与李家村开展结对共建活动",
        "长兴中学与南湾村结对共建签约仪式",
    ),
    "volunteer": (
        "学雷锋志愿服务进社区活动",
        "县人民医院义诊志愿服务活动",
        "无偿献血爱心传递志愿服务",
        "文明交通志愿服务活动",
    ),
    "practice": (
        "城东村新时代文明实践站",
        "新时代文明实践理论宣讲进农村",
        "移风易俗新时代文明实践活动",
        "新时代文明实践中心主题宣讲",
    ),
    "news": (
        "湖州日报报道县市场监管局文明创建工作",
        "长兴新闻融媒体中心报道我局志愿服务",
        "学习强国刊发县人民医院文明创建经验",
        "浙江日报刊发长兴文明实践做法",
    ),
}
PARTNERS = {
    "县市场监管局与城东村结对共建志愿服务活动": "城东村",
    "县人民医院党支部与东方社区结对共建": "东方社区",
    "县教育局与李家村开展结对共建活动": "李家村",
    "长兴中学与南湾村结对共建签约仪式": "南湾村",
}
# Small print that real photos carry and that must not count as a banner.
CLUTTER = ("安全出口", "请勿吸烟", "会议室", "二〇二六年十月")


@lru_cache(maxsize=32)
def font(size: int, weight: str = "Bold") -> ImageFont.FreeTypeFont:
    found = fonts.cjk_font()
    face = ImageFont.truetype(str(found.path), size, index=found.index)
    with contextlib.suppress(OSError, ValueError):  # a variable font (Noto CJK VF) has weights; others do not
        face.set_variation_by_name(weight)
    return face


@dataclass(frozen=True)
class SamplePhoto:
    label: str
    banner: str | None
    jpeg: bytes
    blur: float
    rotation: float
    quality: int


def _scene(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A plausible background: a wall and floor with people-like shapes; no text."""
    width, height = size
    image = Image.new("RGB", size, tuple(rng.randrange(150, 235) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, int(height * 0.62), width, height), fill=tuple(rng.randrange(60, 140) for _ in range(3)))
    for _ in range(rng.randrange(4, 9)):
        x = rng.randrange(0, width)
        y = rng.randrange(int(height * 0.45), int(height * 0.75))
        body = max(12, height // 7)
        colour = tuple(rng.randrange(20, 220) for _ in range(3))
        draw.ellipse((x, y - body // 2, x + body // 2, y), fill=(230, 190, 160))
        draw.rectangle((x - body // 6, y, x + body // 2 + body // 6, y + body * 2), fill=colour)
    return image


def _banner(text: str, width: int, rng: random.Random) -> Image.Image:
    """A red cloth banner with yellow or white characters, sized to the text."""
    size = max(12, int(width * rng.uniform(0.9, 1.1) / (len(text) + 2)))
    face = font(size)
    left, top, right, bottom = face.getbbox(text)
    pad = size // 2
    banner = Image.new("RGB", (right - left + 2 * pad, bottom - top + 2 * pad), (rng.randrange(170, 215), 20, 25))
    colour = (255, 235, 60) if rng.random() < 0.7 else (255, 255, 255)
    ImageDraw.Draw(banner).text((pad - left, pad - top), text, font=face, fill=colour)
    return banner


def hang_banner(
    image: Image.Image, text: str, rng: random.Random, *, share: float = 0.8, rotation: float = 0.0, top: float = 0.06
) -> None:
    """Paste a red banner reading ``text`` across the upper part of ``image`` (in place)."""
    width, height = image.size
    cloth = _banner(text, int(width * share), rng).convert("RGBA").rotate(rotation, expand=True, resample=3)
    x = max(0, (width - cloth.width) // 2 + rng.randrange(-width // 20, width // 20 + 1))
    image.paste(cloth, (x, int(height * rng.uniform(top, top + 0.12))), cloth)


def render(
    banner: str | None,
    *,
    seed: int,
    size: tuple[int, int] = (1280, 720),
    blur: float | None = None,
    rotation: float | None = None,
    quality: int | None = None,
    clutter: bool = True,
    banner_share: float = 0.8,
) -> tuple[bytes, float, float, int]:
    """Render one JPEG with an optional banner, rotated, blurred and compressed; returns (jpeg, blur, rot, q).

    ``banner_share`` is the banner's width as a share of the photo's: smaller means taken from further away.
    """
    rng = random.Random(seed)
    blur = rng.uniform(0.0, 1.2) if blur is None else blur
    rotation = rng.uniform(-4.0, 4.0) if rotation is None else rotation
    quality = rng.randrange(55, 90) if quality is None else quality
    image = _scene(rng, size)
    width, height = size
    if banner:
        hang_banner(image, banner, rng, share=banner_share, rotation=rotation)
    if clutter:
        draw = ImageDraw.Draw(image)
        small = font(max(10, height // 45), "Regular")
        draw.text((int(width * 0.05), int(height * 0.9)), rng.choice(CLUTTER), font=small, fill=(40, 40, 40))
    if blur > 0:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue(), blur, rotation, quality


def generated_set(
    per_label: int = 4, *, seed: int = 7, size: tuple[int, int] = (1280, 720), hard: bool = False
) -> list[SamplePhoto]:
    """The evaluation set: ``per_label`` photos for each label plus as many photos with no banner.

    ``hard`` photos have a banner a third of the photo wide, heavier blur (1.2–2.2 px), stronger rotation
    (up to 8°) and heavy JPEG compression (quality 25–45).
    """
    photos = []
    for label_index, (label, texts) in enumerate(sorted(BANNERS.items())):
        for i in range(per_label):
            text = texts[i % len(texts)]
            photos.append(_sample(label, text, seed * 1000 + label_index * 100 + i, size, hard))
    for i in range(per_label):
        photos.append(_sample("other", None, seed * 1000 + 900 + i, size, hard))
    return photos


def _sample(label: str, text: str | None, seed: int, size: tuple[int, int], hard: bool) -> SamplePhoto:
    options: dict[str, float | int] = {}
    if hard:
        rng = random.Random(-seed)
        options = {
            "blur": rng.uniform(1.2, 2.2),
            "rotation": rng.choice((-1, 1)) * rng.uniform(4.0, 8.0),
            "quality": rng.randrange(25, 46),
            "banner_share": rng.uniform(0.3, 0.4),
        }
    jpeg, blur, rotation, quality = render(text, seed=seed, size=size, **options)  # type: ignore[arg-type]
    return SamplePhoto(label, text, jpeg, blur, rotation, quality)
