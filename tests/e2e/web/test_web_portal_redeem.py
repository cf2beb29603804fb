"""Redeeming a ticket on the portal: price first, once per form, friendly refusals.

The portal and `POST /v1/me/redemptions` share one use case, so what the portal redeems is the
member's own redemption as the API shows it.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import Engine

from tests.conftest import Api
from tests.e2e.web.test_web_portal_pages import RIDE, Portal, make_portal, text_of

REDEEM = "/portal/redeem"
TRIPS = (date(2025, 1, 10), date(2025, 1, 11), date(2025, 1, 12), date(2025, 1, 13))


@pytest.fixture
def portal(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Portal:
    """A portal client whose sandbox clock stands at NOW (1 February 2025)."""
    return make_portal(api, engine, vault_keys)


def ride_points(portal: Portal, member: int) -> int:
    return int(portal.get(f"/v1/members/{member}", role="operator").json()["balances"]["ride"])


def ticket_form(portal: Portal, **fields: str) -> dict[str, str]:
    """The redeem form as a member fills it: G1 on 20 February 2025 at 08:00, ¥30."""
    html = portal.page(REDEEM).text
    hidden = dict(re.findall(r'name="(csrf_token|request_id)" value="([^"]+)"', html))
    typed = {"passenger": "me", "train": "G1", "day": "2025-02-20", "departure_time": "08:00"}
    return {**hidden, **typed, "fare": "30", **fields}


def test_the_price_first_then_one_redemption_however_often_confirmed(portal: Portal) -> None:
    member = portal.member(trips=TRIPS)
    portal.sign_in(member)
    form = ticket_form(portal)

    quote = portal.api.client.post(f"{REDEEM}?lang=en", data=form)
    assert quote.status_code == 200
    assert "This ticket costs 3,000 points" in text_of(quote.text)
    assert ride_points(portal, member) == 4 * RIDE  # nothing held yet

    for _ in range(2):  # a double click
        done = portal.api.client.post(f"{REDEEM}?lang=zh_CN", data={**form, "confirm": "yes"})
        assert done.status_code == 200
        assert 'data-testid="redeemed"' in done.text
    assert ride_points(portal, member) == 4 * RIDE - 3000

    listed = portal.get(f"/v1/members/{member}/redemptions", role="operator").json()["items"]
    assert [(r["points"], r["status"], r["train"]["number"]) for r in listed] == [
        (3000, "held", "G1")
    ]
    assert listed[0]["redemption_id"].startswith(f"m{member}-portal-")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"fare": "thirty"}, "Check the train number, the departure and the fare."),
        ({"fare": "30.005"}, "Check the train number, the departure and the fare."),
        ({"passenger": "someone"}, "Part of what was sent cannot be read."),
        ({"day": "2025-01-20"}, "This train has already left"),
        ({"passenger": "999"}, "We could not find that"),
    ],
)
def test_a_refusal_is_a_sentence_on_the_form(
    portal: Portal, fields: dict[str, str], says: str
) -> None:
    member = portal.member(trips=TRIPS)
    portal.sign_in(member)
    form = ticket_form(portal, **fields)
    refused = portal.api.client.post(f"{REDEEM}?lang=en", data={**form, "confirm": "yes"})
    assert refused.status_code == 400
    assert says in text_of(refused.text)
    assert ride_points(portal, member) == 4 * RIDE


def test_before_ten_thousand_points_the_page_says_when_redemption_opens(portal: Portal) -> None:
    portal.sign_in(portal.member(trips=TRIPS[:1]))
    assert "Redemption opens once your balance has reached 10,000 points" in text_of(
        portal.page(f"{REDEEM}?lang=en").text
    )
    confirmed = {**ticket_form(portal), "confirm": "yes"}
    refused = portal.api.client.post(f"{REDEEM}?lang=zh_CN", data=confirmed)
    assert refused.status_code == 400
    assert "积分余额达到 10,000 分后即可兑换" in refused.text
