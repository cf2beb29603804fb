"""The console's program, mall, audit and daily-job pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.e2e.conftest import form_token
from tests.e2e.web import test_web_console_members as scene
from tests.e2e.web.test_web_console_members import NOW, Floor

floor = scene.floor  # the fixtures, shared with the member page tests
operator = scene.operator
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]+")


def test_the_program_page_writes_the_rules_out_in_both_languages(floor: Floor) -> None:
    chinese = floor.console.get("/console/program").text
    assert "铁路畅行" in chinese
    assert "票价每元 15 乘车积分；同时记入同等升级积分" in chinese
    assert "60 岁及以上" in chinese
    assert "不含证件类型：护照" in chinese
    assert "150,000" in chinese  # the 4★ threshold
    assert "超过 10,000 分的调整须经另一人审批" in chinese
    english = floor.console.get("/console/program?lang=en").text
    assert "Railway Rewards" in english
    assert "15 Ride points per yuan of fare; the same again as Upgrade points" in english
    assert "aged 14 to 28" in english


def test_the_program_page_lists_campaigns(floor: Floor) -> None:
    body = {
        "id": "spring-offpeak",
        "name": "Spring off-peak",
        "starts_at": "2025-03-01T00:00:00+08:00",
        "ends_at": "2025-04-01T00:00:00+08:00",
        "budget_points": 50_000,
        "effect": {"kind": "ride", "percent": 50},
        "target": {"trains": ["G"], "weekdays": [2, 3]},
    }
    assert floor.api.post("/v1/campaigns", body, role="operator").status_code == 201
    page = floor.console.get("/console/program").text
    assert "Spring off-peak" in page
    assert "+50% 乘车积分" in page
    assert "车次 G" in page
    assert "50,000" in page


def test_the_mall_page_shows_stock_flash_sales_and_orders(floor: Floor) -> None:
    member_id, _ = floor.enrol(801)
    floor.activity(member_id, 12_000)
    floor.clock(NOW)
    products = [
        {"sku": "MUG-1", "name": "Railway mug", "price_points": 3_000, "stock": 40},
        {
            "sku": "FLASH-1",
            "name": "Flash pillow",
            "price_points": 1_000,
            "stock": 5,
            "sale_starts_at": "2025-03-10T10:00:00+08:00",
            "sale_ends_at": "2025-03-10T14:00:00+08:00",
        },
    ]
    for product in products:
        assert floor.api.post("/v1/mall/products", product).status_code == 201
    order = {"id": "order-1", "member_id": member_id, "sku": "MUG-1", "quantity": 2}
    assert floor.api.post("/v1/mall/orders", order, role="operator").status_code == 201
    page = floor.console.get("/console/mall").text
    assert "Railway mug" in page
    assert ">38<" in page  # 40 less the 2 ordered
    assert "Flash pillow" in page
    assert "在售" in page  # the flash sale is open at noon
    assert "order-1" in page
    assert "6,000" in page  # 2 × 3,000 points
    assert 'data-orders="paid">1<' in page


def test_the_audit_log_is_for_admins(floor: Floor, operator: Callable[..., TestClient]) -> None:
    member_id, _ = floor.enrol(802)
    floor.clock(NOW)
    floor.adjust(member_id, 500, reason="Seat broken")
    page = floor.console.get("/console/audit").text
    assert "调整入账" in page
    assert "console:chief" in page
    assert "Seat broken" in page
    ops = operator("operator")
    assert ops.get("/console/audit?lang=en").status_code == 403
    assert 'href="/console/audit"' not in ops.get("/console").text


def test_an_admin_runs_the_daily_job_for_a_day_once(floor: Floor) -> None:
    floor.clock(NOW)
    page = floor.console.get("/console/jobs").text
    assert 'value="2025-03-09"' in page  # yesterday on the clock, by default
    data = {"csrf_token": form_token(page), "as_of": "2025-03-09"}
    first = floor.console.post("/console/jobs/daily", data=data)
    assert "已为 2025-03-09 运行日终作业" in first.text
    assert "0 个步骤此前已运行" in first.text
    assert 'data-day="2025-03-09"' in first.text
    again = floor.console.post("/console/jobs/daily", data=data)
    assert "运行了 0 个步骤" in again.text


def test_the_daily_job_refuses_bad_dates_and_non_admins(
    floor: Floor, operator: Callable[..., TestClient]
) -> None:
    floor.clock(NOW)
    token = form_token(floor.console.get("/console/jobs").text)
    bad = floor.console.post("/console/jobs/daily", data={"csrf_token": token, "as_of": "9 March"})
    assert "日期格式为 YYYY-MM-DD" in bad.text
    future = floor.console.post(
        "/console/jobs/daily", data={"csrf_token": token, "as_of": "2025-03-11"}
    )
    assert "不能为 2025-03-11 运行" in future.text
    ops = operator("operator")
    page = ops.get("/console/jobs").text
    assert "只有管理员可以运行日终作业。" in page
    refused = ops.post(
        "/console/jobs/daily", data={"csrf_token": form_token(page), "as_of": "2025-03-09"}
    )
    assert refused.status_code == 403
    assert 'data-day="2025-03-09"' not in floor.console.get("/console/jobs").text


def test_every_console_page_in_english_has_no_chinese_left(floor: Floor) -> None:
    member_id, _ = floor.enrol(803)
    floor.ride(member_id, "T1")
    floor.clock(NOW)
    floor.adjust(member_id, 20_000, form_id="big-3-adjust")  # an approval waiting, in the queue
    paths = [
        "/console",
        "/console/members",
        "/console/members?q=nobody",
        "/console/program",
        "/console/mall",
        "/console/audit",
        "/console/jobs",
    ]
    for path in paths:
        page = floor.console.get(path, params={"lang": "en"})
        assert page.status_code == 200, path
        text = page.text.replace("中文", "")  # the language switch names itself
        assert not CJK.findall(text), (path, CJK.findall(text)[:5])
