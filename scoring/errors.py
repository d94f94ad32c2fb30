"""What scoring refuses, in Chinese for staff: bad record input, a record that is missing or already voided."""

from __future__ import annotations

from wenming import errors


class ScoringError(errors.DomainError):
    """A request staff can fix (unknown unit, missing field for a record kind); the message is Chinese."""


class RecordNotFound(errors.NotFound, ScoringError):
    """No record of that kind has that number."""


class AlreadyVoided(errors.Conflict, ScoringError):
    """The record was voided before."""
