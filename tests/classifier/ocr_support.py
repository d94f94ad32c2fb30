"""Shared helpers for the OCR tests: reports fed through ingest, a recording stand-in for the classifier."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest import service as ingest_service
from ingest.models import Report
from tests.ingest.builders import T0, message
from wenming.settings import Settings


def feed_report(
    session: Session, settings: Settings, *images: bytes, text: str | None = None, sender: str = "u1"
) -> Report:
    """One report as a unit posts it: optional text, then photos a minute apart."""
    msgs = [message(sender=sender, text=text, at=T0)] if text else []
    msgs += [message(sender=sender, image=image, at=T0 + timedelta(minutes=i + 1)) for i, image in enumerate(images)]
    for msg in msgs:
        ingest_service.receive(session, settings, msg)
    ingest_service.assemble_pending(session, settings)
    return session.scalars(select(Report).order_by(Report.id.desc())).first()  # type: ignore[return-value]


def huge_png(width: int, height: int) -> bytes:
    """A valid PNG header announcing a huge image, with almost no data: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
