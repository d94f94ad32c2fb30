"""Text reading with RapidOCR (PP-OCR models shipped in the wheel): loaded once per process, bounded per image."""

from __future__ import annotations

import io
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ENGINE_NAME = "rapidocr-onnxruntime"
_RECOGNITION_BATCH = 6


class OcrRefused(ValueError):
    """The image must not be read (too many pixels, not an image); the message is shown to staff."""


@dataclass(frozen=True)
class OcrLine:
    """One recognised line: text, confidence and its quadrilateral in original image pixels."""

    text: str
    confidence: float
    box: list[list[float]]

    @property
    def height(self) -> float:
        """Line height in pixels: the shorter side of the box, so rotated lines measure right."""
        points = np.asarray(self.box, dtype=np.float64)
        side_a = np.linalg.norm(points[0] - points[1]) + np.linalg.norm(points[2] - points[3])
        side_b = np.linalg.norm(points[0] - points[3]) + np.linalg.norm(points[1] - points[2])
        return float(min(side_a, side_b) / 2.0)

    @property
    def width(self) -> float:
        points = np.asarray(self.box, dtype=np.float64)
        side_a = np.linalg.norm(points[0] - points[1]) + np.linalg.norm(points[2] - points[3])
        side_b = np.linalg.norm(points[0] - points[3]) + np.linalg.norm(points[1] - points[2])
        return float(max(side_a, side_b) / 2.0)


@dataclass
class OcrResult:
    width: int
    height: int
    lines: list[OcrLine] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    truncated: bool = False  # the time budget ran out before every detected line was recognised
    detected: int = 0


@dataclass(frozen=True)
class OcrLimits:
    max_pixels: int
    max_side: int
    time_budget_seconds: float
    min_confidence: float


_engines: dict[int, Any] = {}
_engine_lock = threading.Lock()


def get_engine(threads: int = 1) -> Any:
    """The process-wide RapidOCR engine (model loading takes a while; do it once per worker)."""
    with _engine_lock:
        engine = _engines.get(threads)
        if engine is None:
            from rapidocr_onnxruntime import RapidOCR

            engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
            _engines[threads] = engine
        return engine


def engine_version() -> str:
    from importlib.metadata import version

    return f"{ENGINE_NAME} {version(ENGINE_NAME)}"


def load_image(source: Path | bytes, limits: OcrLimits) -> Image.Image:
    """Open an image for reading, refusing decompression bombs before any pixel is decoded."""
    data = source if isinstance(source, bytes) else source.read_bytes()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise OcrRefused(f"图片像素过多：{width}×{height}，文字识别上限 {limits.max_pixels} 像素，已拒绝识别")
            image = ImageOps.exif_transpose(image)
            return image.convert("RGB")
    except OcrRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise OcrRefused("图片像素过多，疑似解压炸弹，已拒绝识别") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise OcrRefused(f"图片无法解码，无法识别文字：{exc.__class__.__name__}") from None


_MAX_ASPECT = 3.0


def _fit(image: Image.Image, max_side: int) -> tuple[Image.Image, float]:
    """Shrink large photos and pad extreme strips, so detection (short side scaled to 736) stays bounded."""
    scale = 1.0
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    width, height = image.size
    if max(width, height) > _MAX_ASPECT * min(width, height):
        # Padding right/bottom keeps box coordinates unchanged.
        padded = Image.new("RGB", (max(width, round(height / _MAX_ASPECT)), max(height, round(width / _MAX_ASPECT))))
        padded.paste(image, (0, 0))
        image = padded
    return image, scale


def read_image(image: Image.Image, limits: OcrLimits, engine: Any) -> OcrResult:
    """Detect text boxes, then recognise them largest first until the time budget runs out."""
    started = time.perf_counter()
    result = OcrResult(width=image.width, height=image.height)
    fitted, scale = _fit(image, limits.max_side)
    img = engine.load_img(fitted)
    raw_h, raw_w = img.shape[:2]
    img, ratio_h, ratio_w = engine.preprocess(img)
    op_record: dict[str, Any] = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
    img, op_record = engine.maybe_add_letterbox(img, op_record)
    boxes, _ = engine.auto_text_det(img)
    if boxes is None:
        result.elapsed_seconds = time.perf_counter() - started
        return result
    crops = engine.get_crop_img_list(img, boxes)
    origin = engine._get_origin_points(boxes, op_record, raw_h, raw_w) / scale
    order = sorted(range(len(crops)), key=lambda i: -_crop_height(crops[i]))
    result.detected = len(order)
    recognised: dict[int, tuple[str, float]] = {}
    for start in range(0, len(order), _RECOGNITION_BATCH):
        if start and time.perf_counter() - started > limits.time_budget_seconds:
            result.truncated = True
            break
        batch = order[start : start + _RECOGNITION_BATCH]
        batch_crops, _, _ = engine.text_cls([crops[i] for i in batch])
        texts, _ = engine.text_rec(batch_crops, False)
        for index, (text, score, *_rest) in zip(batch, texts, strict=True):
            recognised[index] = (str(text), float(score))
    for index in sorted(recognised):
        text, score = recognised[index]
        if text.strip() and score >= limits.min_confidence:
            box = [[round(float(x), 1), round(float(y), 1)] for x, y in origin[index]]
            result.lines.append(OcrLine(text=text.strip(), confidence=round(score, 4), box=box))
    result.elapsed_seconds = time.perf_counter() - started
    return result


def _crop_height(crop: np.ndarray) -> int:
    height, width = crop.shape[:2]
    return min(height, width)
