"""In a real browser: an admin creates and pauses a campaign, reads its report chart (in Chinese),
then adds a mall product and a partner by clicking (in English)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.web.browser.conftest import LiveServer, console_sign_in, screenshot


def test_an_admin_manages_campaigns_the_mall_and_partners(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    console_sign_in(page, live_server)
    page.click("a[href='/console/campaigns']")
    form = page.locator("form[data-form=campaign]")
    form.locator("input[name=campaign_id]").fill("browser-spring")
    form.locator("input[name=name]").fill("春运加成")
    form.locator("input[name=starts_at]").fill("2026-01-01T00:00")
    form.locator("input[name=ends_at]").fill("2026-03-01T00:00")
    form.locator("input[name=budget_points]").fill("50000")
    form.locator("select[name=bonus]").select_option("percent")
    form.locator("input[name=amount]").fill("20")
    form.locator("input[name=trains]").fill("G, D")
    form.locator("button[type=submit]").click()
    expect(page.locator(".flash-ok")).to_contain_text("已创建活动 春运加成。")
    expect(page.locator("h1 .badge")).to_have_text("进行中")
    expect(page.locator("[data-chart=chart-trips][data-rendered='1']")).to_be_visible()
    expect(page.locator("[data-chart=chart-spend][data-rendered='1']")).to_be_visible()

    page.get_by_role("button", name="暂停").click()
    expect(page.locator(".flash-ok")).to_contain_text("活动现为已暂停。")
    expect(page.locator("h1 .badge")).to_have_text("已暂停")
    screenshot(page, "campaign-report", tmp_path)
    page.click("a[href='/console/campaigns']")
    expect(page.locator("tr[data-campaign=browser-spring] .badge")).to_have_text("已暂停")

    page.click("a[data-lang=en]")
    page.click("a[href='/console/mall']")
    product = page.locator("form[data-form=product]")
    product.locator("input[name=sku]").fill("BROWSER-MUG")
    product.locator("input[name=name]").fill("Railway mug")
    product.locator("input[name=price_points]").fill("1200")
    product.locator("input[name=stock]").fill("40")
    product.locator("button[type=submit]").click()
    expect(page.locator(".flash-ok")).to_contain_text("Product BROWSER-MUG created.")
    expect(page.locator("[data-stock=BROWSER-MUG]")).to_have_text("40")

    page.click("a[href='/console/partners']")
    partner = page.locator("form[data-form=partner]")
    partner.locator("input[name=code]").fill("browser-air")
    partner.locator("input[name=name]").fill("Eastern Air")
    partner.locator("input[name=max_points_per_award]").fill("5000")
    partner.locator("input[name=max_points_per_member_day]").fill("10000")
    partner.locator("input[name=max_points_per_month]").fill("1000000")
    partner.locator("input[name=price_per_1000_points_fen]").fill("800")
    partner.locator("button[type=submit]").click()
    expect(page.locator(".flash-ok")).to_contain_text("Partner Eastern Air added.")
    expect(page.locator("tr[data-partner=browser-air] .badge")).to_have_text("active")
