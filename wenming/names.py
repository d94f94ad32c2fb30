"""Chinese names of enum values: every enum staff can see declares its words beside its codes, once.

Each member is written ``CODE = "code", "中文"``; ``member.zh`` is the Chinese name, ``Enum.zh_of(code)`` names
a stored code (unknown codes are shown as stored), ``Enum.choices()`` lists (code, name) pairs for forms.
CLI output, the console, exports and bot posts all read these, so a word is changed in one place.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ZhEnum(StrEnum):
    """A string enum whose members carry the Chinese name staff read (``ReportStatus.NEEDS_REVIEW.zh``)."""

    zh: str

    def __new__(cls, value: str, zh: str | None = None) -> Any:
        member = str.__new__(cls, value)
        member._value_ = value
        member.zh = zh or value
        return member

    @classmethod
    def zh_of(cls, code: str | None) -> str:
        """The Chinese name of a stored code; a code this version does not know is shown as it is."""
        if code is None:
            return ""
        try:
            return cls(code).zh
        except ValueError:
            return code

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(code, Chinese name) pairs in declaration order, for selects and help texts."""
        return [(member.value, member.zh) for member in cls]

    @classmethod
    def names(cls) -> dict[str, str]:
        """Code → Chinese name."""
        return dict(cls.choices())
