"""Every CLI table through one door: all columns always shown, data never read as Rich markup, csv/json on request.

A table is built as plain data (:class:`TableData`) and :func:`emit` writes it:

- ``table`` (default): a Rich table when every column fits the terminal, with headers wrapped if needed;
  when even that would squeeze a column, each row is printed as a block of "列名：值" lines instead
  (the vertical layout), so no column is ever dropped or cut to "…".
- ``csv``: UTF-8 comma-separated values with the header row; ``json``: a list of objects keyed by header.

Cells are plain strings (or ``(text, style)`` pairs for colour); they are wrapped in :class:`rich.text.Text`,
so a unit named ``测试[/]单位`` prints as it is instead of crashing the output.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

Cell = str | tuple[str, str]  # text, or (text, Rich style)
Justify = Literal["left", "right", "center"]
MIN_TEXT_WIDTH = 8  # a text column is never folded narrower than this (four Chinese characters)


class Format(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


FORMAT_OPTION = typer.Option(Format.TABLE, "--format", "-f", help="输出格式：table（表格）、csv 或 json")


@dataclass
class Column:
    header: str
    justify: Justify = "left"
    wrap: bool = False  # long free text (names, aliases, notes) may fold over several lines


@dataclass
class TableData:
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add_row(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"row has {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(list(cells))


def plain(cell: Cell) -> str:
    return cell[0] if isinstance(cell, tuple) else cell


def _text(cell: Cell) -> Text:
    return Text(cell[0], style=cell[1]) if isinstance(cell, tuple) else Text(cell)


def _borders(n: int) -> int:
    return 3 * n + 1  # "│ a │ b │": one bar and two spaces per column, plus the closing bar


def _widths(data: TableData) -> tuple[list[int], list[int]]:
    """Each column's natural width (no wrapping) and the least it can take (headers folded, numbers whole)."""
    natural, least = [], []
    for i, column in enumerate(data.columns):
        values = [cell_len(plain(row[i])) for row in data.rows] or [0]
        header = cell_len(column.header)
        natural.append(max(header, *values))
        longest_value = max(values)
        floor = min(longest_value, MIN_TEXT_WIDTH) if column.wrap else longest_value
        least.append(max(floor, min(header, 4), 1))
    return natural, least


def layout(data: TableData, width: int) -> Literal["table", "folded", "vertical"]:
    """Which layout shows every column whole at this terminal width."""
    natural, least = _widths(data)
    if sum(natural) + _borders(len(natural)) <= width:
        return "table"
    if sum(least) + _borders(len(least)) <= width:
        return "folded"
    return "vertical"


def _fitted(data: TableData, width: int) -> list[int]:
    """Column widths that fit: every column gets its least, the room left goes to folded text, then headers."""
    natural, least = _widths(data)
    widths = list(least)
    spare = width - _borders(len(widths)) - sum(widths)
    order = sorted(range(len(widths)), key=lambda i: (not data.columns[i].wrap, i))
    for i in order:
        grow = min(spare, natural[i] - widths[i])
        widths[i] += grow
        spare -= grow
    return widths


def render(data: TableData, out: Console) -> None:
    """Print as a table when every column fits, else one block of "列名：值" lines per row."""
    mode = layout(data, out.width)
    if mode == "vertical":
        _vertical(data, out)
    else:
        widths = _fitted(data, out.width) if mode == "folded" else _widths(data)[0]
        table = Table(title=Text(data.title) if data.title else None)
        for column, width in zip(data.columns, widths, strict=True):
            table.add_column(Text(column.header), justify=column.justify, width=width, overflow="fold")
        for row in data.rows:
            table.add_row(*[_text(cell) for cell in row])
        out.print(table)
    for note in data.notes:
        out.print(Text(note))


def _vertical(data: TableData, out: Console) -> None:
    """Narrow terminals: the first two columns (rank and unit, usually) head each block, the rest follow."""
    if data.title:
        out.print(Text(data.title, style="bold"))
    lead = min(2, len(data.columns))
    for row in data.rows:
        head = Text(" ").join(_text(c) for c in row[:lead])
        head.stylize("bold")
        out.print(head)
        for column, cell in zip(data.columns[lead:], row[lead:], strict=True):
            line = Text(f"  {column.header}：")
            line.append_text(_text(cell))
            out.print(line)


def to_csv(data: TableData) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([c.header for c in data.columns])
    writer.writerows([plain(cell) for cell in row] for row in data.rows)
    return buf.getvalue()


def to_json(data: TableData) -> str:
    headers = [c.header for c in data.columns]
    rows = [dict(zip(headers, (plain(cell) for cell in row), strict=True)) for row in data.rows]
    return json.dumps(rows, ensure_ascii=False, indent=2)


def emit(data: TableData, fmt: Format | str = Format.TABLE, out: Console | None = None) -> None:
    """Write a table in the chosen format; csv and json go to stdout untouched by Rich."""
    fmt = Format(fmt)
    if fmt is Format.CSV:
        sys.stdout.write(to_csv(data))
    elif fmt is Format.JSON:
        sys.stdout.write(to_json(data) + "\n")
    else:
        from wiring.cli.common import console

        render(data, out or console)


def safe(text: object) -> str:
    """Data inside a markup string (``console.print(f"[bold]{name}[/bold]")``) with its brackets escaped."""
    return escape(str(text))
