"""Issue 15 in a real browser: every console page at 1366 and 390 px, Chinese only, no script or CSP errors,
ranking tables within the screen, and the 附件3 quarterly table printing on landscape A4 pages of ~25 units."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.orm import Session

from accounts.models import Role
from api.console import PAGE_HEADERS
from tests.api.conftest import PASSWORD, add_user
from tests.api.test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOT_DIR, Live, live_server  # noqa: F401
from wenming.db import create_db_engine
from wenming.names import ZhEnum

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="需要 Debian 的 chromium（apt-get install chromium）"),
]

WIDTHS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
EXTRA_UNITS = 44  # with the seed's six: 50 units, two landscape A4 pages of the quarterly table


def pages(seed: dict[str, int]) -> list[tuple[str, str]]:
    """Every console page (name, path); a helper adding a page adds a line here."""
    report, unit = seed["target_report"], seed["target_unit"]
    return [
        ("dashboard", "/"),
        ("review", "/review"),
        ("units", "/units"),
        ("unit", f"/units/{unit}"),
        ("evidence", f"/units/{unit}/evidence"),
        ("reports", "/reports"),
        ("report", f"/reports/{report}"),
        ("unassigned", "/unassigned"),
        ("messages", "/messages"),
        ("monthly", "/leaderboards"),
        ("quarterly", "/leaderboards?board=quarterly"),
        ("annual", "/leaderboards?board=annual"),
        ("records", "/records"),
        ("audit", "/audit"),
        ("capture", "/capture"),
        ("system", "/system"),
        ("models", "/system/models"),
        ("users", "/users"),
        ("periods", "/periods"),
        ("appeals", "/appeals"),
        ("error", "/reports/999999"),
    ]


def _english_codes() -> re.Pattern[str]:
    """Every code of every ZhEnum staff can see (practice, needs_review, ocr.report, report_withdrawn, …)."""
    import importlib

    for module in (  # the enums register as ZhEnum subclasses on import
        "accounts.models",
        "bot.models",
        "capture.models",
        "classifier.models",
        "classifier.ocr.models",
        "ingest.models",
        "scoring.models",
        "wenming.audit",
        "wenming.queue.models",
    ):
        importlib.import_module(module)

    codes: set[str] = set()
    stack = list(ZhEnum.__subclasses__())
    while stack:
        enum = stack.pop()
        stack += enum.__subclasses__()
        codes |= {m.value for m in enum if re.search(r"[a-z]{3}", m.value)}
    return re.compile(
        r"(?<![\w/.-])(" + "|".join(sorted(map(re.escape, codes), key=len, reverse=True)) + r")(?![\w/-])"
    )


VISIBLE_TEXT = """() => {
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('pre, code, kbd, script, style, input, select, textarea').forEach(e => e.remove());
  return clone.innerText;
}"""

OVERFLOW = """() => {
  const wide = [];
  document.querySelectorAll('table.ranking, table.cards-on-phone').forEach(t => {
    const box = t.getBoundingClientRect();
    if (box.right > window.innerWidth + 1) wide.push(t.className + ' ' + Math.round(box.right));
  });
  return {page: document.documentElement.scrollWidth, tables: wide};
}"""


def _add_admin_and_units(url: str) -> None:
    engine = create_db_engine(url)
    with Session(engine) as session:
        add_user(session, "guanli", Role.ADMIN).display_name = "李主任"
        from ingest.models import Unit

        for i in range(EXTRA_UNITS):
            session.add(Unit(name=f"长兴县第{i + 1:02d}测试单位", aliases=[], honour_level="county"))
        session.commit()
    engine.dispose()


def test_every_page_at_both_widths_is_chinese_error_free_and_fits(live_server: Live) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    _add_admin_and_units(live_server.settings.database_url)
    english = _english_codes()
    url = live_server.url
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            _login(page, url)
            for width_name, size in WIDTHS.items():
                page.set_viewport_size(size)
                for name, path in pages(live_server.seed):
                    errors.clear()
                    page.goto(url + path)
                    page.wait_for_load_state("networkidle")
                    where = f"{name}@{width_name}"
                    found = sorted(set(english.findall(page.evaluate(VISIBLE_TEXT))))
                    if found:
                        problems.append(f"{where}: English codes on screen {found}")
                    if name == "error":  # the page answers 404 on purpose; the browser logs that status
                        errors[:] = [e for e in errors if "status of 404" not in e]
                    if errors:
                        problems.append(f"{where}: console/CSP errors {errors}")
                    fit = page.evaluate(OVERFLOW)
                    if fit["tables"] or (width_name == "phone" and fit["page"] > size["width"]):
                        problems.append(f"{where}: wider than the screen {fit}")
        finally:
            browser.close()
    assert not problems, "\n".join(problems)


def test_quarterly_table_prints_on_landscape_a4_pages_of_about_25_units(live_server: Live) -> None:  # noqa: F811
    url = live_server.url
    with _signed_in(live_server) as page:
        page.goto(f"{url}/leaderboards?board=quarterly")
        rows = page.locator("table.ranking tbody tr").count()
        assert rows == 6 + EXTRA_UNITS
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        sizes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
        assert len(sizes) == 2, f"{rows} units should print on 2 pages, got {len(sizes)}"
        assert all(float(w) > float(h) for w, h in sizes), "pages are landscape"
        assert abs(float(sizes[0][0]) - 841.9) < 2 and abs(float(sizes[0][1]) - 595.3) < 2, sizes[0]  # A4
        page.emulate_media(media="print")
        assert page.locator("header.top").evaluate("e => getComputedStyle(e).display") == "none"
        assert page.locator("form.filters").evaluate("e => getComputedStyle(e).display") == "none"
        assert page.locator("table.ranking thead").evaluate("e => getComputedStyle(e).display") == "table-header-group"
        page.set_viewport_size({"width": 1047, "height": 718})  # A4 landscape less 10 mm margins, at 96 dpi
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1047, f"the table fits the A4 landscape width ({width}px)"
        page.screenshot(path=str(SCREENSHOT_DIR / "wenming-quarterly-print.png"))


def test_confirmations_and_back_link_work_under_the_csp(live_server: Live) -> None:  # noqa: F811
    """作废 asks first and 返回上一页 goes back, with the console's own strict CSP in force."""
    from playwright.sync_api import expect

    assert "script-src 'self'" in PAGE_HEADERS["Content-Security-Policy"]
    url = live_server.url
    with _signed_in(live_server) as page:
        page.goto(f"{url}/records")
        form = page.locator("details", has_text="通报批评").first
        form.locator("summary").click()
        form.get_by_label("单位").fill("县文化馆")
        form.get_by_label("日期").fill("2026-10-09")
        form.get_by_label("事由").fill("门前三包检查不合格")
        form.get_by_role("button", name="保存").click()
        expect(page.locator(".flash.ok")).to_contain_text("已保存")
        asked: list[str] = []

        def dismiss(dialog) -> None:  # type: ignore[no-untyped-def]
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        row = page.locator("tr", has_text="门前三包检查不合格")
        row.get_by_placeholder("作废原因").fill("录错")
        row.get_by_role("button", name="作废").click()
        assert asked and "确定作废这条记录" in asked[0]
        expect(page.locator("tr", has_text="门前三包检查不合格")).to_have_count(1)  # dismissed: nothing voided
        page.once("dialog", lambda d: d.accept())
        row.get_by_role("button", name="作废").click()
        expect(page.locator(".flash.ok")).to_contain_text("已作废通报批评记录")
        page.goto(f"{url}/units")
        page.goto(f"{url}/reports/999999")
        page.get_by_role("link", name="返回上一页").click()
        expect(page).to_have_url(f"{url}/units")


@contextmanager
def _signed_in(live: Live) -> Iterator[Page]:
    """Fifty units and an admin in the live database, and a Chromium page signed in as that admin."""
    from playwright.sync_api import sync_playwright

    _add_admin_and_units(live.settings.database_url)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(locale="zh-CN").new_page()
            _login(page, live.url)
            yield page
        finally:
            browser.close()


def _login(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill("guanli")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{url}/")
