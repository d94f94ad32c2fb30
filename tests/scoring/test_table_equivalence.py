"""The all-units tables and the one-unit explanation are two computations of one score: they must agree."""

from __future__ import annotations

import random
from datetime import date

import pytest

from scoring import service
from tests.scoring.conftest import World
from wenming.settings import Settings

LABELS = [("practice",), ("practice", "volunteer"), ("news",), ("pairing",), ("volunteer",), ("other",)]
LEVELS = ["county", "city", "province", "central"]


def _generate(world: World, seed: int) -> list[int]:
    """Twelve units with seeded reports over 2026: some busy, some quiet, one starting late, adoptions among them."""
    rng = random.Random(seed)
    units = [world.unit(f"县第{n}单位", honour_level=rng.choice(["county", "city"])) for n in range(12)]
    units[3].scoring_start = "2026-06"
    for unit in units:
        for _ in range(rng.randint(0, 40)):
            day = date(2026, rng.randint(1, 11), rng.randint(1, 28))
            labels = rng.choice(LABELS)
            facts = None
            if labels == ("news",) and rng.random() < 0.5:
                facts = {
                    "outlet": "县融媒体",
                    "outlet_level": rng.choice(LEVELS),
                    "article_title": f"简讯{rng.randint(1, 6)}",
                }
            world.report(unit, day, labels, status=rng.choice(["classified", "corrected", "needs_review"]), facts=facts)
    world.session.flush()
    return [u.id for u in units]


@pytest.mark.parametrize("rubric_name", ["changxing-2020", "xixiang-2022"])
@pytest.mark.parametrize("as_of", [date(2026, 8, 20), date(2026, 12, 31)])
def test_annual_table_agrees_with_every_units_explanation(
    world: World, settings: Settings, rubric_name: str, as_of: date
) -> None:
    rubric = service.load_rubric(rubric_name)
    unit_ids = _generate(world, seed=len(rubric_name) * 100 + as_of.month)
    table = {row.unit_id: row for row in service.annual_scores(world.session, settings, rubric, 2026, as_of)}
    assert len(table) >= 11  # the late starter is covered from June
    for unit_id in unit_ids:
        explained = service.explain_unit(world.session, settings, rubric, unit_id, 2026, as_of)
        row = table.get(unit_id)
        assert explained.total == (row.score if row else None), unit_id
        if row is not None:
            assert row.running_total <= row.score or as_of.month == 12
    quarter = service.quarter_table(world.session, settings, rubric, 2026, 3, as_of)
    assert sorted(r.unit_id for r in quarter.rows) == sorted(table)
