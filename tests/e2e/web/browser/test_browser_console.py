"""In a real browser: an admin finds a member, adjusts points, reads the dashboard's charts."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.web.browser.conftest import LiveServer, console_sign_in, screenshot

MEMBER = 3  # one of the demo's members


def test_an_operator_adjusts_points_and_reads_the_dashboard(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    console_sign_in(page, live_server)
    page.click("a[href='/console/members']")
    page.fill("input[name=q]", str(MEMBER))
    page.click("form[role=search] button[type=submit]")
    page.click(f"a[data-member='{MEMBER}']")
    expect(page.locator("h1")).to_contain_text(f"会员 {MEMBER}")
    ride = page.locator("[data-balance=ride]")
    before = int(ride.inner_text().replace(",", ""))

    form = page.locator("form[data-form=adjust]")
    form.locator("select[name=kind]").select_option("goodwill")
    form.locator("input[name=points]").fill("500")
    form.locator("input[name=reason]").fill("Delayed train G1")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash-ok")).to_contain_text("已调整 +500 分")
    expect(ride).to_have_text(f"{before + 500:,}")

    page.click("a[href='/console']")
    expect(page.locator("[data-chart=chart-points][data-rendered='1']")).to_be_visible()
    expect(page.locator("[data-chart=chart-tiers][data-rendered='1']")).to_be_visible()
    screenshot(page, "dashboard", tmp_path)

    page.click("a[data-lang=en]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    expect(page.locator("[data-chart=chart-points][data-rendered='1']")).to_be_visible()
