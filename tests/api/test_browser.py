"""End to end in headless Chromium: log in, relabel a report from the review queue, see the result."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.orm import Session

from accounts.models import Role
from api.app import create_app
from tests.api.browser_seed import seed_console_demo
from tests.api.conftest import PASSWORD, add_user
from tests.support import free_port
from wenming import schema
from wenming.db import create_db_engine
from wenming.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(os.environ.get("WENMING_SCREENSHOT_DIR", "/tmp"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="需要 Debian 的 chromium（apt-get install chromium）"),
]


@dataclass
class Live:
    url: str
    seed: dict[str, int]
    settings: Settings


@pytest.fixture
def live_server(fresh_database_url: str, tmp_path: Path) -> Iterator[Live]:
    """A real uvicorn server on a free port, over a freshly migrated and seeded database."""
    schema.upgrade(fresh_database_url)
    settings = Settings(
        database_url=fresh_database_url,
        data_dir=tmp_path / "data",
        media_dir=tmp_path / "media",
        _env_file=None,  # type: ignore[call-arg]
    )
    engine = create_db_engine(fresh_database_url)
    with Session(engine) as session:
        add_user(session, "shenhe", Role.REVIEWER).display_name = "审核员小周"
        seed = seed_console_demo(session, settings, datetime.now(settings.tz).date())
        session.commit()
    engine.dispose()

    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield Live(url=f"http://127.0.0.1:{port}", seed=seed, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        app.state.engine.dispose()


def test_log_in_relabel_from_the_review_queue_and_see_the_change(live_server: Live) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, seed = live_server.url, live_server.seed
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            page.goto(f"{url}/")
            expect(page).to_have_url(f"{url}/login?next=%2F")
            page.get_by_label("用户名").fill("shenhe")
            page.get_by_label("密码").fill(PASSWORD)
            page.get_by_role("button", name="登录").click()
            expect(page.get_by_role("heading", name="总览")).to_be_visible()
            expect(page.locator("[data-review-count]")).to_have_text(str(seed["review_count"]))
            page.screenshot(path=str(SCREENSHOT_DIR / "wenming-dashboard.png"), full_page=True)
            before = _ranking(page)

            page.get_by_role("link", name="待审核").first.click()
            card = page.locator(f"#report-{seed['target_report']}")
            expect(card).to_contain_text("把握")
            expect(card.locator(".thumbs img").first).to_be_visible()
            thumb = card.locator(".thumbs img").first.element_handle()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb, timeout=15_000)
            page.screenshot(path=str(SCREENSHOT_DIR / "wenming-review.png"), full_page=True)

            card.focus()
            page.keyboard.press("4")  # shortcut for 志愿服务
            expect(card).to_contain_text("已改为「志愿服务」")
            expect(page.locator(f"#report-{seed['target_report']} .chip.current")).to_have_text("4 志愿服务")
            expect(page.locator("[data-review-count]")).to_have_text(str(seed["review_count"] - 1))  # live count

            page.goto(f"{url}/review")
            expect(page.locator(f"#report-{seed['target_report']}")).to_have_count(0)
            page.goto(f"{url}/")
            expect(page.locator("[data-review-count]")).to_have_text(str(seed["review_count"] - 1))
            after = _ranking(page)
            assert after != before, "the ranking should change after the relabel"
            culture = next(row for row in after if "县文化馆" in row)
            assert culture not in before
            page.goto(f"{url}/units/{seed['target_unit']}")
            expect(page.locator("table")).to_contain_text("常态化开展文明实践活动")
            expect(page.locator(".timeline")).to_contain_text("敬老院")
            page.screenshot(path=str(SCREENSHOT_DIR / "wenming-unit.png"), full_page=True)
            page.goto(f"{url}/leaderboards?board=quarterly")
            expect(page.locator("table")).to_contain_text("合计")
            page.screenshot(path=str(SCREENSHOT_DIR / "wenming-leaderboards.png"), full_page=True)
            page.goto(f"{url}/audit")
            expect(page.locator("ol.audit-list")).to_contain_text("审核员小周 将报送")

            phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
            phone.context.add_cookies(page.context.cookies())
            phone.goto(f"{url}/review")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the review queue overflows a phone screen ({width}px)"
            phone.screenshot(path=str(SCREENSHOT_DIR / "wenming-review-phone.png"), full_page=False)
        finally:
            browser.close()


def _ranking(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The ranking chart's rows (rank, unit, liveliness) in order, as a person reads them."""
    return [" ".join(row.inner_text().split()) for row in page.locator("ol.chart li.bar").all()]
