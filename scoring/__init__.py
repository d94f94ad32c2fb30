"""Scoring: declarative rubrics, staff-entered records, period scores and the liveliness ranking."""
