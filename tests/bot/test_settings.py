"""Bot settings as operators write them in the environment."""

from __future__ import annotations

import pytest

from wenming.settings import Settings


@pytest.mark.parametrize(
    ("raw", "expected"), [("onebot, wechat", ["onebot", "wechat"]), ('["onebot"]', ["onebot"]), ("", [])]
)
def test_adapter_list_accepts_commas_or_json(monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[str]) -> None:
    monkeypatch.setenv("WENMING_BOT_ADAPTERS", raw)
    assert Settings(_env_file=None).bot_adapters == expected  # type: ignore[call-arg]


def test_unknown_adapter_is_refused() -> None:
    from wiring.runtime import make_services

    with pytest.raises(ValueError, match="未知的适配器：telegram"):
        make_services(Settings(_env_file=None), None, None, ["telegram"])  # type: ignore[arg-type,call-arg]
