"""Use cases: recommend mall items and off-peak trips to a member, and measure the recommender.

A member's request reads only what it needs (their own items, the co-occurrence counts of those
items, one count per product, their trips of the last year and the departures per hour); an
evaluation reads everyone's history once and builds the model in memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jifen.domain import recommend as rec
from jifen.domain.calendar import local_date
from jifen.domain.errors import JifenError, NotFound
from jifen.domain.offpeak import OffPeak, TripSuggestion, off_peak, route_habits, suggest
from jifen.programs.schema import Program
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.recommendation_repository import RecommendationRepository

HISTORY = timedelta(days=365)
"""How far back trips and departures are read for a member's suggestions."""
MIN_CASES = 10
"""Fewer held-out members than this and a hit rate says nothing."""


class NotEnoughData(JifenError):
    """Too few members with enough history to measure the recommender on."""

    code = "not_enough_data"
    status = 422


@dataclass(frozen=True, slots=True)
class MallPick:
    """A recommended product."""

    sku: str
    name: str
    score: float


@dataclass(frozen=True, slots=True)
class Recommendations:
    """What to show a member: products to buy and trips to take off-peak."""

    mall: list[MallPick]
    trips: list[TripSuggestion]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Hit rate@k of the model and of the popularity baseline on the same held-out cases."""

    model: rec.HitRate
    baseline: rec.HitRate
    members: int
    items: int

    @property
    def beats_baseline(self) -> bool:
        """Whether the model put strictly more held-out items in its top k."""
        return self.model.hits > self.baseline.hits


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Hit rates for mall items and for trips, as of a day."""

    as_of: date
    mall: Comparison
    trips: Comparison


def recommend_for_member(
    uow: UnitOfWork,
    *,
    program: Program,
    member_id: int,
    now: datetime,
    limit: int,
    quiet: OffPeak | None = None,
) -> Recommendations:
    """Up to `limit` products (not already bought, on offer) and `limit` off-peak trips.

    `NotFound` for an unknown member. `now` is an aware datetime; trips of the year before it
    are the member's habits, and suggestions fall on days after it. `quiet` is the off-peak
    profile (`off_peak_profile`) when the caller keeps one; otherwise it is read here.
    """
    zone = ZoneInfo(program.timezone)
    with uow:
        repo = uow.recommendations
        if not repo.member_exists(member_id):
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        owned = repo.member_skus(member_id)
        on_offer = repo.skus_on_offer()
        ranked = rec.similar_items(
            owned,
            pairs=repo.pairs_with(owned),
            counts={sku: n for sku, n in repo.sku_buyers().items() if sku in on_offer},
            k=limit,
            allowed=on_offer,
        )
        trips = repo.member_trips(member_id, since=now - HISTORY)
        if quiet is None:
            quiet = _off_peak(repo, zone=zone, now=now)
    habits = route_habits(((t, d.astimezone(zone)) for t, d in trips), k=limit)
    today = now.astimezone(zone).date()
    return Recommendations(
        mall=[MallPick(s.item, on_offer[s.item], s.score) for s in ranked],
        trips=[suggest(h, quiet, after=today, zone=zone) for h in habits],
    )


def off_peak_profile(uow: UnitOfWork, *, program: Program, now: datetime) -> OffPeak:
    """The off-peak hours and days of the year of departures before `now` (one scan of tickets).

    It changes slowly, so the API keeps one per worker and day rather than reading it per request.
    """
    with uow:
        return _off_peak(uow.recommendations, zone=ZoneInfo(program.timezone), now=now)


class DailyOffPeak:
    """The off-peak profile kept for one program-local day: the API keeps one per worker."""

    def __init__(self) -> None:
        self._kept: tuple[date, OffPeak] | None = None

    def profile(self, uow: UnitOfWork, *, program: Program, now: datetime) -> OffPeak:
        """The profile as of the program-local day of `now`, read again when that day changes."""
        day = local_date(now, program.timezone)
        kept = self._kept
        if kept is None or kept[0] != day:
            kept = (day, off_peak_profile(uow, program=program, now=now))
            self._kept = kept
        return kept[1]


def _off_peak(repo: RecommendationRepository, *, zone: ZoneInfo, now: datetime) -> OffPeak:
    counts: Counter[tuple[int, int]] = Counter()
    for hour, n in repo.departures_by_hour(since=now - HISTORY, before=now):
        local = hour.astimezone(zone)
        counts[local.weekday(), local.hour] += n
    return off_peak(counts)


def evaluate(
    uow: UnitOfWork, *, program: Program, as_of: date | None, now: datetime, k: int
) -> Evaluation:
    """Leave-last-out hit rate@k on the data up to the end of `as_of` (program time zone).

    `as_of` is a day the operator chose (`--as-of`), not the clock's; without one it is the
    program-local day of the instant `now`.

    Mall: each member's most recent newly bought product is held out and the model sees
    everything else; it and the baseline (the most popular products) leave out what the member
    holds. Trips: see `evaluate_trips`. Raises `NotEnoughData` when fewer than `MIN_CASES`
    members can be held out of the mall.
    """
    if as_of is None:
        as_of = local_date(now, program.timezone)
    with uow:
        repo = uow.recommendations
        purchases = repo.first_purchases(before=_end_of(as_of, program))
    mall = _evaluate_mall(purchases, k=k)
    if mall.model.cases < MIN_CASES:
        raise NotEnoughData(
            f"Only {mall.model.cases} member(s) bought two or more products by {as_of}; at "
            f"least {MIN_CASES} are needed to measure hit rate. Place more orders (for a demo: "
            "`jifen recommend demo-orders`) or pick a later --as-of.",
            cases=mall.model.cases,
            needed=MIN_CASES,
        )
    return Evaluation(as_of, mall, evaluate_trips(uow, program=program, as_of=as_of, k=k))


def evaluate_trips(uow: UnitOfWork, *, program: Program, as_of: date, k: int) -> Comparison:
    """Leave-last-out hit rate@k of trips taken up to the end of `as_of` (program time zone).

    Each member's last trip is held out; the model ranks the member's own routes by use, then
    fills with popular ones; the baseline is the trains most members took.
    """
    with uow:
        trips = uow.recommendations.trips(before=_end_of(as_of, program))
    return _evaluate_trips(trips, k=k)


def _end_of(day: date, program: Program) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(program.timezone))


def _evaluate_mall(purchases: Sequence[tuple[int, str, datetime]], *, k: int) -> Comparison:
    timelines: dict[int, list[str]] = {}
    for member_id, sku, _ in purchases:  # oldest first, so each timeline is in buying order
        timelines.setdefault(member_id, []).append(sku)
    cases = rec.leave_last_out(timelines)
    seen = rec.without(timelines, cases).values()
    counts, pairs = rec.popularity(seen), rec.co_occurrence(seen)

    def model(case: rec.Holdout) -> list[rec.Scored]:
        return rec.similar_items(case.history, pairs=pairs, counts=counts, k=k)

    def baseline(case: rec.Holdout) -> list[rec.Scored]:
        return rec.most_popular(counts, k=k, exclude=case.history)

    return _compare(cases, model, baseline, k=k, members=len(timelines), items=len(purchases))


def _evaluate_trips(trips: Sequence[tuple[int, str, datetime]], *, k: int) -> Comparison:
    taken: dict[int, list[tuple[str, datetime]]] = {}
    for member_id, train, departure in trips:  # in departure order
        taken.setdefault(member_id, []).append((train, departure))
    earlier = {m: rides[:-1] if len(rides) >= 2 else rides for m, rides in taken.items()}
    cases = [
        rec.Holdout(m, frozenset(t for t, _ in earlier[m]), rides[-1][0])
        for m, rides in sorted(taken.items())
        if len(rides) >= 2
    ]
    counts = rec.popularity([t for t, _ in rides] for rides in earlier.values())

    def model(case: rec.Holdout) -> list[rec.Scored]:
        own = [rec.Scored(h.route, h.trips) for h in route_habits(earlier[case.member_id], k=k)]
        fill = rec.most_popular(counts, k=k - len(own), exclude=[s.item for s in own])
        return own + fill

    def baseline(case: rec.Holdout) -> list[rec.Scored]:
        return rec.most_popular(counts, k=k)

    return _compare(cases, model, baseline, k=k, members=len(taken), items=len(trips))


def _compare(
    cases: list[rec.Holdout],
    model: Callable[[rec.Holdout], Sequence[rec.Scored]],
    baseline: Callable[[rec.Holdout], Sequence[rec.Scored]],
    *,
    k: int,
    members: int,
    items: int,
) -> Comparison:
    return Comparison(
        model=rec.hit_rate(cases, model, k=k),
        baseline=rec.hit_rate(cases, baseline, k=k),
        members=members,
        items=items,
    )
