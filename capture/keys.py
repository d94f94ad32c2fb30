"""Agent secrets and request signatures.

An agent's secret is never stored: it is derived as ``HMAC-SHA256(server key, "capture-agent:<id>:<salt>")``,
so the database holds only a salt and a SHA-256 digest (which tells a changed server key from a wrong secret).
A request is signed ``X-Wenming-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>\\n" + body)>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from wenming.settings import Settings

SECRET_PREFIX = "wmag_"
SIGNATURE_PREFIX = "sha256="


def key_file(settings: Settings) -> Path:
    return settings.data_dir / "secrets" / "capture.key"


def server_key(settings: Settings) -> bytes:
    """``WENMING_CAPTURE_SECRET_KEY``, else a random key kept in a file only this user can read."""
    if settings.capture_secret_key is not None:
        return settings.capture_secret_key.get_secret_value().encode("utf-8")
    path = key_file(settings)
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_urlsafe(48).encode("ascii"))
    return path.read_bytes().strip()


def new_salt() -> str:
    return secrets.token_hex(16)


def derive_secret(key: bytes, agent_id: int, salt: str) -> str:
    digest = hmac.new(key, f"capture-agent:{agent_id}:{salt}".encode(), hashlib.sha256).digest()
    return SECRET_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The hex signature of one request: HMAC-SHA256 keyed by the secret over ``timestamp + "\\n" + body``."""
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"\n" + body, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
