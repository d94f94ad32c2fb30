"""Chinese names live with their enums, once: every code staff can see has one, and every door says the same."""

from __future__ import annotations

from rich.console import Console

from ingest.models import ReportStatus
from wenming.names import ZhEnum
from wiring.cli.reports import Stats, UnitCounts, render_stats
from wiring.models import load_all_models


def _all_enums() -> list[type[ZhEnum]]:
    load_all_models()
    import wenming.audit  # noqa: F401  (the audit kinds)

    return ZhEnum.__subclasses__()


def test_every_code_staff_can_see_has_a_chinese_name() -> None:
    enums = {cls.__name__ for cls in _all_enums()}
    expected = {"HonourLevel", "Platform", "RawStatus", "ReportStatus", "Label", "OutletLevel", "CheckKind"}
    expected |= {"AdjustmentKind", "Role", "PostPolicy", "MediaTextStatus", "JobStatus", "JobKind", "AuditKind"}
    assert expected <= enums
    for cls in _all_enums():
        for member in cls:
            assert member.zh and member.zh != member.value, f"{cls.__name__}.{member.name} has no Chinese name"
        assert len({m.zh for m in cls}) == len(cls), f"two members of {cls.__name__} read the same"


def test_unknown_codes_are_shown_as_stored() -> None:
    assert ReportStatus.zh_of("needs_review") == "待审核"
    assert ReportStatus.zh_of("archived") == "archived"  # a code from a newer version, never a crash
    assert ReportStatus.zh_of(None) == ""


def test_cli_status_columns_use_the_same_words_as_the_console() -> None:
    unit = UnitCounts(name="县教育局", level="县", total=2)
    unit.by_status.update({"needs_review": 1, "corrected": 1})
    out = Console(width=200, record=True)
    render_stats(Stats([unit], UnitCounts(name="（未归属单位）"), {}), out)
    text = out.export_text()
    assert "待审核" in text and "已更正" in text
    assert "待复核" not in text and "已人工修正" not in text
