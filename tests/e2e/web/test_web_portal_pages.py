"""The member portal over HTTP on SQLite and PostgreSQL: sign-in, home, history, languages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import httpx2
import pytest
from sqlalchemy import Engine, update

from jifen.programs.loader import load_preset
from jifen.services.member_status import close_member
from jifen.services.portal_sign_in import OutboxSmsSender, create_link
from jifen.storage.tables import members
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, Api
from tests.e2e.api.test_api_contract import Http, activity, enrolment
from tests.e2e.conftest import form_token

NOW = datetime(2025, 2, 1, 10, 0, tzinfo=SHANGHAI)
JOINED = datetime(2025, 1, 2, 9, 0, tzinfo=SHANGHAI)
RIDE = 2768  # ¥553.50 × 5, half-up: the ride (and upgrade) points of one `trip`
PORTAL_PAGES = ("/portal", "/portal/history", "/portal/beneficiaries", "/portal/mall",
                "/portal/redeem", "/portal/redemptions")  # fmt: skip


@dataclass
class Portal(Http):
    """The contract test client, plus members who sign in to the portal."""

    members: int = 0
    events_sent: int = 0
    now: datetime = NOW

    def at(self, moment: datetime) -> None:
        self.set_clock(moment.isoformat())
        self.now = moment

    def member(self, *, trips: tuple[date, ...] = (), activity_points: int = 0) -> int:
        """Enrol a member (phone 139000000NN) with some trips and activity points."""
        self.members += 1
        self.set_clock(JOINED.isoformat())
        member_id = self.enrol(serial=self.members)
        if trips:
            self.ride(member_id, *trips)
        if activity_points:
            self.events_sent += 1
            self.events(
                [activity(f"a{self.events_sent}", member_id=member_id, points=activity_points)]
            )
        self.set_clock(self.now.isoformat())
        return member_id

    def identity(self, serial: int) -> tuple[str, str]:
        """The full ID number and phone of the `serial`th member (pages must never show them)."""
        body = enrolment(date(1990, 3, 7), serial)
        return body["id_number"], body["phone"]

    def sign_in(self, member_id: int) -> None:
        """Open a one-time link for the member, as `jifen portal link` makes them."""
        token = create_link(SqlUnitOfWork(self.engine), member_id=member_id, now=self.now)
        response = self.page(f"/portal/login/{token}", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/portal"

    def page(self, path: str, **kw: object) -> httpx2.Response:
        """A portal page as a browser gets it (no API key)."""
        return self.api.client.get(path, **kw)  # type: ignore[arg-type]

    def form(self, path: str, data: dict[str, str], *, page_path: str) -> httpx2.Response:
        """Submit a form with the CSRF token of the page at `page_path`."""
        token = form_token(self.page(page_path).text)
        return self.api.client.post(path, data={**data, "csrf_token": token})


def make_portal(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Portal:
    """A portal client whose sandbox clock stands at NOW."""
    client = Portal(api, engine, vault_keys)
    client.at(NOW)
    return client


@pytest.fixture
def portal(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Portal:
    """A portal client whose sandbox clock stands at NOW."""
    return make_portal(api, engine, vault_keys)


def text_of(html: str) -> str:
    """The page's visible words, tags and extra spaces removed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


class TestSignIn:
    def test_a_stranger_is_sent_to_sign_in(self, portal: Portal) -> None:
        for path in PORTAL_PAGES:
            response = portal.page(path, follow_redirects=False)
            assert response.status_code == 303
            assert response.headers["location"] == f"/portal/login?next={path}"
        assert "登录会员中心" in portal.page("/portal/login").text

    def test_a_link_signs_in_once_then_says_to_ask_for_a_new_one(self, portal: Portal) -> None:
        member = portal.member()
        token = create_link(SqlUnitOfWork(portal.engine), member_id=member, now=portal.now)
        assert portal.page(f"/portal/login/{token}").status_code == 200
        assert "我的积分" in portal.page("/portal").text
        again = portal.page(f"/portal/login/{token}?lang=en")
        assert again.status_code == 400
        assert "This link no longer works" in again.text
        assert "ask for a new link" in again.text

    def test_an_expired_link_is_refused(self, portal: Portal) -> None:
        member = portal.member()
        token = create_link(SqlUnitOfWork(portal.engine), member_id=member, now=portal.now)
        portal.at(datetime(2025, 2, 1, 10, 15, tzinfo=SHANGHAI))
        refused = portal.page(f"/portal/login/{token}")
        assert refused.status_code == 400
        assert "此链接已失效" in refused.text
        assert portal.page("/portal", follow_redirects=False).status_code == 303

    def test_an_sms_code_signs_in_and_a_stranger_sees_the_same_page(self, portal: Portal) -> None:
        outbox = OutboxSmsSender()
        portal.api.client.app.state.portal_sms = outbox  # type: ignore[attr-defined]
        member = portal.member()
        _, phone = portal.identity(1)
        stranger = portal.form(
            "/portal/login/code", {"phone": "13700000000"}, page_path="/portal/login"
        )
        asked = portal.form("/portal/login/code", {"phone": phone}, page_path="/portal/login")
        assert asked.status_code == stranger.status_code == 200
        assert "139****0001" in asked.text
        assert phone not in asked.text
        assert text_of(asked.text).replace("139****0001", "PHONE") == text_of(
            stranger.text
        ).replace("137****0000", "PHONE")
        assert len(outbox.sent) == 1
        code = re.search(r"\b(\d{6})\b", outbox.sent[0][1]).group(1)  # type: ignore[union-attr]
        wrong = portal.api.client.post(
            "/portal/login/verify",
            data={"code": f"{(int(code) + 1) % 10**6:06d}", "csrf_token": form_token(asked.text)},
        )
        assert wrong.status_code == 400
        assert "验证码错误或已过期" in wrong.text
        signed_in = portal.api.client.post(
            "/portal/login/verify", data={"code": code, "csrf_token": form_token(wrong.text)}
        )
        assert signed_in.status_code == 200
        assert str(signed_in.url).endswith("/portal")
        assert portal.page("/portal", follow_redirects=False).status_code == 200
        assert member == 1  # the member whose phone `identity(1)` gave

    def test_a_form_without_the_session_token_is_refused(self, portal: Portal) -> None:
        portal.page("/portal/login")
        response = portal.api.client.post(
            "/portal/login/code", data={"phone": "13900000001", "csrf_token": "forged"}
        )
        assert response.status_code == 403
        assert "csrf_failed" in response.text

    def test_closing_the_member_ends_their_open_session(self, portal: Portal) -> None:
        member = portal.member(activity_points=100)
        portal.sign_in(member)
        assert portal.page("/portal", follow_redirects=False).status_code == 200
        close_member(
            SqlUnitOfWork(portal.engine),
            program=load_preset("railway"),
            member_id=member,
            reason="test",
            actor="test",
            now=portal.now,
        )
        assert portal.page("/portal", follow_redirects=False).status_code == 303

    def test_signing_out_ends_the_session(self, portal: Portal) -> None:
        portal.sign_in(portal.member())
        out = portal.form("/portal/logout", {}, page_path="/portal")
        assert out.status_code == 200
        assert portal.page("/portal", follow_redirects=False).status_code == 303


class TestHome:
    def test_balances_and_tier_progress_in_both_languages(self, portal: Portal) -> None:
        member = portal.member(trips=(date(2025, 1, 10), date(2025, 1, 11)), activity_points=500)
        portal.sign_in(member)
        home = text_of(portal.page("/portal").text)
        assert f"可用积分 {2 * RIDE + 500:,}" in home  # 6,036
        assert f"乘车积分 {2 * RIDE:,}" in home
        assert "活动积分 500" in home
        assert "待入账 0" in home
        assert "二星会员" in home
        # 50,000 for 3★ less the 5,536 upgrade points that still count on the deadline,
        # a quarter ahead for the join tier (2025-02-01 + 3 months - 1 day).
        assert "2025年4月30日 前再获得 44,464 升级积分即可升至三星会员" in home
        english = text_of(portal.page("/portal?lang=en").text)
        assert "Spendable points 6,036" in english
        assert "44,464 more upgrade points by Apr 30, 2025 to reach 3-star member" in english
        assert "No points lapse in the next 90 days." in english

    def test_points_expiring_within_30_days_are_highlighted(self, portal: Portal) -> None:
        member = portal.member(trips=(date(2025, 1, 10),))
        portal.at(datetime(2025, 12, 20, 10, 0, tzinfo=SHANGHAI))
        portal.sign_in(member)
        html = portal.page("/portal?lang=en").text
        row = re.search(r'<tr class="highlight">(.*?)</tr>', html, re.DOTALL)
        assert row, "the lot lapsing on 2026-01-10 is not highlighted"
        assert text_of(row.group(1)).split() == ["Jan", "9,", "2026", "Ride", "points", "2,768"]
        assert "2,768 points lapse within 30 days; 2,768 within 90 days." in text_of(html)
        # By the deadline (2026-03-19) the January trip has left the 12-month window.
        assert "50,000 more upgrade points by Mar 19, 2026" in text_of(html)

    def test_a_held_tier_is_measured_to_its_reassessment_and_the_top_says_so(
        self, portal: Portal
    ) -> None:
        member = portal.member(trips=(date(2025, 1, 10),))
        portal.sign_in(member)
        with portal.engine.begin() as connection:
            connection.execute(
                update(members)
                .where(members.c.id == member)
                .values(tier_code="star3", tier_valid_until=date(2025, 6, 30))
            )
        home = text_of(portal.page("/portal?lang=en").text)
        assert "3-star member Valid until Jun 30, 2025" in home
        # 150,000 for 4★ less the 2,768 points that still count on 2025-06-30.
        assert "147,232 more upgrade points by Jun 30, 2025 to reach 4-star member" in home
        with portal.engine.begin() as connection:
            connection.execute(
                update(members).where(members.c.id == member).values(tier_code="star5")
            )
        top = text_of(portal.page("/portal").text)
        assert "5-star member" in top
        assert "You are at the top tier." in top

    def test_no_page_shows_a_full_id_number_or_phone(self, portal: Portal) -> None:
        member = portal.member(trips=(date(2025, 1, 10),))
        portal.sign_in(member)
        id_number, phone = portal.identity(1)
        for path in PORTAL_PAGES:
            for lang in ("zh_CN", "en"):
                html = portal.page(f"{path}?lang={lang}").text
                assert id_number not in html
                assert phone not in html


class TestHistory:
    def test_newest_first_with_the_rule_of_each_credit_and_pages(self, portal: Portal) -> None:
        days = tuple(date(2025, 1, d) for d in range(10, 16))
        member = portal.member(trips=days)
        portal.sign_in(member)
        first = portal.page("/portal/history?lang=en").text
        rows = re.findall(r"<tr>(.*?)</tr>", first, re.DOTALL)[1:]
        # A page is 20 ledger lines; each trip makes 4 (pending, confirm off pending and onto
        # available, upgrade credit) and shows as 3: the move off pending is left out.
        assert len(rows) == 15
        assert "Jan 15, 2025" in rows[0]
        assert "Ride points 5× for everyone" in first
        assert "Confirmed after travel · Ride points" in text_of(rows[1]) + text_of(rows[0])
        assert f"+{RIDE:,}" in first
        older = re.search(r'href="(/portal/history\?cursor=[^"]+)"', first)
        assert older
        second = portal.page(older.group(1)).text
        assert len(re.findall(r"<tr>(.*?)</tr>", second, re.DOTALL)[1:]) == 3
        assert "Jan 10, 2025" in second
        assert "Ride points 5× for everyone" in second  # the language cookie keeps English

    def test_an_edited_cursor_starts_again_from_the_newest(self, portal: Portal) -> None:
        portal.sign_in(portal.member(trips=(date(2025, 1, 10),)))
        response = portal.page("/portal/history?cursor=forged")
        assert response.status_code == 200
        assert "乘车积分 5 倍" in response.text
