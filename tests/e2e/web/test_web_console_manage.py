"""Managing from the console: campaigns, mall products and stock, partners; roles and CSRF.

On SQLite and PostgreSQL. The scene is `test_web_console_members.Floor`: members and trips set up
through the API, an admin's console, and other console users made per test.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from jifen.services.keys import create_key
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0
from tests.e2e.conftest import form_token
from tests.e2e.web import test_web_console_members as scene
from tests.e2e.web.test_web_console_members import TRIP_DAY, Floor, balance

floor = scene.floor
operator = scene.operator

CAMPAIGN = {
    "campaign_id": "spring-g",
    "name": "春运加成",
    "starts_at": "2025-03-01T00:00",
    "ends_at": "2025-04-01T00:00",
    "budget_points": "100,000",
    "kind": "ride",
    "bonus": "percent",
    "amount": "50",
    "control_percent": "0",
    "segments": "",
    "member_ids": "",
    "trains": "G",
}
PRODUCT = {
    "sku": "MUG-1",
    "name": "高铁马克杯",
    "kind": "goods",
    "price_points": "1200",
    "cash_fen": "0",
    "stock": "30",
    "per_member_limit": "2",
    "coupon_valid_days": "",
    "sale_starts_at": "",
    "sale_ends_at": "",
}
PARTNER = {
    "code": "air-east",
    "name": "东方航空",
    "point_kind": "ride",
    "max_points_per_award": "5000",
    "max_points_per_member_day": "10000",
    "max_points_per_month": "1000000",
    "price_per_1000_points_fen": "800",
    "exchange_miles": "",
    "exchange_points": "",
    "min_miles": "1",
}


def post_form(client: TestClient, page: str, action: str, data: dict[str, Any]) -> Any:
    """Send a form of `page` as a browser would (with the page's CSRF token)."""
    token = form_token(client.get(page).text)
    return client.post(action, data={"csrf_token": token, **data})


def post_stock(client: TestClient, page: str, data: dict[str, Any]) -> Any:
    """Send the stock form of a product page as a browser would: with the id the page gave it."""
    html = client.get(page).text
    form_id = re.search(r'name="form_id" value="([^"]+)"', html)
    assert form_id, "the product page has no stock form id"
    form = {"csrf_token": form_token(html), "form_id": form_id.group(1), **data}
    return client.post(f"{page}/stock", data=form)


def audited(floor: Floor, subject: str) -> list[tuple[str, str]]:
    with SqlUnitOfWork(floor.api.client.app.state.jifen.engine) as uow:
        entries = uow.audit_log.entries(
            since=None, until=None, subject=subject, newest_first=False, limit=20
        )
    return [(e.action, e.actor) for e in entries]


def status_of(html: str) -> str:
    match = re.search(r'<h1>[^<]*<span class="badge" data-status="(\w+)"', html)
    assert match, "the page shows no status"
    return match.group(1)


class TestCampaigns:
    def test_an_operator_creates_pauses_resumes_and_stops_a_campaign(
        self, floor: Floor, operator: Callable[..., TestClient]
    ) -> None:
        member_id, _number = floor.enrol(701)
        ops = operator("operator", "lin")
        made = post_form(ops, "/console/campaigns", "/console/campaigns", CAMPAIGN)
        assert made.status_code == 200
        assert "已创建活动 春运加成。" in made.text
        assert status_of(made.text) == "active"
        again = post_form(ops, "/console/campaigns", "/console/campaigns", CAMPAIGN)
        assert again.status_code == 200  # the same form twice: one campaign
        listed = ops.get("/console/campaigns").text
        assert listed.count('data-campaign="spring-g"') == 1

        paused = post_form(
            ops, "/console/campaigns/spring-g", "/console/campaigns/spring-g/pause", {}
        )
        assert status_of(paused.text) == "paused"
        floor.ride(member_id, "T1")  # while paused: the base points only
        resumed = post_form(
            ops, "/console/campaigns/spring-g", "/console/campaigns/spring-g/resume", {}
        )
        assert status_of(resumed.text) == "active"
        floor.ride(member_id, "T2", TRIP_DAY + timedelta(days=1))
        floor.clock(scene.NOW)
        member_page = floor.console.get(f"/console/members/{member_id}").text
        assert balance(member_page, "ride") == f"{2 * scene.TRIP_POINTS + 1384:,}"
        stopped = post_form(
            ops, "/console/campaigns/spring-g", "/console/campaigns/spring-g/stop", {}
        )
        assert status_of(stopped.text) == "stopped"
        assert audited(floor, "campaign:spring-g") == [
            ("campaign.created", "console:lin"),
            ("campaign.paused", "console:lin"),
            ("campaign.resumed", "console:lin"),
            ("campaign.stopped", "console:lin"),
        ]

    def test_the_report_page_has_the_uplift_chart_in_english(self, floor: Floor) -> None:
        post_form(floor.console, "/console/campaigns", "/console/campaigns", CAMPAIGN)
        report = floor.console.get("/console/campaigns/spring-g?lang=en").text
        assert "Uplift against the control group" in report
        assert 'data-chart="chart-trips"' in report
        assert '"Treated"' in report
        assert '"Control"' in report

    def test_a_campaign_that_does_not_fit_the_program_is_refused_with_its_problems(
        self, floor: Floor
    ) -> None:
        bad = {**CAMPAIGN, "ends_at": "2025-02-01T00:00"}
        page = post_form(floor.console, "/console/campaigns", "/console/campaigns", bad)
        assert "活动无法创建：ends_at must come after starts_at。" in page.text
        assert 'data-campaign="spring-g"' not in page.text

    def test_the_form_meets_the_apis_rules(self, floor: Floor) -> None:
        bad = {**CAMPAIGN, "campaign_id": "spring/g"}  # the API's ids have no "/"
        page = post_form(floor.console, "/console/campaigns", "/console/campaigns", bad)
        assert (
            "请检查表单：编号须为字母、数字或 . _ : -，两个日期都须填写，预算和加成须为整数。"
            in page.text
        )
        assert floor.api.get("/v1/campaigns", role="operator").json()["items"] == []

    def test_an_analyst_reads_but_may_not_change(
        self, floor: Floor, operator: Callable[..., TestClient]
    ) -> None:
        post_form(floor.console, "/console/campaigns", "/console/campaigns", CAMPAIGN)
        analyst = operator("analyst", "ana")
        listed = analyst.get("/console/campaigns")
        assert listed.status_code == 200
        assert 'data-form="campaign"' not in listed.text
        assert "/pause" not in analyst.get("/console/campaigns/spring-g").text
        token = form_token(listed.text)  # the sign-out form's token
        refused = analyst.post("/console/campaigns/spring-g/pause", data={"csrf_token": token})
        assert refused.status_code == 403
        made = analyst.post("/console/campaigns", data={"csrf_token": token, **CAMPAIGN})
        assert made.status_code == 403
        assert status_of(floor.console.get("/console/campaigns/spring-g").text) == "active"

    def test_a_form_without_the_session_token_is_refused(self, floor: Floor) -> None:
        refused = floor.console.post("/console/campaigns", data=CAMPAIGN)
        assert refused.status_code == 403
        assert 'data-campaign="spring-g"' not in floor.console.get("/console/campaigns").text


class TestMall:
    def test_an_operator_creates_edits_and_restocks_a_product(
        self, floor: Floor, operator: Callable[..., TestClient]
    ) -> None:
        ops = operator("operator", "wu")
        made = post_form(ops, "/console/mall", "/console/mall/products", {**PRODUCT, "active": "1"})
        assert "已创建商品 MUG-1。" in made.text
        assert 'data-stock="MUG-1">30<' in made.text
        assert 'data-product="MUG-1"' in ops.get("/console/mall").text
        edited = {**PRODUCT, "active": "1", "price_points": "1500", "stock": "25"}
        saved = post_form(ops, "/console/mall/products/MUG-1", "/console/mall/products", edited)
        assert "已保存商品 MUG-1。" in saved.text
        assert floor.api.get("/v1/mall/products").json()["items"][0]["price_points"] == 1500

        page = "/console/mall/products/MUG-1"
        added = post_stock(ops, page, {"change": "+5", "reason": "Restocked"})
        assert "库存已调整 +5；现为 30。" in added.text
        too_many = post_stock(ops, page, {"change": "-31", "reason": "Broken"})
        assert "剩余库存少于要扣减的数量；库存不能小于 0。" in too_many.text
        assert 'data-stock="MUG-1">30<' in too_many.text
        assert audited(floor, "product:MUG-1") == [
            ("product.created", "console:wu"),
            ("product.changed", "console:wu"),
            ("product.stock_adjusted", "console:wu"),
        ]

    def test_a_stock_form_sent_twice_changes_the_stock_once_and_the_page_lists_it(
        self, floor: Floor, operator: Callable[..., TestClient]
    ) -> None:
        ops = operator("operator", "wu")
        post_form(ops, "/console/mall", "/console/mall/products", {**PRODUCT, "active": "1"})
        page = "/console/mall/products/MUG-1"
        html = ops.get(page).text
        form_id = re.search(r'name="form_id" value="([^"]+)"', html)
        assert form_id is not None
        form = {"csrf_token": form_token(html), "form_id": form_id.group(1)}
        form |= {"change": "-4", "reason": "Damaged in the depot"}

        first = ops.post(f"{page}/stock", data=form)
        again = ops.post(f"{page}/stock", data=form)  # a double click, or the browser resending

        assert "库存已调整 -4；现为 26。" in first.text
        assert "此表单已提交过，库存未再次调整；现为 26。" in again.text
        assert floor.api.get("/v1/mall/products").json()["items"][0]["stock"] == 26
        assert [a for a, _ in audited(floor, "product:MUG-1")].count("product.stock_adjusted") == 1
        [row] = re.findall(r'<tr data-adjustment="[^"]+">(.*?)</tr>', again.text, flags=re.DOTALL)
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        assert cells[1:] == ["-4", "26", "Damaged in the depot", "console:wu"]
        shown_again = f'name="form_id" value="{form_id.group(1)}"'
        assert shown_again not in ops.get(page).text  # the page shown again has a new id
        fresh = post_stock(ops, page, {"change": "-4", "reason": "Damaged in the depot"})
        assert "库存已调整 -4；现为 22。" in fresh.text

    def test_an_old_stock_form_sent_with_other_values_changes_nothing(
        self, floor: Floor, operator: Callable[..., TestClient]
    ) -> None:
        ops = operator("operator", "wu")
        post_form(ops, "/console/mall", "/console/mall/products", {**PRODUCT, "active": "1"})
        page = "/console/mall/products/MUG-1"
        html = ops.get(page).text
        form_id = re.search(r'name="form_id" value="([^"]+)"', html)
        assert form_id is not None
        form = {"csrf_token": form_token(html), "form_id": form_id.group(1), "reason": "Delivery"}
        ops.post(f"{page}/stock", data={**form, "change": "5"})

        edited = ops.post(f"{page}/stock", data={**form, "change": "50"})  # the page went back

        assert "此表单已用其他内容提交过，请刷新页面。" in edited.text
        assert floor.api.get("/v1/mall/products").json()["items"][0]["stock"] == 35

    def test_a_product_that_makes_no_sense_is_refused_in_english(self, floor: Floor) -> None:
        coupon = {**PRODUCT, "kind": "coupon", "active": "1"}  # without its days of validity
        floor.console.get("/console/mall?lang=en")
        page = post_form(floor.console, "/console/mall", "/console/mall/products", coupon)
        assert "The product cannot be saved:" in page.text
        assert "coupon_valid_days is required for a coupon" in page.text
        assert 'data-product="MUG-1"' not in page.text

    def test_an_analyst_may_not_touch_the_mall(
        self, floor: Floor, operator: Callable[..., TestClient]
    ) -> None:
        analyst = operator("analyst", "ana")
        token = form_token(analyst.get("/console").text)
        refused = analyst.post("/console/mall/products", data={"csrf_token": token, **PRODUCT})
        assert refused.status_code == 403
        assert floor.api.get("/v1/mall/products").json()["items"] == []

    def test_a_stock_form_without_the_session_token_is_refused(self, floor: Floor) -> None:
        post_form(
            floor.console, "/console/mall", "/console/mall/products", {**PRODUCT, "active": "1"}
        )
        data = {"form_id": "stock-forged", "change": "100", "reason": "Forged"}
        refused = floor.console.post("/console/mall/products/MUG-1/stock", data=data)
        assert refused.status_code == 403
        assert floor.api.get("/v1/mall/products").json()["items"][0]["stock"] == 30


class TestPartners:
    def test_an_operator_adds_suspends_and_activates_a_partner(
        self, floor: Floor, operator: Callable[..., TestClient]
    ) -> None:
        ops = operator("operator", "he")
        added = post_form(ops, "/console/partners", "/console/partners", PARTNER)
        assert "已添加合作伙伴 东方航空。" in added.text
        assert 'data-partner="air-east"' in added.text
        suspend = {"status": "suspended", "reason": "Contract paused"}
        done = post_form(ops, "/console/partners", "/console/partners/air-east/status", suspend)
        assert "合作伙伴 东方航空 现为已暂停合作。" in done.text
        activate = {"status": "active", "reason": ""}
        post_form(ops, "/console/partners", "/console/partners/air-east/status", activate)
        assert audited(floor, "partner:air-east") == [
            ("partner.created", "console:he"),
            ("partner.suspended", "console:he"),
            ("partner.activated", "console:he"),
        ]

    def test_the_month_settlement_shows_what_the_partner_owes(self, floor: Floor) -> None:
        member_id, _number = floor.enrol(702)
        post_form(floor.console, "/console/partners", "/console/partners", PARTNER)
        engine = floor.api.client.app.state.jifen.engine
        key = create_key(
            SqlUnitOfWork(engine), role="partner", label="air", now=T0, partner_code="air-east"
        )
        floor.api.keys["air-east"] = key.token
        award = {"id": "aw-1", "member_id": member_id, "points": 2500, "reason": "Flight"}
        response = floor.api.post("/v1/partner/awards", award, role="air-east")
        assert response.status_code == 201, response.text
        page = floor.console.get("/console/partners?month=2025-03").text
        assert re.search(r"data-owed>¥20\.00<", page)  # 2,500 points at ¥8.00 per 1,000
        assert "¥0.00" in floor.console.get("/console/partners?month=2025-02").text
        wrong = floor.console.get("/console/partners?month=March").text
        assert "月份格式为 YYYY-MM，例如 2025-11。" in wrong

    def test_an_analyst_reads_the_settlement_but_may_not_change_a_partner(
        self, floor: Floor, operator: Callable[..., TestClient]
    ) -> None:
        post_form(floor.console, "/console/partners", "/console/partners", PARTNER)
        analyst = operator("analyst", "ana")
        listed = analyst.get("/console/partners?lang=en")
        assert listed.status_code == 200
        assert "Owed for" in listed.text
        assert 'data-form="partner"' not in listed.text
        token = form_token(listed.text)
        data = {"csrf_token": token, "status": "suspended", "reason": "x"}
        assert analyst.post("/console/partners/air-east/status", data=data).status_code == 403
        assert (
            analyst.post("/console/partners", data={"csrf_token": token, **PARTNER}).status_code
            == 403
        )


def test_long_lists_come_a_page_at_a_time(floor: Floor) -> None:
    for n in range(21):
        body = {
            "id": f"c{n:02d}",
            "name": f"Campaign {n}",
            "starts_at": "2025-03-01T00:00:00+08:00",
            "ends_at": "2025-04-01T00:00:00+08:00",
            "budget_points": 1000,
            "effect": {"kind": "ride", "points": 10},
        }
        assert floor.api.post("/v1/campaigns", body, role="operator").status_code == 201
    first = floor.console.get("/console/campaigns?lang=en").text
    second = floor.console.get("/console/campaigns?page=2").text
    assert first.count("data-campaign=") == 20
    assert "Page 1 of 2 (21 rows)" in first
    assert second.count("data-campaign=") == 1
    assert 'href="/console/campaigns?page=1"' in second
