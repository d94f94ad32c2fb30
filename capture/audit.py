"""The one place capture writes audit rows (agents created or revoked, gap settings), so moving the audit table
to a core module is a one-line change here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from classifier.models import Correction


def record(
    session: Session,
    kind: str,
    actor: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> None:
    """Append who did what, when, before and after."""
    session.add(Correction(kind=kind, actor=actor, before=before or {}, after=after or {}, reason=reason))
    session.flush()
