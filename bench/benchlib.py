"""Helpers shared by the benches: the machine load printed beside every result (ratios only mean something with it)."""

from __future__ import annotations

import os


def load_line(when: str) -> str:
    """Return the 1/5/15-minute load average, so a reader can judge the figures printed next to it."""
    one, five, fifteen = os.getloadavg()
    return f"load average ({when}): {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"
