"""A JSONL spool so no message is dropped while the database is unreachable."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.schemas import IncomingMessage, MediaContent


def encode_message(message: IncomingMessage) -> dict[str, Any]:
    """A JSON-safe form of a message; image bytes are base64 so any byte survives."""
    data = message.model_dump(mode="json", exclude={"media"})
    if message.media is not None:
        data["media"] = {
            "data_b64": base64.b64encode(message.media.data).decode("ascii"),
            "original_name": message.media.original_name,
        }
    return data


def decode_message(data: dict[str, Any]) -> IncomingMessage:
    """Rebuild a spooled message exactly as it was delivered."""
    data = dict(data)
    media = data.pop("media", None)
    if media is not None:
        data["media"] = MediaContent(data=base64.b64decode(media["data_b64"]), original_name=media.get("original_name"))
    return IncomingMessage.model_validate(data)


class Spool:
    """Append-only JSONL file of undelivered entries; drained oldest first."""

    def __init__(self, directory: Path, name: str = "messages.jsonl") -> None:
        self.path = directory / name
        self._lock = threading.Lock()

    def append(self, entry: dict[str, Any]) -> None:
        """Write one entry durably (flush + fsync) before the caller acknowledges the event."""
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for _ in self._read())

    def pending(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def _read(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:  # a line cut short by a crash mid-write
                    yield {"kind": "corrupt", "line": line.rstrip("\n")}

    def take(self) -> list[dict[str, Any]]:
        """All entries, in arrival order."""
        with self._lock:
            return list(self._read())

    def keep_only(self, remaining: list[dict[str, Any]], consumed: int) -> None:
        """Drop the first ``consumed`` entries, keeping anything appended since ``take``."""
        with self._lock:
            current = list(self._read())
            left = remaining + current[consumed + len(remaining) :]
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("w", encoding="utf-8") as handle:
                for entry in left:
                    handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            tmp.replace(self.path)
