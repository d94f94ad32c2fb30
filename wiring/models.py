"""Every table of the application, for Alembic and for the checks that compare the models with the migrations."""

from __future__ import annotations


def load_all_models() -> None:
    """Import every model module so that ``Base.metadata`` knows every table."""
    import accounts.models  # noqa: F401
    import bot.models  # noqa: F401
    import capture.models  # noqa: F401
    import classifier.models
    import classifier.ocr.models  # noqa: F401
    import ingest.models  # noqa: F401
    import scoring.models  # noqa: F401
    import wenming.audit
    import wenming.queue.models
    import wenming.versions  # noqa: F401
