"""The warehouse webhook's 5-minute freshness window follows real time, not the sandbox clock.

Replay protection is about when a request was really signed and sent: a sandbox server whose
clock is set a year away must still take a report signed a moment ago and refuse one captured
and replayed later, whatever time the sandbox shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine

from jifen.services.clock import Clock
from jifen.services.mall.warehouse import WAREHOUSE_SECRET_ENV
from tests.conftest import SHANGHAI, Api
from tests.e2e.api.test_api_mall import SECRET, Mall

FAR_AWAY = datetime(2031, 7, 1, 10, 0, tzinfo=SHANGHAI)  # the sandbox's clock, years from now
REPORT = {"order_id": "o-box", "status": "shipped", "tracking": "SF9"}


def real_now() -> datetime:
    """The wall clock, read the way the API's edge reads it."""
    return Clock().now()


@pytest.fixture
def shop(
    api: Api, engine: Engine, vault_keys: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Mall]:
    """A paid goods order `o-box`, on a sandbox server whose clock is set far from real time."""
    monkeypatch.setenv(WAREHOUSE_SECRET_ENV, SECRET)
    mall = Mall(api, engine, vault_keys)
    mall.at(FAR_AWAY)
    member = mall.member(1000, on=FAR_AWAY.date() - timedelta(days=30))
    mall.product("BOX")
    mall.bought("o-box", member, "BOX")
    yield mall
    mall.ledger_ok()


def test_a_report_signed_just_now_is_accepted_whatever_the_sandbox_clock(shop: Mall) -> None:
    response = shop.webhook(REPORT, at=real_now())

    assert response.status_code == 200, response.text
    order = response.json()
    assert order["status"] == "fulfilled"
    # The order's own history keeps the sandbox's time: only replay protection is real time.
    assert datetime.fromisoformat(order["fulfilment"]["reports"][0]["at"]) == FAR_AWAY


def test_a_report_signed_six_minutes_ago_is_refused_whatever_the_sandbox_clock(
    shop: Mall,
) -> None:
    stale = shop.webhook(REPORT, at=real_now() - timedelta(minutes=6))

    shop.refused(stale, 401, "signature_expired")
    assert shop.get("/v1/mall/orders/o-box").json()["status"] == "paid"


def test_a_report_signed_at_the_sandbox_time_is_refused_as_a_replay(shop: Mall) -> None:
    """Signed 'now' by the sandbox's clock is years from when it really was sent."""
    replayed = shop.webhook(REPORT, at=FAR_AWAY)

    shop.refused(replayed, 401, "signature_expired")
    assert shop.get("/v1/mall/orders/o-box").json()["status"] == "paid"
