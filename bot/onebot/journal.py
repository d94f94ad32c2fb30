"""A write-ahead journal for reverse-WebSocket events: a frame is on disk (fsync) before the next one is read.

OneBot v11 has no acknowledgement on the WebSocket, so an event the server has read but not yet stored would be
lost by a crash. Each frame is appended here first; a ``done`` line follows once ingest has stored it. At start-up
the frames without a ``done`` line are handed to ingest again (ingest deduplicates by message id).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import IO


class Journal:
    """Append-only JSONL of ``{"seq", "frame"}`` and ``{"done"}`` lines; emptied whenever nothing is pending."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None
        self._seq = 0
        self._pending: set[int] = set()

    def _open(self) -> IO[str]:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a", encoding="utf-8")
        return self._handle

    def append(self, frame: str) -> int:
        """Write one frame durably (flush + fsync); returns its sequence number for ``done``."""
        with self._lock:
            self._seq += 1
            handle = self._open()
            handle.write(json.dumps({"seq": self._seq, "frame": frame}, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            self._pending.add(self._seq)
            return self._seq

    def done(self, seq: int) -> None:
        """Mark a frame stored; not fsynced: if the mark is lost the frame is replayed and deduplicated."""
        with self._lock:
            self._pending.discard(seq)
            handle = self._open()
            if self._pending:
                handle.write(json.dumps({"done": seq}) + "\n")
                handle.flush()
            else:  # nothing in flight: start the file afresh so it never grows
                handle.truncate(0)
                handle.seek(0)

    def unfinished(self) -> list[str]:
        """Frames journaled by an earlier run and never marked done, in arrival order."""
        with self._lock:
            if not self.path.exists():
                return []
            frames: dict[int, str] = {}
            with self.path.open(encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:  # the last line, cut short by the crash: never acknowledged
                        continue
                    if "done" in entry:
                        frames.pop(entry["done"], None)
                    elif "frame" in entry:
                        frames[entry["seq"]] = entry["frame"]
            return [frames[seq] for seq in sorted(frames)]

    def reset(self) -> None:
        """Forget replayed frames (called once they are stored again)."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
            self.path.unlink(missing_ok=True)
            self._pending.clear()
