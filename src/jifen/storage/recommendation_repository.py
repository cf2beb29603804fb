"""SQL for recommendations: who bought what, items bought together, trips taken and when."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Connection, and_, func, select

from jifen.domain.orders import ENDED
from jifen.domain.recommend import Pair, pair
from jifen.domain.tickets import TicketState
from jifen.storage.tables import mall_orders, mall_products, members, tickets

DEAD_ORDER_STATUSES = tuple(sorted(ENDED))
"""Orders that were undone: they are not behaviour to learn from."""

TRAIN = tickets.c.data[("ticket", "train", "number")].as_string()
"""The train number of a ticket as sold (stored in the ticket's JSON)."""


def _live() -> ColumnElement[bool]:
    return mall_orders.c.status.not_in(DEAD_ORDER_STATUSES)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class RecommendationRepository:
    """Read-only queries over mall orders and travelled tickets."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- members --------------------------------------------------------------------------------
    def member_exists(self, member_id: int) -> bool:
        """Whether there is a member with this id (in any status)."""
        found = select(members.c.id).where(members.c.id == member_id)
        return self.connection.execute(found).first() is not None

    def active_member_ids(self, *, limit: int) -> list[int]:
        """The first `limit` active members, by id."""
        query = (
            select(members.c.id)
            .where(members.c.status == "active")
            .order_by(members.c.id)
            .limit(limit)
        )
        return [int(row.id) for row in self.connection.execute(query)]

    # -- mall -----------------------------------------------------------------------------------
    def member_skus(self, member_id: int) -> set[str]:
        """The skus the member holds a live order of."""
        query = select(mall_orders.c.sku).where(mall_orders.c.member_id == member_id, _live())
        return {row.sku for row in self.connection.execute(query.distinct())}

    def sku_buyers(self) -> dict[str, int]:
        """How many members hold a live order of each sku (one row per product ever sold)."""
        query = select(
            mall_orders.c.sku, func.count(mall_orders.c.member_id.distinct()).label("n")
        ).where(_live())
        return {row.sku: int(row.n) for row in self.connection.execute(query.group_by("sku"))}

    def pairs_with(self, skus: Iterable[str]) -> dict[Pair, int]:
        """For each sku in `skus` and each other sku: how many members hold both (one self-join)."""
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        mine, other = mall_orders.alias("mine"), mall_orders.alias("other")
        query = (
            select(
                mine.c.sku.label("a"),
                other.c.sku.label("b"),
                func.count(mine.c.member_id.distinct()).label("n"),
            )
            .join(other, and_(other.c.member_id == mine.c.member_id, other.c.sku != mine.c.sku))
            .where(
                mine.c.sku.in_(wanted),
                mine.c.status.not_in(DEAD_ORDER_STATUSES),
                other.c.status.not_in(DEAD_ORDER_STATUSES),
            )
            .group_by(mine.c.sku, other.c.sku)
        )
        return {pair(r.a, r.b): int(r.n) for r in self.connection.execute(query)}

    def skus_on_offer(self) -> dict[str, str]:
        """Active products with stock left: sku → name."""
        query = select(mall_products.c.sku, mall_products.c.name).where(
            mall_products.c.active.is_(True), mall_products.c.stock > 0
        )
        return {row.sku: row.name for row in self.connection.execute(query)}

    def first_purchases(self, *, before: datetime) -> list[tuple[int, str, datetime]]:
        """(member, sku, first bought) of every live order before `before`, oldest first."""
        first = func.min(mall_orders.c.created_at).label("first")
        query = (
            select(mall_orders.c.member_id, mall_orders.c.sku, first)
            .where(_live(), mall_orders.c.created_at < before)
            .group_by(mall_orders.c.member_id, mall_orders.c.sku)
        )
        rows = [(int(r.member_id), r.sku, _utc(r.first)) for r in self.connection.execute(query)]
        return sorted(rows, key=lambda row: (row[2], row[0], row[1]))

    # -- trips ----------------------------------------------------------------------------------
    def member_trips(self, member_id: int, *, since: datetime) -> list[tuple[str, datetime]]:
        """(train, departure) of the member's travelled tickets departing from `since` on."""
        query = select(TRAIN.label("train"), tickets.c.departure_at).where(
            tickets.c.member_id == member_id,
            tickets.c.status == TicketState.TRAVELLED,
            tickets.c.departure_at >= since,
        )
        return [
            (row.train, row.departure_at)
            for row in self.connection.execute(query.order_by(tickets.c.departure_at))
            if row.train
        ]

    def trips(self, *, before: datetime) -> list[tuple[int, str, datetime]]:
        """(member, train, departure) of every travelled ticket departing before `before`."""
        query = (
            select(tickets.c.member_id, TRAIN.label("train"), tickets.c.departure_at)
            .where(
                tickets.c.status == TicketState.TRAVELLED,
                tickets.c.member_id.is_not(None),
                tickets.c.departure_at < before,
            )
            .order_by(tickets.c.departure_at, tickets.c.id)
        )
        return [
            (int(r.member_id), r.train, r.departure_at)
            for r in self.connection.execute(query)
            if r.train
        ]

    def departures_by_hour(
        self, *, since: datetime, before: datetime
    ) -> list[tuple[datetime, int]]:
        """Travelled departures counted per UTC hour (the hour's start, aware) in the window."""
        if self.connection.dialect.name == "postgresql":
            bucket = func.date_trunc("hour", func.timezone("UTC", tickets.c.departure_at))
        else:  # SQLite stores the UTC time as text
            bucket = func.strftime("%Y-%m-%d %H:00:00", tickets.c.departure_at)
        query = (
            select(bucket.label("hour"), func.count().label("n"))
            .where(
                tickets.c.status == TicketState.TRAVELLED,
                tickets.c.departure_at >= since,
                tickets.c.departure_at < before,
            )
            .group_by(bucket)
        )
        return [(_hour(row.hour), int(row.n)) for row in self.connection.execute(query)]


def _hour(value: datetime | str) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC)
