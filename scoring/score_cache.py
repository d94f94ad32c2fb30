"""Per-unit parts of the scoring tables, kept between calls: a table costs what changed since it was last computed.

A table is ranked from one part per unit (its columns, or one month's liveliness counts), and a part depends on
that unit's rows only; everything else it depends on (kind, rubric, period, as-of day, office settings, this
code's generation) is hashed into the key. Database triggers (migration 0015) append a unit to ``score_changes``
whenever one of its inputs is written, by any path. Before reading parts, a writable session consumes those rows
and drops the changed units' parts (every key); a read-only session, which cannot write, treats them as changed.
Missing and changed parts are computed with the same grouped queries, restricted to those units, and stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from scoring import repository
from wenming.db import is_read_only

GENERATION = 1  # bump when the arithmetic of a part changes: parts stored by older code are then never read
BYPASS = "wenming_score_cache_off"  # session.info flag: compute everything afresh (equivalence tests, benches)
KEYS_READ = "wenming_score_keys_read"  # session.info: every key this session read parts under (kept by pruning)
FULL_SHARE = 0.5  # above this share of the units missing, one unrestricted pass is cheaper than an IN list

Compute = Callable[[list[int] | None], Mapping[int, Any]]


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return str(value)


def key(*parts: Any) -> str:
    """A key naming every input of a part that is not one unit's rows (rubrics by their full content)."""
    text = json.dumps([GENERATION, *parts], default=_plain, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def bypass(session: Session, off: bool = True) -> None:
    """Compute every table of this session afresh, neither reading nor storing parts."""
    session.info[BYPASS] = off


def parts(session: Session, key: str, unit_ids: Sequence[int], compute: Compute) -> dict[int, Any]:
    """Every unit's part under ``key``: stored ones that are still current, the rest from ``compute``.

    ``compute(ids)`` returns a JSON-serialisable part for every unit of ``ids``, or of ``unit_ids`` when given
    ``None`` (one pass over all units); callers get every part as JSON decodes it, stored or fresh.
    """
    if session.info.get(BYPASS):
        fresh = compute(None)
        return {u: fresh.get(u) for u in unit_ids}
    session.info.setdefault(KEYS_READ, set()).add(key)
    writable = not is_read_only(session)
    # changes first, parts second: a part stored after this read still meets the change that made it stale
    if writable:
        repository.take_score_changes(session)  # also drops the changed units' parts
        changed: set[int] = set()
    else:
        changed = repository.pending_score_changes(session)
    stored = repository.cached_parts(session, key)
    missing = [u for u in unit_ids if u in changed or u not in stored]
    found = {u: json.loads(stored[u]) for u in unit_ids if u in stored and u not in changed}
    if missing:
        fresh = compute(None if len(missing) > FULL_SHARE * len(unit_ids) else missing)
        texts = {u: json.dumps(fresh.get(u)) for u in missing}
        found.update((u, json.loads(text)) for u, text in texts.items())  # the same types a stored part decodes to
        if writable:
            repository.store_parts(session, key, texts)
    return found


def keys_read(session: Session) -> set[str]:
    """The keys whose parts this session read or stored: the tables it served."""
    return set(session.info.get(KEYS_READ, ()))
