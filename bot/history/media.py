"""Photos from an export's folder, found by the export's own references: md5, file names, message times.

- WeChatMsg (MemoTrace): the CSV's image rows keep WeChat's ``<img … md5="…">`` XML, and the HTML export beside it
  lists each picture as ``{ type:3, text: './image/<name>.jpg', …, timestamp:<CreateTime>, … }``.
- qq-chat-exporter: each image element has ``md5`` and ``filename``; its resource entry the ``localPath``.
- PyWxDump: ``src`` is the ``FileStorage/…/Image/…/<name>.dat`` path; a decoded folder has ``<name>.jpg``.

A reference that matches no file, or more than one, attaches nothing: a wrong photo is worse than none.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from bot.history.records import MediaRef, read_text

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"})
MAX_FILES = 100_000
_HTML_IMAGE = re.compile(r"type\s*:\s*3\s*,\s*text\s*:\s*'([^']+)'[^{}]*?timestamp\s*:\s*(\d+)")


class MediaFolderError(ValueError):
    """The folder given with ``--media`` cannot be used; the message is Chinese."""


def _key(name: str) -> str:
    return PurePosixPath(name.replace("\\", "/")).as_posix().lower().lstrip("./")


@dataclass
class MediaFolder:
    """Every image file under ``root`` (symlinks are not followed out of it), indexed for lookups."""

    root: Path
    max_bytes: int
    files: list[Path] = field(default_factory=list)
    _by_path: dict[str, Path] = field(default_factory=dict)
    _by_name: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    _by_stem: dict[str, list[Path]] = field(default_factory=lambda: defaultdict(list))
    _by_md5: dict[str, list[Path]] | None = None
    _by_time: dict[int, list[Path]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def open(cls, root: Path, max_bytes: int) -> MediaFolder:
        if not root.is_dir():
            raise MediaFolderError(f"图片目录「{root}」不存在或不是目录")
        folder = cls(root=root.resolve(), max_bytes=max_bytes)
        folder._scan()
        return folder

    def _scan(self) -> None:
        for directory, _, names in os.walk(self.root, followlinks=False):
            for name in sorted(names):
                path = Path(directory) / name
                if path.is_symlink():
                    continue
                if path.suffix.lower() == ".html":
                    self._read_html(path)
                if path.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                if len(self.files) >= MAX_FILES:
                    raise MediaFolderError(f"图片目录里的图片超过 {MAX_FILES} 个，请只给出这份导出的图片目录")
                self.files.append(path)
                self._by_path[_key(str(path.relative_to(self.root)))] = path
                self._by_name[name.lower()].append(path)
                self._by_stem[path.stem.lower()].append(path)

    def _read_html(self, page: Path) -> None:
        """WeChatMsg's HTML export lists every picture with its message time."""
        try:
            text = read_text(page)[0]
        except ValueError:
            return
        for ref, stamp in _HTML_IMAGE.findall(text):
            target = (page.parent / ref).resolve()
            if target.is_relative_to(self.root) and target.suffix.lower() in IMAGE_SUFFIXES:
                self._by_time[int(stamp)].append(target)

    def _md5_index(self) -> dict[str, list[Path]]:
        if self._by_md5 is None:
            self._by_md5 = defaultdict(list)
            for path in self.files:
                if path.stat().st_size <= self.max_bytes:
                    self._by_md5[hashlib.md5(path.read_bytes()).hexdigest()].append(path)
        return self._by_md5

    def find(self, ref: MediaRef, *, timestamp: int | None = None, ordinal: int = 0) -> Path | None:
        """The one file the reference names: by md5, then path, file name, name stem, then the HTML's time."""
        if ref.md5 and len(found := self._md5_index().get(ref.md5, [])) >= 1:
            return found[0]  # identical bytes: any copy is the same photo
        for name in ref.names:
            key = _key(name)
            if key in self._by_path:
                return self._by_path[key]
            for index, value in ((self._by_name, PurePosixPath(key).name), (self._by_stem, PurePosixPath(key).stem)):
                if len(found := index.get(value, [])) == 1:
                    return found[0]
        if timestamp is not None and ordinal < len(found := self._by_time.get(timestamp, [])):
            return found[ordinal]
        return None

    def read(self, path: Path) -> bytes:
        """The file's bytes; only files inside the folder and within the size limit."""
        resolved = path.resolve()
        if not resolved.is_relative_to(self.root):
            raise MediaFolderError(f"图片「{path}」不在图片目录内，拒绝读取")
        size = resolved.stat().st_size
        if size > self.max_bytes:
            raise MediaFolderError(f"图片「{resolved.name}」过大（{size} 字节，上限 {self.max_bytes} 字节）")
        return resolved.read_bytes()
