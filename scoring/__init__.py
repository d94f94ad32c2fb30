"""Scoring: declarative rubrics, staff-entered records, monthly/quarterly/annual scores and liveliness ranking."""
