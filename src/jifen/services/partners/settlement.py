"""A partner's monthly settlement: what it awarded, exchanged and reversed, and what it owes."""

from __future__ import annotations

from dataclasses import dataclass

from jifen.domain.errors import NotFound
from jifen.domain.partners import amount_owed_fen, month_bounds
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.partner_repository import SettlementLine

TYPES = ("award", "exchange", "reversal")


@dataclass(frozen=True, slots=True)
class Settlement:
    """One partner's program-local month.

    `net_points` = awards + exchanges − reversals; `amount_fen` is what the partner owes for them
    at its price per 1,000 points, half-up (negative when reversals of earlier months outweigh
    this month's points: a credit to the partner).
    """

    partner: str
    name: str
    month: str
    awards: SettlementLine
    exchanges: SettlementLine
    reversals: SettlementLine
    price_per_1000_points_fen: int

    @property
    def net_points(self) -> int:
        return self.awards.points + self.exchanges.points - self.reversals.points

    @property
    def amount_fen(self) -> int:
        return amount_owed_fen(self.net_points, self.price_per_1000_points_fen)


def settlement(uow: UnitOfWork, *, code: str, month: str) -> Settlement:
    """The settlement of partner `code` for `month` (`YYYY-MM`, days on the program's clock)."""
    start, end = month_bounds(month)
    with uow:
        partners = uow.partners
        partner = partners.get(code)
        if partner is None:
            raise NotFound(f"No partner {code!r}.", partner=code)
        lines = {line.type: line for line in partners.settlement(code, start, end)}
    empty = {t: SettlementLine(t, 0, 0, 0) for t in TYPES}
    found = {**empty, **lines}
    return Settlement(
        partner=code,
        name=partner.name,
        month=month,
        awards=found["award"],
        exchanges=found["exchange"],
        reversals=found["reversal"],
        price_per_1000_points_fen=partner.price_per_1000_points_fen,
    )
