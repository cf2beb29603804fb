"""Recommendations from real orders and trips, on SQLite and PostgreSQL, and through the API."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from jifen.demo.mall import place_demo_orders
from jifen.domain.errors import NotFound
from jifen.services.ledger import credit
from jifen.services.mall import InProcessWarehouse, define_product, place_order
from jifen.services.recommendations import (
    NotEnoughData,
    evaluate,
    evaluate_trips,
    recommend_for_member,
)
from jifen.storage.mall_repository import Product
from tests.conftest import SHANGHAI
from tests.integration.services.test_events import Railway, at

NOW = datetime(2025, 11, 20, 10, tzinfo=SHANGHAI)  # a Thursday
HISTORIES = [  # member n + 1 buys these (the unit tests compute the same case by hand)
    ["tea", "pot", "kettle"],
    ["tea", "pot"],
    ["tea", "cup"],
    ["phone", "cable"],
    ["phone", "cable"],
    ["phone", "cable", "umbrella"],
    ["umbrella"],
    ["umbrella"],
]


def product(sku: str, *, stock: int = 100, active: bool = True) -> Product:
    return Product(sku, f"the {sku}", "goods", 10, 0, stock, None, None, None, None, active)


def buy(uow, railway, member_id: int, sku: str, n: int) -> None:
    """Give the member the points an order costs, then place it through the mall."""
    moment = datetime(2025, 11, 1 + n, 12, tzinfo=SHANGHAI)
    key = f"grant-{member_id}-{sku}"
    credit(uow, key=key, member_id=member_id, kind="activity", points=10, occurred_at=moment,
           expires_on=None)  # fmt: skip
    place_order(uow, program=railway, warehouse=InProcessWarehouse(), order_id=f"o-{key}",
                member_id=member_id, sku=sku, quantity=1, now=moment)  # fmt: skip


@pytest.fixture
def rail(uow, railway, vault) -> Railway:
    return Railway(uow, railway, vault)


@pytest.fixture
def shop(uow, railway, new_member) -> list[int]:
    """Eight members who bought HISTORIES; the kettle sold out, a toaster is off sale."""
    for sku in ("tea", "pot", "cup", "phone", "cable", "umbrella"):
        define_product(uow, product=product(sku))
    define_product(uow, product=product("kettle", stock=1))
    define_product(uow, product=product("toaster", active=False))
    members = [new_member() for _ in HISTORIES]
    for member_id, skus in zip(members, HISTORIES, strict=True):
        for n, sku in enumerate(skus):
            buy(uow, railway, member_id, sku, n)
    return members


class TestMallRecommendations:
    def test_recommends_what_buyers_of_the_same_items_bought_and_only_what_is_on_offer(
        self, uow, railway, shop
    ):
        found = recommend_for_member(uow, program=railway, member_id=shop[2], now=NOW, limit=3)
        # The third member holds tea and cup. pot: 2 buyers with tea / sqrt(3 tea * 2 pot) =
        # 0.816497; the sold-out kettle (with tea once) is left out; then the most popular.
        assert [(m.sku, m.name, m.score) for m in found.mall] == [
            ("pot", "the pot", 0.816497),
            ("cable", "the cable", 0.0),
            ("phone", "the phone", 0.0),
        ]

    def test_a_member_without_orders_gets_the_most_popular_items(
        self, uow, railway, shop, new_member
    ):
        newcomer = new_member()
        found = recommend_for_member(uow, program=railway, member_id=newcomer, now=NOW, limit=4)
        assert [m.sku for m in found.mall] == ["cable", "phone", "tea", "umbrella"]  # 3 buyers each
        assert found.trips == []

    def test_an_unknown_member_is_not_found(self, uow, railway):
        with pytest.raises(NotFound):
            recommend_for_member(uow, program=railway, member_id=999, now=NOW, limit=3)


class TestEvaluation:
    def test_the_model_beats_popularity_on_members_with_tastes_and_spends_points_exactly(
        self, uow, railway, new_member
    ):
        members = [new_member() for _ in range(60)]
        run = {"members": 100, "seed": 11, "start": date(2025, 9, 1), "end": date(2025, 11, 30)}
        first = place_demo_orders(uow, program=railway, **run)
        assert (first.products, first.members, first.refused) == (44, 60, {})
        result = evaluate(uow, program=railway, as_of=date(2025, 11, 30), now=NOW, k=10)
        assert result.mall.model.cases == 60  # everyone bought at least 3 different products
        assert result.mall.items == first.placed
        assert result.mall.model.rate >= result.mall.baseline.rate + 0.25
        assert result.mall.beats_baseline
        with uow:  # each member was granted exactly what their orders cost
            assert {uow.ledger.balances_of(m)[0].available for m in members} == {0}
        again = place_demo_orders(uow, program=railway, **run)
        assert (again.products, again.placed, again.replayed) == (0, 0, first.placed)

    def test_too_few_buyers_is_refused_with_the_counts(self, uow, railway, shop):
        with pytest.raises(NotEnoughData) as refused:
            evaluate(uow, program=railway, as_of=date(2025, 11, 30), now=NOW, k=10)
        assert refused.value.details == {"cases": 6, "needed": 10}

    def test_trips_model_ranks_a_members_own_routes_first(self, uow, railway, rail, enrol_member):
        a, b, c, d = (enrol_member(date(1980 + n, 1, 1)) for n in range(4))
        for member_id, train, day in [
            (a, "G1", 3), (a, "G1", 10), (a, "G1", 17), (b, "D5", 4), (b, "G7", 11),
            (c, "G1", 5), (d, "D5", 6), (d, "D5", 12),
        ]:  # fmt: skip
            rail.trip(
                member_id, f"T{member_id}-{day}", at(date(2025, 11, day)), train={"number": train}
            )
        trips = evaluate_trips(uow, program=railway, as_of=date(2025, 11, 30), k=1)
        # Held out: a's G1, b's G7, d's D5. Own routes first: a → G1 (hit), b → D5, d → D5 (hit).
        # Popular (G1 and D5 each with 2 members before the held-out trips; D5 first by name): d.
        assert (trips.model.cases, trips.model.hits, trips.baseline.hits) == (3, 2, 1)
        assert (trips.members, trips.items) == (4, 8)


class TestApi:
    def test_an_operator_gets_mall_items_and_off_peak_trips(self, api, rail, shop, enrol_member):
        rider = enrol_member()
        for day, hour, train in [(3, 8, "G1"), (10, 8, "G1"), (17, 8, "G1"), (17, 14, "D5")]:
            rail.trip(
                rider, f"T{day}-{hour}", at(date(2025, 11, day), hour), train={"number": train}
            )
        assert api.post("/v1/clock", {"now": NOW.isoformat()}).status_code == 200
        response = api.get(f"/v1/members/{shop[2]}/recommendations?limit=2", role="operator")
        assert response.status_code == 200, response.text
        assert response.json() == {
            "mall": [
                {"sku": "pot", "name": "the pot", "score": 0.816497},
                {"sku": "cable", "name": "the cable", "score": 0.0},
            ],
            "trips": [],
        }
        trips = api.get(f"/v1/members/{rider}/recommendations", role="operator").json()["trips"]
        # Departures: 3 at 08:00, 1 at 14:00, all on Mondays. 08:00 alone carries half, so it is
        # the peak hour; every day but Monday is quiet, so after Thursday the 20th: Friday.
        assert [(t["route"], t["suggested_departure"]) for t in trips] == [
            ("G1", "2025-11-21T08:00:00+08:00"),
            ("D5", "2025-11-21T14:00:00+08:00"),
        ]
        assert trips[0]["reason"] == (
            "You took G1 3 times, usually at 08:00; Friday is an off-peak day and 08:00 is a "
            "peak hour (75% of departures)."
        )
        assert "14:00 is an off-peak hour (25% of departures)" in trips[1]["reason"]

    def test_only_operators_and_admins_and_only_for_members(self, api, shop):
        path = f"/v1/members/{shop[0]}/recommendations"
        assert api.get(path, role="admin").status_code == 200
        assert api.get(path, role="integrator").status_code == 403
        missing = api.get("/v1/members/999/recommendations", role="operator")
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
        assert api.get(f"{path}?limit=0").json()["error"]["code"] == "validation_error"
