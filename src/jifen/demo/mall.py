"""Seeded demo mall: products in taste groups, and orders by members who each lean to one group.

Every member gets a hidden taste (tea, digital, baby, outdoor or snacks) and buys mostly from it,
sometimes a bestseller everyone buys. So what a member bought says something about what they will
buy next beyond what is popular overall, which is what the recommender has to find. Orders go
through the real mall order service, paid from points granted first as a credit, so stock,
ledger and balances stay exact; every write has a fixed key, so a second run changes nothing.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from jifen.domain.errors import InvalidRequest, JifenError
from jifen.programs.schema import Program
from jifen.services.grants import grant_points
from jifen.services.mall.orders import place_order
from jifen.services.mall.products import define_product
from jifen.services.mall.warehouse import InProcessWarehouse
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.mall_repository import Product

GROUPS = {
    "TEA": ("龙井茶", "碧螺春", "普洱茶饼", "铁观音", "白茶", "茶具套装", "紫砂壶", "茶盘"),
    "DIGITAL": ("蓝牙耳机", "移动电源", "数据线", "智能手环", "平板支架", "键盘", "鼠标", "音箱"),
    "BABY": ("婴儿湿巾", "奶瓶", "儿童水杯", "积木", "绘本", "童车挂件", "围兜", "安抚玩具"),
    "OUTDOOR": ("登山杖", "帐篷", "睡袋", "头灯", "冲锋衣", "水壶", "背包", "防晒帽"),
    "SNACKS": ("牛肉干", "坚果礼盒", "月饼", "桂花糕", "果干", "麻花", "酥饼", "蜜饯"),
}
BESTSELLERS = ("旅行颈枕", "保温杯", "雨伞", "眼罩")
TASTE_SHARE = 0.7
"""The share of a member's orders that come from their own taste group."""


@dataclass(frozen=True, slots=True)
class DemoOrders:
    """What a run did: products created, members who ordered, orders placed or already there."""

    products: int
    members: int
    placed: int
    replayed: int
    refused: Counter[str]


def catalogue() -> list[Product]:
    """The demo products: eight per taste group and the bestsellers, large stock, no limits."""
    rows = [
        (f"DM-{g}-{i + 1:02d}", name) for g, names in GROUPS.items() for i, name in enumerate(names)
    ]
    rows += [(f"DM-BEST-{i + 1:02d}", name) for i, name in enumerate(BESTSELLERS)]
    return [
        Product(sku, name, "goods", 100 + 50 * (sum(map(ord, sku)) % 20), 0, 1_000_000, None,
                None, None, None, True)
        for sku, name in rows
    ]  # fmt: skip


def basket(rng: random.Random, *, orders: int) -> list[str]:
    """A member's skus in buying order: their taste group mostly, a bestseller now and then.

    Within a group the first product is the most wanted (weights 1, 1/2, 1/3 …), so there is a
    popularity signal too. A product already bought is not bought again.
    """
    group = rng.choice(sorted(GROUPS))
    own = [f"DM-{group}-{i + 1:02d}" for i in range(len(GROUPS[group]))]
    best = [f"DM-BEST-{i + 1:02d}" for i in range(len(BESTSELLERS))]
    chosen: list[str] = []
    while len(chosen) < orders:
        pool = own if rng.random() < TASTE_SHARE else best
        left = [sku for sku in pool if sku not in chosen]
        if not left:
            continue
        weights = [1 / (pool.index(sku) + 1) for sku in left]
        chosen.append(rng.choices(left, weights=weights)[0])
    return chosen


def place_demo_orders(
    uow: UnitOfWork, *, program: Program, members: int, seed: int, start: date, end: date
) -> DemoOrders:
    """Up to `members` active members (lowest ids first) each buy 3-7 demo products.

    Each member is first credited the points their orders cost (key `demo-mall:<seed>:<member>`,
    of the program's first mall kind); orders are `demo-mall-<seed>-<member>-<n>`, placed at
    seeded times between `start` and `end`. A refused order is counted and the run goes on.
    """
    if not program.redemption.mall_kinds:
        raise InvalidRequest("The program has no mall point kinds, so nothing can be bought.")
    created = _define_catalogue(uow)
    prices = {product.sku: product.price_points for product in catalogue()}
    with uow:
        ids = uow.recommendations.active_member_ids(limit=members)
    placed = replayed = 0
    refused: Counter[str] = Counter()
    for member_id in ids:
        rng = random.Random(f"jifen-demo-mall:{seed}:{member_id}")  # noqa: S311 - demo data
        skus = basket(rng, orders=rng.randint(3, 7))
        times = _order_times(rng, count=len(skus), start=start, end=end, zone=program.timezone)
        try:
            points = sum(prices[sku] for sku in skus)
            _grant(
                uow, program=program, seed=seed, member_id=member_id, points=points, first=times[0]
            )
        except JifenError as error:
            refused[error.code] += len(skus)
            continue
        for n, (sku, now) in enumerate(zip(skus, times, strict=True), start=1):
            try:
                result = place_order(
                    uow, program=program, warehouse=InProcessWarehouse(),
                    order_id=f"demo-mall-{seed}-{member_id}-{n}", member_id=member_id,
                    sku=sku, quantity=1, now=now,
                )  # fmt: skip
            except JifenError as error:
                refused[error.code] += 1
                continue
            replayed += result.replayed
            placed += not result.replayed
    return DemoOrders(created, len(ids), placed, replayed, refused)


def _define_catalogue(uow: UnitOfWork) -> int:
    """Define the demo products not there yet (a rerun never resets the stock); how many."""
    created = 0
    for product in catalogue():
        with uow:
            exists = uow.mall.get_product(product.sku) is not None
        if not exists:
            created += define_product(uow, product=product)[1]
    return created


def _order_times(
    rng: random.Random, *, count: int, start: date, end: date, zone: str
) -> list[datetime]:
    """`count` distinct moments between 08:00 on `start` and 22:00 on `end`, in order."""
    first = datetime(start.year, start.month, start.day, 8, tzinfo=ZoneInfo(zone))
    days = (end - start).days + 1
    minutes = sorted(rng.sample(range(days * 14 * 60), count))
    return [first + timedelta(days=m // (14 * 60), minutes=m % (14 * 60)) for m in minutes]


def _grant(
    uow: UnitOfWork, *, program: Program, seed: int, member_id: int, points: int, first: datetime
) -> None:
    grant_points(
        uow,
        key=f"demo-mall:{seed}:{member_id}",
        member_id=member_id,
        kind=program.redemption.mall_kinds[0],
        points=points,
        occurred_at=first - timedelta(minutes=1),
        expires_on=None,
        memo={"demo_mall": seed},
    )
