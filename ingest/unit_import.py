"""Import the office's unit roster from a CSV or XLSX file and upsert units by name."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import HonourLevel, Unit
from ingest.resolution import NameClash, RosterEntry, name_clashes
from wenming.errors import DomainError

# Accepted header spellings (lower-cased, spaces removed) for each field.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "单位名称", "名称", "单位"),
    "aliases": ("aliases", "alias", "别名", "简称", "单位简称"),
    "honour_level": ("honour_level", "honour", "level", "级别", "文明单位级别", "荣誉级别", "创建级别"),
    "category": ("category", "类别", "类型", "单位类别", "单位类型"),
    "headcount": ("headcount", "人数", "职工人数", "在职人数"),
}
COLUMN_ZH = {
    "name": "单位名称",
    "aliases": "别名",
    "honour_level": "级别",
    "category": "类别",
    "headcount": "人数",
}
ALIAS_SEPARATORS = re.compile(r"[、;；|]")
MAX_ERRORS_SHOWN = 20


class UnitImportError(DomainError):
    """The file cannot be imported; ``errors`` names every offending row and column."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        shown = errors[:MAX_ERRORS_SHOWN]
        more = f"\n……另有 {len(errors) - len(shown)} 处错误" if len(errors) > len(shown) else ""
        super().__init__("单位名册有误，未导入任何数据：\n" + "\n".join(shown) + more, details=errors)


@dataclass(frozen=True)
class UnitRow:
    """One validated roster row; ``None`` fields were not in the file and are left untouched on update."""

    row: int
    name: str
    aliases: list[str] | None = None
    honour_level: str | None = None
    category: str | None = None
    headcount: int | None = None
    present: frozenset[str] = frozenset()


@dataclass
class ImportSummary:
    """What an import changed, for the user."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def read_table(path: Path) -> list[list[Any]]:
    """Rows of the first sheet of an XLSX file, or of a CSV file (UTF-8, UTF-8 with BOM, or GBK)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise UnitImportError([f"找不到文件：{path}"])
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    raise UnitImportError([f"不支持的文件类型 {suffix or '（无扩展名）'}：请使用 .csv 或 .xlsx"])


def _read_xlsx(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise UnitImportError([f"无法读取 Excel 文件 {path.name}：{exc}"]) from exc
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _read_csv(path: Path) -> list[list[Any]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return [list(row) for row in csv.reader(text.splitlines())]
    raise UnitImportError([f"无法识别文件 {path.name} 的编码：请另存为 UTF-8 或 GBK 编码的 CSV"])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _header_map(header: list[Any], row: int) -> tuple[dict[str, int], list[str]]:
    """Map field → column index; unknown headers are errors so that typos never pass silently."""
    mapping: dict[str, int] = {}
    errors: list[str] = []
    for index, raw in enumerate(header):
        title = _cell(raw)
        if not title:
            continue
        key = title.lower().replace(" ", "")
        found = next((f for f, names in COLUMN_ALIASES.items() if key in names), None)
        if found is None:
            errors.append(f"第 {row} 行第 {index + 1} 列：无法识别的列名「{title}」")
        elif found in mapping:
            errors.append(f"第 {row} 行第 {index + 1} 列：列「{title}」与前面的列重复")
        else:
            mapping[found] = index
    for required in ("name", "honour_level"):
        if required not in mapping:
            errors.append(f"第 {row} 行：缺少必需的列「{COLUMN_ZH[required]}」（或 {required}）")
    return mapping, errors


def split_aliases(text: str) -> list[str]:
    """Aliases separated by 、 ; ； or |, trimmed, de-duplicated in order."""
    seen: dict[str, None] = {}
    for part in ALIAS_SEPARATORS.split(text):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


def _parse_row(number: int, cells: list[Any], columns: dict[str, int]) -> tuple[UnitRow | None, list[str]]:
    def get(name: str) -> str:
        index = columns.get(name)
        return _cell(cells[index]) if index is not None and index < len(cells) else ""

    def where(name: str) -> str:
        return f"第 {number} 行「{COLUMN_ZH[name]}」列"

    errors: list[str] = []
    name = get("name")
    if not name:
        errors.append(f"{where('name')}：单位名称不能为空")
    elif len(name) > 200:
        errors.append(f"{where('name')}：单位名称过长（{len(name)} 字，最多 200 字）")
    level_text = get("honour_level")
    level: str | None = None
    if not level_text:
        errors.append(f"{where('honour_level')}：级别不能为空（应为 全国/省/市/县）")
    else:
        try:
            level = HonourLevel.parse(level_text).value
        except ValueError:
            errors.append(f"{where('honour_level')}：无法识别的级别「{level_text}」（应为 全国/省/市/县）")
    headcount: int | None = None
    headcount_text = get("headcount")
    if headcount_text:
        try:
            headcount = int(headcount_text)
        except ValueError:
            errors.append(f"{where('headcount')}：人数「{headcount_text}」不是整数")
        else:
            if headcount < 0:
                errors.append(f"{where('headcount')}：人数不能为负数")
    category = get("category") or None
    if category and len(category) > 50:
        errors.append(f"{where('category')}：类别过长（最多 50 字）")
    aliases = [a for a in split_aliases(get("aliases")) if a != name]
    if errors:
        return None, errors
    return (
        UnitRow(
            row=number,
            name=name,
            aliases=aliases if "aliases" in columns else None,
            honour_level=level,
            category=category,
            headcount=headcount,
            present=frozenset(columns),
        ),
        [],
    )


def parse_rows(table: list[list[Any]]) -> list[UnitRow]:
    """Validate a whole table; raise with every error at once so the user fixes the file in one pass."""
    header_at = next((i for i, cells in enumerate(table) if any(_cell(c) for c in cells)), None)
    if header_at is None:
        raise UnitImportError(["文件为空：第一行应为列名（单位名称、别名、级别、类别、人数）"])
    columns, errors = _header_map(table[header_at], header_at + 1)
    if errors:
        raise UnitImportError(errors)
    rows: list[UnitRow] = []
    first_row_of: dict[str, int] = {}
    for offset, cells in enumerate(table[header_at + 1 :], start=header_at + 2):
        if not any(_cell(c) for c in cells):
            continue
        row, row_errors = _parse_row(offset, cells, columns)
        errors.extend(row_errors)
        index = columns["name"]
        name = _cell(cells[index]) if index < len(cells) else ""
        if name in first_row_of:
            errors.append(f"第 {offset} 行「单位名称」列：「{name}」与第 {first_row_of[name]} 行重复")
            continue
        if name:
            first_row_of[name] = offset
        if row is not None:
            rows.append(row)
    if not rows and not errors:
        errors.append("文件中没有任何单位（只有列名）")
    if errors:
        raise UnitImportError(errors)
    return rows


def parse_units_file(path: Path) -> list[UnitRow]:
    """Read and validate a roster file (CSV or XLSX)."""
    return parse_rows(read_table(path))


def _roster_clashes(rows: list[UnitRow], existing: list[Unit]) -> list[str]:
    """A name or alias shared by two units would make nickname attribution ambiguous: refuse it.

    The roster after the import is checked as a whole (``resolution.name_clashes``): units the file does not
    touch first, then the file's rows in order, so that a clash is reported on the row that brings it.
    """
    by_name = {row.name: row for row in rows}
    roster = [RosterEntry(u.name, tuple(u.aliases or ()), u.id) for u in existing if u.name not in by_name]
    stored = {u.name: u for u in existing}
    for row in rows:
        unit = stored.get(row.name)
        aliases = row.aliases if row.aliases is not None else list(unit.aliases or []) if unit else []
        roster.append(RosterEntry(row.name, tuple(aliases), unit.id if unit else None, row.row))
    return [_clash_error(clash) for clash in name_clashes(roster)]


def _clash_error(clash: NameClash) -> str:
    column = "单位名称" if clash.text == clash.entry.name else "别名"
    if clash.entry.row is not None:
        where = f"第 {clash.entry.row} 行「{column}」列"
    else:
        where = f"已有单位「{clash.entry.name}」的{'名称' if column == '单位名称' else '别名'}"
    return f"{where}：{column}「{clash.text}」与单位「{clash.other.name}」的名称或别名重复"


def upsert_units(session: Session, rows: list[UnitRow]) -> ImportSummary:
    """Create new units and update existing ones (matched by exact name); only flushes."""
    existing = {u.name: u for u in session.scalars(select(Unit))}
    errors = _roster_clashes(rows, list(existing.values()))
    if errors:
        raise UnitImportError(errors)
    summary = ImportSummary()
    for row in rows:
        unit = existing.get(row.name)
        if unit is None:
            session.add(
                Unit(
                    name=row.name,
                    aliases=row.aliases or [],
                    honour_level=row.honour_level or HonourLevel.COUNTY.value,
                    category=row.category,
                    headcount=row.headcount,
                    active=True,
                )
            )
            summary.created.append(row.name)
            continue
        changes = {
            f: getattr(row, f)
            for f in ("aliases", "honour_level", "category", "headcount")
            if f in row.present and getattr(unit, f) != getattr(row, f)
        }
        if not unit.active:
            changes["active"] = True
        for attr, value in changes.items():
            setattr(unit, attr, value)
        (summary.updated if changes else summary.unchanged).append(row.name)
    session.flush()
    return summary


def import_units_file(session: Session, path: Path) -> ImportSummary:
    """Parse, validate and upsert a roster file; nothing is written when any row is wrong."""
    return upsert_units(session, parse_units_file(path))
