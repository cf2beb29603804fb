"""SQL for campaigns (积分加成): definitions, the budget counter, recorded trips and report sums."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from jifen.storage.ledger_repository import KeyTaken
from jifen.storage.tables import campaign_trips, campaigns, ledger_entries, member_segments, members


class CampaignTaken(Exception):
    """A concurrent request created this campaign id first (the UoW is spoilt)."""


@dataclass(frozen=True, slots=True)
class StoredCampaign:
    """A campaign as stored: its definition (JSON), status and the points given so far."""

    id: str
    name: str
    status: str
    starts_at: datetime
    ends_at: datetime
    target: dict[str, Any]
    effect: dict[str, Any]
    control_percent: int
    budget_points: int
    spent_points: int
    request_hash: str
    created_at: datetime
    stopped_at: datetime | None


@dataclass(frozen=True, slots=True)
class Budget:
    """A campaign's budget and what it gave so far, read under the campaign's lock."""

    budget_points: int
    spent_points: int


@dataclass(frozen=True, slots=True)
class CampaignTrip:
    """A targeted trip seen while the campaign ran, in either arm, with the bonus it got."""

    campaign_id: str
    event_id: str
    member_id: int
    arm: str
    fare_fen: int
    base_points: int
    bonus_points: int
    transaction_id: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class ArmTotals:
    """One arm's recorded trips: members seen, trips, fares and bonus points."""

    members: int
    trips: int
    fare_fen: int
    bonus_points: int


def _campaign(row: Any) -> StoredCampaign:
    return StoredCampaign(**row._mapping)


class CampaignRepository:
    """All SQL on `campaigns` and `campaign_trips`."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, campaign_id: str, *, lock: bool = False) -> StoredCampaign | None:
        query = select(campaigns).where(campaigns.c.id == campaign_id)
        if lock:
            query = query.with_for_update()
        row = self.connection.execute(query).first()
        return None if row is None else _campaign(row)

    def all(self) -> list[StoredCampaign]:
        query = select(campaigns).order_by(campaigns.c.starts_at.desc(), campaigns.c.id)
        return [_campaign(row) for row in self.connection.execute(query)]

    def add(self, campaign: StoredCampaign) -> None:
        try:
            with self.connection.begin_nested():
                self.connection.execute(insert(campaigns).values(**asdict(campaign)))
        except IntegrityError as error:
            raise CampaignTaken(campaign.id) from error

    def running_at(self, moment: datetime) -> list[tuple[str, str]]:
        """`(id, request_hash)` of the active campaigns whose window holds `moment`, in id order.

        Id order is the order their budgets lock in; the hash names the (immutable) definition,
        so callers may keep the parsed definition instead of reading its target again.
        """
        query = (
            select(campaigns.c.id, campaigns.c.request_hash)
            .where(
                campaigns.c.status == "active",
                campaigns.c.starts_at <= moment,
                campaigns.c.ends_at > moment,
            )
            .order_by(campaigns.c.id)
        )
        return [(row.id, row.request_hash) for row in self.connection.execute(query)]

    def lock_budget(self, campaign_id: str) -> Budget | None:
        """Lock an active campaign's row until commit and read its budget; None if not active."""
        query = (
            select(campaigns.c.budget_points, campaigns.c.spent_points)
            .where(campaigns.c.id == campaign_id, campaigns.c.status == "active")
            .with_for_update()
        )
        row = self.connection.execute(query).first()
        return None if row is None else Budget(int(row.budget_points), int(row.spent_points))

    def spend(self, campaign_id: str, points: int, *, exhausted: bool) -> None:
        """Add `points` to what the campaign gave (its row is locked by `lock_budget`)."""
        values: dict[str, Any] = {"spent_points": campaigns.c.spent_points + points}
        if exhausted:
            values["status"] = "exhausted"
        self.connection.execute(
            update(campaigns).where(campaigns.c.id == campaign_id).values(**values)
        )

    def set_status(
        self, campaign_id: str, before: str, after: str, *, stopped_at: datetime | None = None
    ) -> None:
        """Move the campaign from status `before` to `after` (stamping `stopped_at` if given)."""
        values: dict[str, Any] = {"status": after}
        if stopped_at is not None:
            values["stopped_at"] = stopped_at
        self.connection.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id, campaigns.c.status == before)
            .values(**values)
        )

    def record_trip(self, trip: CampaignTrip) -> None:
        """Record a targeted trip; `KeyTaken` when a resend of its event got there first."""
        try:
            with self.connection.begin_nested():
                self.connection.execute(insert(campaign_trips).values(**asdict(trip)))
        except IntegrityError as error:
            raise KeyTaken(trip.event_id) from error

    def trips_of(self, campaign_id: str) -> list[CampaignTrip]:
        query = (
            select(*(campaign_trips.c[name] for name in CampaignTrip.__slots__))
            .where(campaign_trips.c.campaign_id == campaign_id)
            .order_by(campaign_trips.c.id)
        )
        return [CampaignTrip(**row._mapping) for row in self.connection.execute(query)]

    def totals(self, campaign_id: str) -> dict[str, ArmTotals]:
        """Per arm: members seen, trips, fares and bonus, summed in the database."""
        t = campaign_trips.c
        query = (
            select(
                t.arm,
                func.count(func.distinct(t.member_id)),
                func.count(),
                func.coalesce(func.sum(t.fare_fen), 0),
                func.coalesce(func.sum(t.bonus_points), 0),
            )
            .where(t.campaign_id == campaign_id)
            .group_by(t.arm)
        )
        return {
            row[0]: ArmTotals(int(row[1]), int(row[2]), int(row[3]), int(row[4]))
            for row in self.connection.execute(query)
        }

    def per_member(self, campaign_id: str) -> dict[int, tuple[int, int]]:
        """Each member with recorded trips: (trips, fares in fen)."""
        t = campaign_trips.c
        query = (
            select(t.member_id, func.count(), func.sum(t.fare_fen))
            .where(t.campaign_id == campaign_id)
            .group_by(t.member_id)
        )
        return {int(m): (int(n), int(fen)) for m, n, fen in self.connection.execute(query)}

    def population(
        self,
        *,
        member_ids: list[int] | None,
        tiers: list[str] | None,
        joined_before: datetime,
        segments: list[str] | None = None,
        batch: int = 5_000,
    ) -> Iterator[int]:
        """Ids of the members a campaign was aimed at (member list, tiers, segments), streamed.

        Segments are as they stand now (an RFM segment is rescored every night).

        A member list is read in chunks of `batch` ids, within every database's parameter limit.
        """
        query = select(members.c.id).where(members.c.joined_at < joined_before)
        if tiers is not None:
            query = query.where(members.c.tier_code.in_(tiers))
        if segments is not None:
            s = member_segments.c
            query = query.where(
                exists().where(and_(s.member_id == members.c.id, s.segment.in_(segments)))
            )
        if member_ids is None:
            result = self.connection.execution_options(yield_per=batch).execute(query)
            yield from (int(member_id) for (member_id,) in result)
            return
        ids = sorted(set(member_ids))
        for start in range(0, len(ids), batch):
            chunk = query.where(members.c.id.in_(ids[start : start + batch]))
            yield from (int(member_id) for (member_id,) in self.connection.execute(chunk))

    def ledger_bonus_total(self, campaign_id: str) -> int:
        """The points the ledger credited to members for the campaign's trips."""
        query = select(func.coalesce(func.sum(ledger_entries.c.points), 0)).where(
            and_(
                ledger_entries.c.transaction_id.in_(
                    select(campaign_trips.c.transaction_id).where(
                        campaign_trips.c.campaign_id == campaign_id
                    )
                ),
                ledger_entries.c.member_id.is_not(None),
            )
        )
        return int(self.connection.execute(query).scalar_one())
