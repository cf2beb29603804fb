"""SQL for partners: their terms, what they award or exchange, monthly counters and settlement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from jifen.storage.rows import from_row, to_row
from jifen.storage.tables import partner_months, partner_operations, partners


class OperationTaken(Exception):
    """A concurrent request stored the same partner operation id first."""


@dataclass(frozen=True, slots=True)
class PartnerRecord:
    """A partner's terms as stored; `exchange_miles` is None when it has no miles exchange."""

    code: str
    name: str
    point_kind: str
    max_points_per_award: int
    max_points_per_member_day: int
    max_points_per_month: int
    exchange_miles: int | None
    exchange_points: int | None
    min_miles: int
    price_per_1000_points_fen: int
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OperationRecord:
    """One award, exchange or reversal a partner made, with the ledger transaction behind it."""

    partner_code: str
    op_id: str
    type: str
    member_id: int
    points: int
    miles: int | None
    reason: str | None
    reverses_op_id: str | None
    request_hash: str
    transaction_id: int
    day: date
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SettlementLine:
    """Operations of one type in a period: how many, their points and miles."""

    type: str
    count: int
    points: int
    miles: int


class PartnerRepository:
    """Reads and writes partners and their operations."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- partners ---------------------------------------------------------------------------------
    def add(self, partner: PartnerRecord) -> bool:
        """Store a new partner; False when a concurrent request took the code first."""
        try:
            self.connection.execute(insert(partners).values(**_fields(partner)))
        except IntegrityError:
            return False  # the transaction is spoilt: the caller rolls back
        return True

    def get(self, code: str) -> PartnerRecord | None:
        """A partner by code."""
        row = self.connection.execute(select(partners).where(partners.c.code == code)).first()
        return None if row is None else PartnerRecord(**row._asdict())

    def all(self) -> list[PartnerRecord]:
        """Every partner, by code."""
        rows = self.connection.execute(select(partners).order_by(partners.c.code))
        return [PartnerRecord(**r._asdict()) for r in rows]

    def set_status(self, code: str, status: str) -> None:
        """Make a partner active or suspended."""
        self.connection.execute(
            update(partners).where(partners.c.code == code).values(status=status)
        )

    # -- the monthly counter ---------------------------------------------------------------------
    def take_month_room(self, code: str, month: str, points: int, cap: int) -> bool:
        """Add `points` to the partner's month if it stays within `cap`; False otherwise.

        The conditional update holds the counter row until commit, so concurrent awards of one
        partner queue here and the cap holds; other partners never wait.
        """
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        self.connection.execute(
            dialect.insert(partner_months)
            .values(partner_code=code, month=month, points=0)
            .on_conflict_do_nothing(index_elements=["partner_code", "month"])
        )
        c = partner_months.c
        result = self.connection.execute(
            update(partner_months)
            .where(and_(c.partner_code == code, c.month == month, c.points + points <= cap))
            .values(points=c.points + points)
        )
        return result.rowcount == 1

    def month_points(self, code: str, month: str) -> int:
        """Points counted against the partner's monthly cap so far."""
        c = partner_months.c
        query = select(c.points).where(and_(c.partner_code == code, c.month == month))
        return int(self.connection.execute(query).scalar_one_or_none() or 0)

    # -- operations ------------------------------------------------------------------------------
    def get_operation(self, code: str, op_id: str) -> OperationRecord | None:
        """An operation by the partner's id for it."""
        c = partner_operations.c
        query = select(partner_operations).where(and_(c.partner_code == code, c.op_id == op_id))
        row = self.connection.execute(query).first()
        return None if row is None else from_row(OperationRecord, row)

    def reversal_of(self, code: str, op_id: str) -> OperationRecord | None:
        """The reversal of an operation, if it was reversed."""
        c = partner_operations.c
        query = select(partner_operations).where(
            and_(c.partner_code == code, c.reverses_op_id == op_id)
        )
        row = self.connection.execute(query).first()
        return None if row is None else from_row(OperationRecord, row)

    def add_operation(self, record: OperationRecord) -> None:
        """Store an operation; `OperationTaken` when its id is already used for the partner."""
        values = to_row(record)
        try:
            self.connection.execute(insert(partner_operations).values(**values))
        except IntegrityError as error:
            raise OperationTaken(record.op_id) from error

    def member_day_points(self, code: str, member_id: int, day: date) -> int:
        """Points the partner credited (awards and exchanges) to the member on `day`."""
        c = partner_operations.c
        query = select(func.coalesce(func.sum(c.points), 0)).where(
            and_(
                c.member_id == member_id,
                c.day == day,
                c.partner_code == code,
                c.type.in_(("award", "exchange")),
            )
        )
        return int(self.connection.execute(query).scalar_one())

    def settlement(self, code: str, start: date, end: date) -> list[SettlementLine]:
        """Per type, the partner's operations on days in [start, end): one grouped query."""
        c = partner_operations.c
        query = (
            select(
                c.type,
                func.count(),
                func.coalesce(func.sum(c.points), 0),
                func.coalesce(func.sum(c.miles), 0),
            )
            .where(and_(c.partner_code == code, c.day >= start, c.day < end))
            .group_by(c.type)
        )
        return [
            SettlementLine(type_, int(n), int(points), int(miles))
            for type_, n, points, miles in self.connection.execute(query)
        ]


def _fields(partner: PartnerRecord) -> dict[str, object]:
    return {k: getattr(partner, k) for k in PartnerRecord.__slots__}
