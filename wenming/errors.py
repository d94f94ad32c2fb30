"""Domain errors: what services raise when a request cannot be done; each door turns them into its own answer.

The message is Chinese and meant for staff. The class says what kind of failure it is, and the doors map the
kind: the API to an HTTP status (``DomainError`` 422, ``NotFound`` 404, ``Conflict`` 409, ``RateLimited``
429), the console to a flash message, the CLI to one red line and exit status 1.
"""

from __future__ import annotations

from typing import Any


class DomainError(ValueError):
    """A request staff can fix (missing field, unknown code, bad value)."""

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    """The thing the request names does not exist."""


class Conflict(DomainError):
    """The request clashes with what is stored (a name in use, a record already voided, a unit in use)."""


class RateLimited(DomainError):
    """Too many attempts; try again later."""
