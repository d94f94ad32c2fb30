"""Signed read-only links to one unit's page: ``/u/<unit_id>/<expiry>.<HMAC>``, revocable, with an expiry.

The signature binds the unit id and the expiry with ``WENMING_UNIT_LINK_SECRET``; only a hash of the token is
stored, so the table alone cannot rebuild a link. Without a secret no link can be issued or opened.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import Unit
from scoring.errors import ScoringError
from scoring.models import UnitLink
from scoring.schemas import UnitLinkOut
from wenming import audit
from wenming.audit import AuditKind
from wenming.db import utcnow
from wenming.errors import DomainError, NotFound
from wenming.settings import Settings

DISABLED = "单位查看链接未启用：请管理员设置 WENMING_UNIT_LINK_SECRET（一段足够长的随机字符串）"


class LinksDisabled(ScoringError):
    """No secret is configured."""


class LinkNotFound(NotFound, ScoringError):
    """A forged link, or one naming another unit: nothing is revealed."""


class LinkExpired(DomainError):
    """A genuine link past its expiry or revoked by staff."""


def _secret(settings: Settings) -> bytes:
    if settings.unit_link_secret is None or not settings.unit_link_secret.get_secret_value().strip():
        raise LinksDisabled(DISABLED)
    return settings.unit_link_secret.get_secret_value().encode()


def _sign(secret: bytes, unit_id: int, expiry: int) -> str:
    return hmac.new(secret, f"unit:{unit_id}:{expiry}".encode(), hashlib.sha256).hexdigest()[:40]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _url(settings: Settings, unit_id: int, token: str) -> str:
    base = (settings.public_url or "").rstrip("/")
    return f"{base}/u/{unit_id}/{token}"


def _out(settings: Settings, link: UnitLink, unit_name: str, token: str | None = None) -> UnitLinkOut:
    return UnitLinkOut(
        id=link.id,
        unit_id=link.unit_id,
        unit_name=unit_name,
        url=_url(settings, link.unit_id, token) if token else None,
        expires_at=link.expires_at,
        created_by=link.created_by,
        created_at=link.created_at,
        revoked_at=link.revoked_at,
        revoked_by=link.revoked_by,
    )


def issue(session: Session, settings: Settings, unit_id: int, actor: str, now: datetime | None = None) -> UnitLinkOut:
    """A new link for one unit, valid for ``WENMING_UNIT_LINK_DAYS``; the URL is shown once."""
    secret = _secret(settings)
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise LinkNotFound(f"没有编号为 {unit_id} 的单位")
    now = now or utcnow()
    expires = (now + timedelta(days=settings.unit_link_days)).replace(microsecond=0)
    expiry = int(expires.timestamp())
    token = f"{expiry}.{_sign(secret, unit_id, expiry)}"
    link = session.scalars(select(UnitLink).where(UnitLink.token_hash == _hash(token))).first()
    if link is None:
        link = UnitLink(unit_id=unit_id, expires_at=expires, token_hash=_hash(token), created_by=actor, created_at=now)
        session.add(link)
        session.flush()
        after = {"unit_id": unit_id, "unit": unit.name, "expires_at": expires}
        audit.record(session, actor, AuditKind.UNIT_LINK, subject=("unit_link", link.id), after=after)
    return _out(settings, link, unit.name, token)


def verify(session: Session, settings: Settings, unit_id: int, token: str, now: datetime | None = None) -> UnitLink:
    """The link a request presents; another unit's id, a bad signature → not found; expired or revoked → refused."""
    secret = _secret(settings)
    expiry_text, _, signature = token.partition(".")
    if not expiry_text.isdigit() or len(expiry_text) > 12 or not signature:
        raise LinkNotFound("链接无效")
    if not hmac.compare_digest(_sign(secret, unit_id, int(expiry_text)), signature):
        raise LinkNotFound("链接无效")
    link = session.scalars(select(UnitLink).where(UnitLink.token_hash == _hash(token))).first()
    if link is None or link.unit_id != unit_id:
        raise LinkNotFound("链接无效")
    if link.revoked_at is not None:
        raise LinkExpired("该链接已被文明办停用，请联系文明办获取新链接")
    if (now or utcnow()) >= link.expires_at:
        raise LinkExpired("该链接已过期，请联系文明办获取新链接")
    return link


def revoke(session: Session, unit_id: int, actor: str, reason: str | None = None) -> int:
    """Stop every live link of a unit; returns how many were stopped (one audit row each)."""
    now = utcnow()
    links = session.scalars(select(UnitLink).where(UnitLink.unit_id == unit_id, UnitLink.revoked_at.is_(None)))
    count = 0
    for link in links:
        link.revoked_at, link.revoked_by = now, actor
        count += 1
        session.flush()
        audit.record(
            session,
            actor,
            AuditKind.UNIT_LINK,
            subject=("unit_link", link.id),
            before={"revoked": False},
            after={"revoked": True, "unit_id": unit_id},
            reason=reason,
        )
    return count


def list_links(session: Session, settings: Settings, unit_id: int | None = None) -> list[UnitLinkOut]:
    query = select(UnitLink, Unit.name).join(Unit, Unit.id == UnitLink.unit_id)
    if unit_id is not None:
        query = query.where(UnitLink.unit_id == unit_id)
    rows = session.execute(query.order_by(UnitLink.created_at.desc(), UnitLink.id.desc()))
    return [_out(settings, link, name) for link, name in rows]
