"""Content-addressed image storage: verify the bytes are a real image, never trust the sender's name."""

from __future__ import annotations

import errno
import functools
import hashlib
import io
import os
import tempfile
import threading
import warnings
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imagehash
from PIL import Image, UnidentifiedImageError

from wenming.settings import Settings

# Magic bytes of the formats chat platforms deliver; anything else is refused before decoding.
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
    (b"BM", "image/bmp", "bmp"),
)


class MediaError(ValueError):
    """The bytes are not an acceptable image; the message is shown to staff."""


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    phash: str
    relative_path: str
    mime: str
    size: int
    width: int
    height: int


def sniff(data: bytes) -> tuple[str, str]:
    """Return (mime, extension) from magic bytes, or raise."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    for magic, mime, ext in _SIGNATURES:
        if data.startswith(magic):
            return mime, ext
    raise MediaError("文件不是可识别的图片（JPEG/PNG/GIF/BMP/WEBP）")


def inspect_image(data: bytes, settings: Settings) -> tuple[str, str, int, int, str]:
    """Check size, format and full decodability; return (mime, ext, width, height, phash)."""
    if not data:
        raise MediaError("图片内容为空（下载失败或文件损坏）")
    if len(data) > settings.max_image_bytes:
        raise MediaError(f"图片过大：{len(data)} 字节，上限 {settings.max_image_bytes} 字节")
    mime, ext = sniff(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
                if width * height > settings.max_image_pixels:
                    raise MediaError(f"图片像素过多：{width}×{height}，上限 {settings.max_image_pixels} 像素")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                phash = str(imagehash.phash(image))
    except MediaError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaError(f"图片无法解码（文件损坏或格式不符）：{exc.__class__.__name__}") from None
    except Image.DecompressionBombWarning:
        raise MediaError("图片像素过多，疑似解压炸弹，已拒收") from None
    return mime, ext, width, height, phash


def relative_path_for(sha256: str, ext: str) -> str:
    """Where an image lives under the media dir: derived only from its hash."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{ext}"


def resolve_under(media_dir: Path, relative: str) -> Path:
    """Join a stored relative path to the media dir, refusing anything that escapes it."""
    root = _resolved(media_dir.absolute())  # keyed by the absolute path: a relative one depends on the cwd
    target = (root / relative).resolve()
    if not target.is_relative_to(root):
        raise MediaError("非法的媒体路径")
    return target


@functools.lru_cache(maxsize=16)
def _resolved(media_dir: Path) -> Path:
    """The media dir's real path, resolved once: resolving walks every component with a system call each."""
    return media_dir.resolve()


def file_present(relative: str, settings: Settings) -> bool:
    """Whether a stored image's file is still on disk (a lost file is written again from the next copy)."""
    try:
        return resolve_under(settings.media_dir, relative).is_file()
    except MediaError:
        return False


def store_image(data: bytes, settings: Settings) -> StoredImage:
    """Validate and write an image once, atomically, under the media directory."""
    [stored] = store_images([data], settings)
    if isinstance(stored, MediaError):
        raise stored
    return stored


def store_images(images: Iterable[bytes], settings: Settings) -> list[StoredImage | MediaError]:
    """``store_image`` for a batch, in order: each image is checked here while earlier ones are written.

    A new file costs about as much disk time (directories, fsync) as its decoding costs CPU, so the writes go to
    a few background threads and overlap the next decodes. Decoding stays in the calling thread: its
    decompression-bomb check changes the process's warning filters. Returns once every file is on disk.
    """
    pending: list[tuple[StoredImage, Future[None]] | MediaError] = []
    for data in images:
        try:
            stored, target = _checked(data, settings)
        except MediaError as exc:
            pending.append(exc)
            continue
        pending.append((stored, _writer().submit(_write_if_missing, target, data)))
    results: list[StoredImage | MediaError] = []
    for item in pending:
        if isinstance(item, MediaError):
            results.append(item)
            continue
        stored, written = item
        try:
            written.result()
        except OSError as exc:  # disk full, permissions: the message is kept, rejected with this reason
            results.append(MediaError(_disk_problem(exc)))
            continue
        results.append(stored)
    return results


def _checked(data: bytes, settings: Settings) -> tuple[StoredImage, Path]:
    """The image's stored description and where its file goes, once the bytes are known to be a sound image."""
    mime, ext, width, height, phash = inspect_image(data, settings)
    sha = hashlib.sha256(data).hexdigest()
    relative = relative_path_for(sha, ext)
    stored = StoredImage(sha, phash, relative, mime, len(data), width, height)
    return stored, resolve_under(settings.media_dir, relative)


WRITE_THREADS = 4
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    """The process's image-writing threads, started on first use (and again in a forked child)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="wenming-media")
        return _pool


def _forget_pool_in_child() -> None:
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()  # the parent's threads do not exist in a forked child


os.register_at_fork(after_in_child=_forget_pool_in_child)


def _write_if_missing(target: Path, data: bytes) -> None:
    if not target.exists():
        _write_atomically(target, data)


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _disk_problem(exc: OSError) -> str:
    """The Chinese reason a photo could not be written, naming what an administrator should check."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "图片未能保存：媒体目录所在磁盘已满（WENMING_MEDIA_DIR），请清理磁盘后在控制台重新处理"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "图片未能保存：没有媒体目录的写入权限（WENMING_MEDIA_DIR）"
    return f"图片未能保存：写入媒体目录失败（{exc.strerror or exc.__class__.__name__}）"
