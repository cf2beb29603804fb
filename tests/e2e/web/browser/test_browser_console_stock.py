"""In a real browser: an admin adjusts a product's stock, and the same form sent again (a double
click, a resend) changes nothing; the product page lists the adjustment (in English)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.web.browser.conftest import LiveServer, console_sign_in


def test_a_stock_form_sent_twice_adjusts_the_stock_once(page: Page, live_server: LiveServer):
    console_sign_in(page, live_server)
    page.click("a[data-lang=en]")
    page.click("a[href='/console/mall']")
    product = page.locator("form[data-form=product]")
    product.locator("input[name=sku]").fill("BROWSER-STOCK")
    product.locator("input[name=name]").fill("Thermos")
    product.locator("input[name=price_points]").fill("800")
    product.locator("input[name=stock]").fill("10")
    product.locator("button[type=submit]").click()
    expect(page.locator("[data-stock=BROWSER-STOCK]")).to_have_text("10")

    form = page.locator("form[data-form=stock]")
    form.locator("input[name=change]").fill("5")
    form.locator("input[name=reason]").fill("Delivery 7731")
    with page.expect_request("**/BROWSER-STOCK/stock") as sent:
        form.locator("button[type=submit]").click()
    expect(page.locator(".flash-ok")).to_contain_text("Stock changed by +5; now 15.")

    request = sent.value
    resent = page.request.post(
        request.url,
        data=request.post_data,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        max_redirects=0,  # the page shows where it leads, with its message
    )
    assert resent.status == 303
    page.reload()

    expect(page.locator(".flash-warn")).to_contain_text("the stock was not changed again")
    expect(page.locator("[data-stock=BROWSER-STOCK]")).to_have_text("15")
    rows = page.locator("tr[data-adjustment]")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("[data-change]")).to_have_text("+5")
    expect(rows.first).to_contain_text("Delivery 7731")
