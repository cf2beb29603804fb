"""SQL of notifications: the outbox, webhook endpoints, and deliveries with their retries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, String, and_, bindparam, cast, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from jifen.storage.tables import (
    beneficiaries,
    notification_deliveries,
    notifications,
    reminders,
    webhook_endpoints,
)
from jifen.storage.types import UTCDateTime


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A webhook endpoint as stored; the secret stays encrypted."""

    id: int
    url: str
    topics: tuple[str, ...]
    secret_enc: str
    description: str | None
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification to one endpoint, and how its tries went."""

    id: int
    notification_id: int
    endpoint_id: int
    topic: str
    status: str  # pending | delivered | dead
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A claimed delivery with what is needed to send it."""

    delivery_id: int
    attempts: int  # including the try being made
    notification_id: int
    topic: str
    payload: dict[str, Any]
    occurred_at: datetime
    url: str
    secret_enc: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a try went: the delivery's new status, next try, last answer and error."""

    delivery_id: int
    status: str  # pending (to retry) | delivered | dead
    next_attempt_at: datetime
    last_status: int | None
    error: str | None
    delivered_at: datetime | None


class NotificationRepository:
    """Outbox rows, endpoints and deliveries."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    @property
    def _postgres(self) -> bool:
        return self.connection.dialect.name == "postgresql"

    def _insert_ignoring(self, table: Any, elements: list[str]) -> Any:
        dialect = postgresql if self._postgres else sqlite
        return dialect.insert(table).on_conflict_do_nothing(index_elements=elements)

    # -- the outbox ------------------------------------------------------------------------------
    def add_notifications(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert outbox rows (`topic`, `dedupe_key`, `payload`, `occurred_at`); known keys skip."""
        if rows:
            self.connection.execute(self._insert_ignoring(notifications, ["dedupe_key"]), rows)

    def add_expiring(self, *, day: date, at: datetime) -> None:
        """`points.expiring` rows for every reminder queued on `day`, in one set-based insert.

        The key is `points.expiring:{member}:{kind}:{expires_on}`; keys already there are skipped.
        """
        r = reminders.c

        def text_of(value: Any) -> Any:
            return cast(value, String)

        build = func.json_build_object if self._postgres else func.json_object
        payload = build(
            *(text_of(literal("member_id")), r.member_id, text_of(literal("kind")), r.kind),
            *(text_of(literal("points")), r.points),
            *(text_of(literal("expires_on")), text_of(r.expires_on)),
        )
        key = text_of(literal("points.expiring:")) + text_of(r.member_id) + ":" + r.kind
        rows = (
            select(
                text_of(literal("points.expiring")),
                key + ":" + text_of(r.expires_on),
                payload,
                literal(at, UTCDateTime),
            )
            .where(r.queued_on == day)
            .order_by(r.member_id, r.kind, r.expires_on)
        )
        columns = ["topic", "dedupe_key", "payload", "occurred_at"]
        statement = self._insert_ignoring(notifications, ["dedupe_key"])
        self.connection.execute(statement.from_select(columns, rows))

    def beneficiaries_effective_on(self, day: date) -> list[tuple[int, int, str]]:
        """Beneficiaries still named whose wait ends on `day`: `(id, member_id, name)`."""
        b = beneficiaries.c
        query = (
            select(b.id, b.member_id, b.name)
            .where(and_(b.effective_from == day, b.removed_on.is_(None)))
            .order_by(b.id)
        )
        return [tuple(row) for row in self.connection.execute(query)]

    # -- endpoints -------------------------------------------------------------------------------
    def add_endpoint(
        self,
        *,
        url: str,
        topics: Sequence[str],
        secret_enc: str,
        description: str | None,
        at: datetime,
    ) -> int | None:
        """Store an endpoint and return its id; None when the URL is already registered."""
        statement = self._insert_ignoring(webhook_endpoints, ["url"]).values(
            url=url,
            topics=list(topics),
            secret_enc=secret_enc,
            description=description,
            created_at=at,
        )
        result = self.connection.execute(statement.returning(webhook_endpoints.c.id))
        row = result.first()
        return None if row is None else int(row[0])

    def endpoints(self, *, active_only: bool = False) -> list[Endpoint]:
        """Every endpoint, oldest first."""
        query = select(webhook_endpoints).order_by(webhook_endpoints.c.id)
        if active_only:
            query = query.where(webhook_endpoints.c.active)
        return [_endpoint(row) for row in self.connection.execute(query)]

    def get_endpoint(self, endpoint_id: int) -> Endpoint | None:
        """One endpoint, if it exists."""
        query = select(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id)
        row = self.connection.execute(query).first()
        return None if row is None else _endpoint(row)

    # -- fan-out ---------------------------------------------------------------------------------
    def unfanned(self, limit: int) -> list[tuple[int, str]]:
        """Notifications not yet given deliveries: `(id, topic)`, oldest first."""
        n = notifications.c
        query = select(n.id, n.topic).where(n.fanned_out.is_(False)).order_by(n.id).limit(limit)
        return [(int(i), str(t)) for i, t in self.connection.execute(query)]

    def add_deliveries(self, rows: Sequence[dict[str, Any]], fanned: Sequence[int]) -> None:
        """Insert deliveries (a pair already there is kept); mark the notifications fanned out."""
        if rows:
            elements = ["notification_id", "endpoint_id"]
            self.connection.execute(self._insert_ignoring(notification_deliveries, elements), rows)
        if fanned:
            self.connection.execute(
                update(notifications)
                .where(notifications.c.id.in_(list(fanned)))
                .values(fanned_out=True)
            )

    # -- deliveries ------------------------------------------------------------------------------
    def claim_due(self, *, now: datetime, lease_until: datetime, limit: int) -> list[Outgoing]:
        """Take up to `limit` pending deliveries due at `now`, counting the try about to be made.

        Each is leased until `lease_until` (its `next_attempt_at` moves there), so a dispatcher that
        dies mid-send leaves it to be tried again later. On PostgreSQL rows another dispatcher is
        claiming are skipped (`FOR UPDATE SKIP LOCKED`); SQLite serialises writers anyway.
        """
        d = notification_deliveries.c
        due = (
            select(d.id)
            .where(
                and_(
                    d.status == "pending",
                    d.next_attempt_at <= now,
                    d.endpoint_id.in_(
                        select(webhook_endpoints.c.id).where(webhook_endpoints.c.active)
                    ),
                )
            )
            .order_by(d.next_attempt_at, d.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = list(self.connection.execute(due).scalars())
        if not ids:
            return []
        self.connection.execute(
            update(notification_deliveries)
            .where(d.id.in_(ids))
            .values(attempts=d.attempts + 1, next_attempt_at=lease_until)
        )
        n, e = notifications.c, webhook_endpoints.c
        query = (
            select(d.id, d.attempts, n.id, n.topic, n.payload, n.occurred_at, e.url, e.secret_enc)
            .select_from(
                notification_deliveries.join(notifications, n.id == d.notification_id).join(
                    webhook_endpoints, e.id == d.endpoint_id
                )
            )
            .where(d.id.in_(ids))
            .order_by(d.id)
        )
        return [Outgoing(*row) for row in self.connection.execute(query)]

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Write the outcomes of a batch of tries in one statement (one round trip per batch).

        A failure never overwrites a delivery already delivered (by a dispatcher whose lease ran
        out while this one was sending); a success overwrites a failure.
        """
        if not outcomes:
            return
        d = notification_deliveries.c
        statement = (
            update(notification_deliveries)
            .where(and_(d.id == bindparam("b_id"), d.status != "delivered"))
            .values(
                status=bindparam("b_status"),
                next_attempt_at=bindparam("b_next", type_=UTCDateTime),
                last_status=bindparam("b_last_status"),
                last_error=bindparam("b_error"),
                delivered_at=bindparam("b_delivered_at", type_=UTCDateTime),
            )
        )
        self.connection.execute(
            statement,
            [
                {
                    "b_id": o.delivery_id,
                    "b_status": o.status,
                    "b_next": o.next_attempt_at,
                    "b_last_status": o.last_status,
                    "b_error": None if o.error is None else o.error[:500],
                    "b_delivered_at": o.delivered_at,
                }
                for o in outcomes
            ],
        )

    def deliveries(
        self,
        *,
        status: str | None = None,
        endpoint_id: int | None = None,
        limit: int = 100,
        after_id: int = 0,
    ) -> list[Delivery]:
        """Deliveries in id order, filtered by status and endpoint."""
        d, n = notification_deliveries.c, notifications.c
        query = (
            select(
                d.id,
                d.notification_id,
                d.endpoint_id,
                n.topic,
                d.status,
                d.attempts,
                d.next_attempt_at,
                d.last_status,
                d.last_error,
                d.delivered_at,
            )
            .select_from(notification_deliveries.join(notifications, n.id == d.notification_id))
            .where(d.id > after_id)
            .order_by(d.id)
            .limit(limit)
        )
        if status is not None:
            query = query.where(d.status == status)
        if endpoint_id is not None:
            query = query.where(d.endpoint_id == endpoint_id)
        return [Delivery(**row._asdict()) for row in self.connection.execute(query)]

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        """One delivery, if it exists."""
        found = self.deliveries(after_id=delivery_id - 1, limit=1)
        return found[0] if found and found[0].id == delivery_id else None

    def replay(
        self, *, now: datetime, delivery_id: int | None = None, endpoint_id: int | None = None
    ) -> int:
        """Put dead deliveries (one, an endpoint's, or all) back to pending with fresh tries."""
        d = notification_deliveries.c
        statement = update(notification_deliveries).where(d.status == "dead")
        if delivery_id is not None:
            statement = statement.where(d.id == delivery_id)
        if endpoint_id is not None:
            statement = statement.where(d.endpoint_id == endpoint_id)
        result = self.connection.execute(
            statement.values(status="pending", attempts=0, next_attempt_at=now)
        )
        return int(result.rowcount)


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        row.id,
        row.url,
        tuple(row.topics),
        row.secret_enc,
        row.description,
        bool(row.active),
        row.created_at,
    )
