"""What the console shows from scoring: this month's ranking and a unit's explained score."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from wenming.settings import Settings


def dashboard(db: Session, settings: Settings, today: date) -> dict[str, Any]:
    return {"ranking": None, "at_risk": None}


def explain(db: Session, settings: Settings, unit_id: int, year: int) -> Any:
    return None
