"""Take the console screenshots in docs/screenshots/ from a demo database (``python docs/screenshots/shoot.py after``).

Run ``wenming demo --no-serve`` against the database named by WENMING_DATABASE_URL first and add a user
``admin`` (password from WENMING_SHOT_PASSWORD); pages are shot at 1366 px, 390 px and as printed.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright

from api.app import create_app
from wenming.settings import Settings

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
MAX_HEIGHT = 2400
MAX_BYTES = 300_000


def _serve(port: int) -> uvicorn.Server:
    app = create_app(Settings())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server


def _save(page: Page, name: str) -> None:
    """A screenshot no taller than MAX_HEIGHT, palette-reduced when it would exceed MAX_BYTES."""
    height = min(MAX_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
    width = page.viewport_size["width"] if page.viewport_size else DESKTOP["width"]
    png = page.screenshot(clip={"x": 0, "y": 0, "width": width, "height": height}, full_page=True)
    if len(png) > MAX_BYTES:
        from PIL import Image

        image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
        buf = io.BytesIO()
        image.save(buf, format="PNG", optimize=True)
        png = buf.getvalue()
    (HERE / f"{name}.png").write_bytes(png)
    print(f"{name}.png {len(png) // 1024} KB")


def shoot(prefix: str, port: int = 8765) -> None:
    base = f"http://127.0.0.1:{port}"
    server = _serve(port)
    pages = [
        ("dashboard-desktop", "/", DESKTOP),
        ("review-desktop", "/review", DESKTOP),
        ("review-phone", "/review", PHONE),
        ("quarterly-desktop", "/leaderboards?board=quarterly&quarter=2026Q3", DESKTOP),
        ("quarterly-phone", "/leaderboards?board=quarterly&quarter=2026Q3", PHONE),
        ("audit-desktop", "/audit", DESKTOP),
        ("audit-phone", "/audit", PHONE),
        ("report-desktop", "/reports/{report}", DESKTOP),
        ("unit-phone", "/units/{unit}", PHONE),
    ]
    pages += [(name, path, size) for name, path, size in _extra_pages() if prefix == "after"]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
            page = context.new_page()
            page.goto(f"{base}/login")
            page.get_by_label("用户名").fill("admin")
            page.get_by_label("密码").fill(os.environ.get("WENMING_SHOT_PASSWORD", "demo-password-1"))
            page.get_by_role("button", name="登录").click()
            page.wait_for_url(f"{base}/")
            page.goto(f"{base}/review")
            first = page.locator("article.report[data-report]").first
            report = first.get_attribute("data-report") or "1"
            if os.environ.get("WENMING_SHOT_RELABEL"):
                first.focus()
                page.keyboard.press("4")
                page.wait_for_timeout(800)
            page.goto(f"{base}/leaderboards?board=quarterly&quarter=2026Q3")
            unit = (page.locator("table a[href^='/units/']").first.get_attribute("href") or "/units/1").split("/")[-1]
            for name, path, size in pages:
                page.set_viewport_size(size)
                page.goto(base + path.format(report=report, unit=unit))
                page.wait_for_load_state("networkidle")
                _save(page, f"{prefix}-{name}")
            page.set_viewport_size(DESKTOP)
            page.goto(f"{base}/leaderboards?board=quarterly&quarter=2026Q3")
            pdf = page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True)
            print(f"quarterly table prints as {pdf.count(b'/Type /Page') - pdf.count(b'/Type /Pages')} PDF pages")
            page.emulate_media(media="print")
            page.set_viewport_size({"width": 1123, "height": 794})
            _save(page, f"{prefix}-quarterly-print")
            browser.close()
    finally:
        server.should_exit = True


def _extra_pages() -> list[tuple[str, str, dict[str, int]]]:
    """Pages that exist only after issue 15 (screenshots without a "before")."""
    return [
        ("users-desktop", "/users", DESKTOP),
        ("unassigned-desktop", "/unassigned", DESKTOP),
        ("evidence-desktop", "/units/{unit}/evidence", DESKTOP),
        ("dashboard-phone", "/", PHONE),
        ("leaderboards-phone", "/leaderboards", PHONE),
    ]


if __name__ == "__main__":
    shoot(sys.argv[1] if len(sys.argv) > 1 else "after")
