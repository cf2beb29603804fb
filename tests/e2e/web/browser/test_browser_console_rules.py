"""In a real browser: one admin proposes a rule change, a second admin activates it.

The proposer (in Chinese) sees a refused edit's problems next to the editor, then the diff and the
what-if of a good one, and is refused activation; the second admin (in English) activates it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.web.browser.conftest import LiveServer, console_sign_in, screenshot


@pytest.fixture
def second_admin(live_server: LiveServer) -> Iterator[str]:
    """A second console admin's password; the railway preset is put back afterwards."""
    password = live_server.last_line("console", "add-user", "admin-rules", "--role", "admin")
    yield password
    live_server.jifen("init", "--preset", "railway")  # other tests expect the preset's rates


def sign_in_as(page: Page, server: LiveServer, username: str, password: str) -> None:
    page.goto(f"{server.url}/console")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/console")


def test_a_second_admin_activates_the_rule_change_the_first_proposed(
    page: Page, browser: Browser, live_server: LiveServer, second_admin: str, tmp_path: Path
) -> None:
    console_sign_in(page, live_server)
    page.click("a[href='/console/rules']")
    expect(page.locator("h1")).to_have_text("规则")
    editor = page.locator("textarea[name=yaml]")
    active = editor.input_value()
    assert "rate_per_yuan: 5\n" in active

    editor.fill(active.replace("timezone:", "time_zone:", 1))
    page.click("form[data-form=propose] button[type=submit]")
    problems = page.locator("[data-problems]")
    expect(problems).to_contain_text("方案有误，未保存任何内容")
    expect(problems).to_contain_text("time_zone")
    expect(problems).to_contain_text("不是可识别的设置")
    expect(page.locator("table[data-drafts]")).to_have_count(0)

    editor.fill(active.replace("rate_per_yuan: 5\n", "rate_per_yuan: 6\n", 1))
    page.click("form[data-form=propose] button[type=submit]")
    expect(page.locator(".flash-ok")).to_contain_text("草案已提交")
    expect(page.locator(".diff .del")).to_contain_text(["rate_per_yuan: 5"])
    expect(page.locator(".diff .add")).to_contain_text(["rate_per_yuan: 6"])
    draft_url = page.url

    page.click("form[data-form=what-if] button[type=submit]")
    preview = page.locator("[data-preview]")
    expect(preview).to_contain_text("未写入任何数据")
    ride_change = preview.locator("tbody tr", has_text="乘车积分").locator("[data-change]")
    assert int(ride_change.inner_text().replace(",", "")) > 0  # a higher rate, more points
    expect(preview.locator("[data-cost-change]")).to_contain_text("+")
    expect(page.locator("[data-chart=chart-preview][data-rendered='1']")).to_be_visible()
    screenshot(page, "console-rules", tmp_path)

    activate = page.locator("button[data-action=activate]")
    expect(activate).to_be_disabled()
    activate.evaluate("button => { button.disabled = false; }")  # as a crafted request would
    activate.click()
    expect(page.locator(".flash-error")).to_contain_text("此草案由您提交，须由另一位管理员激活")
    expect(page.locator("[data-draft] .badge[data-status]")).to_have_text("待激活")

    other = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    sign_in_as(other, live_server, "admin-rules", second_admin)
    other.goto(f"{live_server.url}/console/rules?lang=en")
    expect(other.locator("h1")).to_have_text("Rules")
    other.goto(draft_url)
    expect(other.locator(".diff .add")).to_contain_text(["rate_per_yuan: 6"])
    expect(other.locator("button[data-action=reject]")).to_have_text("Reject")
    other.click("button[data-action=activate]")
    expect(other.locator(".flash-ok")).to_contain_text("The draft is now the active program")
    expect(other.locator("[data-draft] .badge[data-status]")).to_have_text("activated")
    assert "rate_per_yuan: 6\n" in other.locator("textarea[name=yaml]").input_value()
    other.context.close()
