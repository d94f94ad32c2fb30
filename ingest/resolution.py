"""Which unit a sender belongs to, read from the group-card/nickname convention; ambiguity is never guessed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_NOISE = re.compile(r"[\s\-—–_·•|/\\【】\[\]（）()<>《》「」:：,，.。]+")
MIN_KEY_LENGTH = 3


def normalize(text: str) -> str:
    """Fold width and case and drop separators, so "【县市场监管局】张三" and "县市场监管局-张三" compare alike."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return _NOISE.sub("", folded)


@dataclass(frozen=True)
class UnitKey:
    unit_id: int
    key: str  # normalized name or alias


class UnitMatcher:
    """Finds unit names and aliases inside a display name; more than one unit is ambiguous."""

    def __init__(self, units: Iterable[tuple[int, str, Iterable[str]]]) -> None:
        keys: dict[str, set[int]] = {}
        for unit_id, name, aliases in units:
            for raw in (name, *aliases):
                key = normalize(raw)
                if len(key) >= MIN_KEY_LENGTH:
                    keys.setdefault(key, set()).add(unit_id)
        # Longest first, so "长兴县人民医院" is tried before "人民医院".
        self._keys = sorted(keys.items(), key=lambda item: -len(item[0]))
        self._cache: dict[str, int | None] = {}

    def match(self, display_name: str | None) -> int | None:
        """The single unit named in ``display_name``, or None when there is none or more than one."""
        if not display_name:
            return None
        if display_name not in self._cache:
            self._cache[display_name] = self._match(normalize(display_name))
        return self._cache[display_name]

    def _match(self, text: str) -> int | None:
        spans: list[tuple[int, int, frozenset[int]]] = []
        for key, unit_ids in self._keys:
            start = text.find(key)
            while start != -1:
                end = start + len(key)
                if not any(s <= start and end <= e for s, e, _ in spans):
                    spans.append((start, end, frozenset(unit_ids)))
                start = text.find(key, start + 1)
        found = {unit_id for _, _, ids in spans for unit_id in ids}
        return found.pop() if len(found) == 1 else None


def is_office_staff(display_name: str | None, markers: Iterable[str]) -> bool:
    """Office staff (文明办) post notices, not reports; recognised by markers in their group card."""
    if not display_name:
        return False
    folded = unicodedata.normalize("NFKC", display_name)
    return any(marker in folded for marker in markers)


@dataclass(frozen=True)
class RosterEntry:
    """A unit's name and aliases as they will be stored; ``unit_id``/``row`` say where it comes from."""

    name: str
    aliases: tuple[str, ...] = ()
    unit_id: int | None = None
    row: int | None = None  # the roster file's row number, for an import


@dataclass(frozen=True)
class NameClash:
    """``text`` (a name or alias of ``entry``) folds to the same key as a name or alias of ``other``."""

    text: str
    entry: RosterEntry
    other: RosterEntry


def name_clashes(roster: Iterable[RosterEntry]) -> list[NameClash]:
    """Names and aliases that two units would share once folded like attribution folds them (``normalize``).

    "县团委" and another unit's alias "县 团委" are the same to the matcher, so a card "县团委-张三" would name
    two units and never be attributed: the one check every door (API, console, roster import) runs. Entries
    claim their texts in order, so a clash is reported on the later entry (the unit being saved, the file's row).
    """
    owner: dict[str, RosterEntry] = {}
    clashes: list[NameClash] = []
    for entry in roster:
        for text in (entry.name, *entry.aliases):
            key = normalize(text)
            if not key:
                continue
            other = owner.setdefault(key, entry)
            if other is not entry:
                clashes.append(NameClash(text, entry, other))
    return clashes
