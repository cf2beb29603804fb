"""In a real browser: the console signs an admin in and switches language."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.web.browser.conftest import LiveServer, console_sign_in


def test_the_console_signs_in_and_speaks_both_languages(
    page: Page, live_server: LiveServer
) -> None:
    console_sign_in(page, live_server)
    expect(page.locator("h1")).to_have_text("仪表盘")
    page.click("a[data-lang=en]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    page.reload()
    expect(page.locator("h1")).to_have_text("Dashboard")
