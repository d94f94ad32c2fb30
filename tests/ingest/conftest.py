"""Fixtures for ingest tests: a small set of units with aliases."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from ingest.models import Unit


@pytest.fixture
def make_unit(session: Session) -> Callable[..., Unit]:
    def make(name: str, *aliases: str, level: str = "county", headcount: int = 50) -> Unit:
        unit = Unit(name=name, aliases=list(aliases), honour_level=level, headcount=headcount)
        session.add(unit)
        session.flush()
        return unit

    return make


@pytest.fixture
def units(make_unit: Callable[..., Unit]) -> dict[str, Unit]:
    return {
        "market": make_unit("长兴县市场监督管理局", "县市场监管局", "市场监管局"),
        "hospital": make_unit("长兴县人民医院", "县人民医院"),
        "school": make_unit("长兴中学"),
        "edu": make_unit("长兴县教育局", "县教育局"),
    }
