"""Seeded, streaming demo trips for the railway preset: members' travel events in time order."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, NamedTuple

from jifen.demo.people import SHANGHAI, DemoMember

_DAY = 1440  # minutes; times inside the simulation are minutes since 0001-01-01, Shanghai time
_FIRST_BUY, _LAST_BUY = 7 * 60, 23 * 60  # tickets are bought between 07:00 and 23:00
_LONGEST_LEAD = 20  # days between purchase and departure
_CLOCK = tuple(f"T{minute // 60:02d}:{minute % 60:02d}:00+08:00" for minute in range(1440))

_SPRING_FESTIVAL = {
    2020: date(2020, 1, 25), 2021: date(2021, 2, 12), 2022: date(2022, 2, 1),
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26),
    2029: date(2029, 2, 13), 2030: date(2030, 2, 3),
}  # fmt: skip
_INTERNATIONAL_TRAINS = ("K3", "K19", "K23", "Z97", "D887")
_MINUTES_PER_YUAN = {"G": 0.55, "D": 0.8, "K": 2.4, "T": 2.0, "Z": 1.6, "Y": 1.5}


class _Train(NamedTuple):
    number: str
    participating: bool
    international: bool
    tourist: bool


class _Ticket(NamedTuple):
    ticket_id: str
    rider: DemoMember
    fare_fen: int
    ticket_type: str
    payment: str
    issue: str
    train: _Train
    departure: int
    arrival: int


class _Commute(NamedTuple):
    outbound: _Train
    inbound: _Train
    fare_fen: int
    duration: int
    leaves_at: int  # minute of the day
    returns_at: int
    lead_days: int  # a commuter buys the same number of days ahead every time


class _Rider(NamedTuple):
    member: DemoMember
    joined: int  # the first whole minute after joining


class _Habit(NamedTuple):
    peak_rate: float  # journeys a day at the busiest time; candidates are drawn at this rate
    round_trip: float
    fare_yuan: tuple[int, int]


_HABITS = {
    "occasional": _Habit(peak_rate=0.8 / 30 * 3, round_trip=0.65, fare_yuan=(150, 900)),
    "senior": _Habit(peak_rate=0.9 / 30 * 3, round_trip=0.8, fare_yuan=(100, 600)),
    "student": _Habit(peak_rate=0.07, round_trip=0.2, fare_yuan=(80, 500)),
}
_ACTIVITY_RATE = 2 / 30
_ACTIVITY_POINTS = (10, 20, 30, 50, 100, 200)


def events(
    members: Iterable[DemoMember], *, seed: int, start: date, end: date
) -> Iterator[dict[str, Any]]:
    """SPEC §12 events for `members` from `start` to `end` (both included), in time order.

    The world starts empty on `start`: every travel, refund or change refers to a ticket
    purchased earlier in the stream. Members are read as the days reach their joining, so give
    them in joining order (as `members` yields them). Memory holds the members met so far and
    the trips in flight, never the stream.
    """
    if end < start:
        msg = f"The period cannot end ({end}) before it starts ({start})."
        raise ValueError(msg)
    return _simulate(iter(members), seed=seed, start=start, end=end)


def _simulate(
    members: Iterator[DemoMember], *, seed: int, start: date, end: date
) -> Iterator[dict[str, Any]]:
    railway = _Railway(seed=seed, end=end)
    waiting = next(members, None)
    for day in range(start.toordinal(), end.toordinal() + 1):
        while waiting is not None and _minute(waiting.joined_at) < (day + 1) * _DAY:
            railway.admit(waiting, day=day)
            waiting = next(members, None)
        railway.plan(day)
        yield from railway.drain(day)


def _minute(moment: datetime) -> int:
    local = moment.astimezone(SHANGHAI)
    return local.toordinal() * _DAY + local.hour * 60 + local.minute


class _Railway:
    """The simulation: riders, the trips each day brings, and a time-ordered queue of events.

    Every event planned on a day happens on or after that day, so once a day is planned all
    events before its end are final and leave the queue.
    """

    def __init__(self, *, seed: int, end: date) -> None:
        self._rng = random.Random(f"jifen-demo-events:{seed}")  # noqa: S311 - demo data
        self._seed = seed
        self._last = (end.toordinal() + 1) * _DAY - 1
        self._queue: dict[int, list[tuple[int, int, str, Any, Any]]] = {}  # by day
        self._queued = self._emitted = self._tickets = 0
        self._commuters: list[tuple[_Rider, _Commute]] = []
        self._journeys: dict[int, list[_Rider]] = {}
        self._activities: dict[int, list[_Rider]] = {}
        self._dates: dict[int, str] = {}

    def admit(self, member: DemoMember, *, day: int) -> None:
        """Start simulating `member`, who joined on or before `day`."""
        rng = self._rng
        rider = _Rider(member, _minute(member.joined_at) + 1)
        if member.profile == "commuter":
            self._commuters.append((rider, _commute(rng)))
        else:
            self._schedule(self._journeys, rider, day - 1, _HABITS[member.profile].peak_rate)
        if rng.random() < 0.01:
            self._schedule(self._activities, rider, day - 1, _ACTIVITY_RATE)

    def plan(self, day: int) -> None:
        """Sell the tickets bought on `day`, with whatever becomes of them, and the activities."""
        for rider, route in self._commuters:
            self._commute(rider, route, day)
        for rider in self._journeys.pop(day, ()):
            self._journey(rider, day)
            self._schedule(self._journeys, rider, day, _HABITS[rider.member.profile].peak_rate)
        for rider in self._activities.pop(day, ()):
            self._activity(rider, day)
            self._schedule(self._activities, rider, day, _ACTIVITY_RATE)

    def drain(self, day: int) -> Iterator[dict[str, Any]]:
        """The events of `day`, in time order; call once `day` is planned."""
        for minute, _, kind, subject, extra in sorted(self._queue.pop(day, ())):
            yield self._event(minute, kind, subject, extra)

    def _schedule(
        self, book: dict[int, list[_Rider]], rider: _Rider, day: int, rate: float
    ) -> None:
        gap = 1 + int(math.log(1.0 - self._rng.random()) / math.log(1.0 - rate))
        if (day + gap) * _DAY <= self._last:
            book.setdefault(day + gap, []).append(rider)

    def _push(self, minute: int, kind: str, subject: Any, extra: Any = None) -> None:
        if minute <= self._last:  # events after the period are never yielded, so never kept
            entry = (minute, self._queued, kind, subject, extra)
            self._queue.setdefault(minute // _DAY, []).append(entry)
            self._queued += 1

    def _ticket_id(self) -> str:
        self._tickets += 1
        return f"T{self._seed}{self._tickets:010d}"

    def _purchase_minute(self, rider: _Rider, day: int) -> int | None:
        earliest = max(day * _DAY + _FIRST_BUY, rider.joined)
        latest = day * _DAY + _LAST_BUY
        return _between(self._rng, earliest, latest) if earliest <= latest else None

    def _commute(self, rider: _Rider, route: _Commute, day: int) -> None:
        """Buy today the tickets out and back for the workday `lead_days` ahead, most weeks."""
        travel_day = day + route.lead_days
        if not _is_workday(date.fromordinal(travel_day)) or self._rng.random() >= 0.85:
            return
        bought = self._purchase_minute(rider, day)
        if bought is None:
            return
        fare = (route.fare_fen, "adult")
        for offset, train, leaves in (
            (0, route.outbound, route.leaves_at),
            (1, route.inbound, route.returns_at),
        ):
            departure = travel_day * _DAY + leaves
            ticket = self._new_ticket(
                rider, train, fare, departure=departure, duration=route.duration
            )
            self._sell(ticket, bought + offset)

    def _journey(self, rider: _Rider, day: int) -> None:
        """Perhaps buy today a long-distance ticket, often with the way back, 1-20 days ahead."""
        rng, profile = self._rng, rider.member.profile
        habit = _HABITS[profile]
        travel_day = day + 1 + int((_LONGEST_LEAD - 1) * rng.random() ** 2)
        # Thinning: candidates come at the peak rate; the season decides which become journeys.
        if rng.random() * habit.peak_rate >= _journey_rate(profile, date.fromordinal(travel_day)):
            return
        bought = self._purchase_minute(rider, day)
        if bought is None:
            return
        train = _train(rng)
        yuan = rng.uniform(*habit.fare_yuan)
        duration = min(48 * 60, max(30, int(yuan * _MINUTES_PER_YUAN[train.number[0]])))
        student = profile == "student" and rng.random() < 0.85
        # Fares are whole 5 jiao; a student ticket costs 75%.
        fare = (int(yuan * (1.5 if student else 2.0)) * 50, "student" if student else "adult")
        departure = travel_day * _DAY + _between(rng, 72, 257) * 5  # 06:00-21:25
        ticket = self._new_ticket(rider, train, fare, departure=departure, duration=duration)
        self._sell(ticket, bought)
        if rng.random() < habit.round_trip:
            back = train._replace(number=_return_number(train.number))
            departure += _between(rng, 1, 10) * _DAY + _between(rng, -36, 35) * 5
            ticket = self._new_ticket(rider, back, fare, departure=departure, duration=duration)
            self._sell(ticket, bought + 1)

    def _new_ticket(
        self, rider: _Rider, train: _Train, fare: tuple[int, str], *, departure: int, duration: int
    ) -> _Ticket:
        """A ticket at `fare` (fen, ticket type); a few are paid in points or issued unusually."""
        rng = self._rng
        payment = "points" if rng.random() < 0.03 else "cash"
        roll = rng.random()
        issue = "substitute" if roll < 0.005 else "on_board" if roll < 0.01 else "normal"
        fare_fen, ticket_type = fare
        return _Ticket(
            self._ticket_id(), rider.member, fare_fen, ticket_type, payment, issue, train,
            departure, departure + duration,
        )  # fmt: skip

    def _sell(self, ticket: _Ticket, bought: int) -> None:
        """Queue the purchase and what becomes of the ticket: refund, change, travel or a claim."""
        rng = self._rng
        if ticket.issue == "on_board":  # bought from the conductor once the train has left
            bought = ticket.departure + _between(rng, 5, 40)
        self._push(bought, "ticket.purchased", ticket)
        roll = rng.random()
        if ticket.issue != "normal" or ticket.departure - bought < 2 or roll >= 0.09:
            self._travel(ticket)
        elif roll < 0.04:
            self._push(_between(rng, bought + 1, ticket.departure - 1), "ticket.refunded", ticket)
        else:
            self._change(ticket, bought)

    def _change(self, ticket: _Ticket, bought: int) -> None:
        rng = self._rng
        changed = _between(rng, bought + 1, ticket.departure - 1)
        departure = max(ticket.departure + _between(rng, -72, 432) * 10, changed + 60)
        fare_fen = max(500, int(ticket.fare_fen * rng.uniform(0.8, 1.25)) // 50 * 50)
        new = ticket._replace(
            ticket_id=self._ticket_id(),
            fare_fen=fare_fen,
            departure=departure,
            arrival=departure + ticket.arrival - ticket.departure,
        )
        self._push(changed, "ticket.changed", ticket, new)
        self._travel(new)

    def _travel(self, ticket: _Ticket) -> None:
        rng = self._rng
        if rng.random() < 0.01:  # the railway never reports it; the member claims it (补登)
            claimed = ticket.departure + _between(rng, 5, 120) * _DAY + _between(rng, 0, _DAY - 1)
            self._push(claimed, "claim", ticket)
            return
        late = _between(rng, 1, 120) if rng.random() < 0.7 else _between(rng, 121, 3 * _DAY)
        self._push(ticket.arrival + late, "ticket.travelled", ticket)

    def _activity(self, rider: _Rider, day: int) -> None:
        rng = self._rng
        earliest, latest = max(day * _DAY + 8 * 60, rider.joined), (day + 1) * _DAY - 1
        if earliest <= latest:
            done = (
                "survey" if rng.random() < 0.5 else "green_travel",
                rng.choice(_ACTIVITY_POINTS),
            )
            self._push(_between(rng, earliest, latest), "activity.completed", rider.member, done)

    def _event(self, minute: int, kind: str, subject: Any, extra: Any) -> dict[str, Any]:
        """The SPEC §12 event for a queue entry; ids count up in stream order."""
        data: dict[str, Any]
        if kind in {"ticket.purchased", "claim"}:
            data = self._ticket_data(subject)
        elif kind == "ticket.changed":
            data = {
                "ticket_id": subject.ticket_id,
                "new_ticket_id": extra.ticket_id,
                "fare_fen": extra.fare_fen,
                "departure_at": self._iso(extra.departure),
                "arrival_at": self._iso(extra.arrival),
            }
        elif kind == "activity.completed":
            data = {"passenger": _passenger(subject), "activity": extra[0], "points": extra[1]}
        else:
            data = {"ticket_id": subject.ticket_id}
        self._emitted += 1
        return {
            "id": f"{self._seed}-{self._emitted}",
            "type": "ticket.travelled" if kind == "claim" else kind,
            "occurred_at": self._iso(minute),
            "data": data,
        }

    def _ticket_data(self, ticket: _Ticket) -> dict[str, Any]:
        train = ticket.train
        return {
            "ticket_id": ticket.ticket_id,
            "passenger": _passenger(ticket.rider),
            "fare_fen": ticket.fare_fen,
            "ticket_type": ticket.ticket_type,
            "real_name": True,
            "payment": ticket.payment,
            "issue": ticket.issue,
            "train": {
                "number": train.number,
                "participating": train.participating,
                "international": train.international,
                "tourist": train.tourist,
            },
            "departure_at": self._iso(ticket.departure),
            "arrival_at": self._iso(ticket.arrival),
        }

    def _iso(self, minute: int) -> str:
        day, rest = divmod(minute, _DAY)
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = date.fromordinal(day).isoformat()
        return text + _CLOCK[rest]


def _commute(rng: random.Random) -> _Commute:
    """A fixed intercity route: a morning train out, an evening train back, a fixed fare."""
    letter = rng.choice("CCGGD")
    number = rng.randrange(2001, 2999, 2) if letter == "C" else rng.randrange(2, 9998, 2)
    participating = rng.random() >= 0.02
    yuan = rng.randint(40, 160) / 2
    return _Commute(
        outbound=_Train(f"{letter}{number}", participating, False, False),
        inbound=_Train(f"{letter}{number + 1}", participating, False, False),
        fare_fen=int(yuan * 100),
        duration=int(yuan * 0.6) + 10,
        leaves_at=rng.randrange(78, 103) * 5,  # 06:30-08:30
        returns_at=rng.randrange(204, 235) * 5,  # 17:00-19:30
        lead_days=rng.choice((1, 1, 1, 2, 2, 3)),
    )


def _train(rng: random.Random) -> _Train:
    """A long-distance train; a few are tourist, international or outside the program."""
    participating = rng.random() >= 0.02
    roll = rng.random()
    if roll < 0.005:
        return _Train(rng.choice(_INTERNATIONAL_TRAINS), participating, True, False)
    if roll < 0.015:
        return _Train(f"Y{rng.randint(1, 999)}", participating, False, True)
    letter = "GGGGGDDDKKKTZ"[_between(rng, 0, 12)]
    limit = 9999 if letter in "GDK" else 399
    return _Train(f"{letter}{_between(rng, 1, limit)}", participating, False, False)


def _return_number(number: str) -> str:
    """The train the other way: odd and even numbers run in opposite directions."""
    if number in _INTERNATIONAL_TRAINS:
        return number
    digits = int(number[1:])
    return f"{number[0]}{digits + 1 if digits % 2 else digits - 1}"


def _passenger(member: DemoMember) -> dict[str, str]:
    """The rider's real-name identity: member ids are the server's, so events name the person."""
    return {"id_type": member.id_type, "id_number": member.id_number}


def _between(rng: random.Random, low: int, high: int) -> int:
    """A whole number from `low` to `high`, both included; much faster than `randint`."""
    return low + int(rng.random() * (high - low + 1))


def _spring_festival(year: int) -> date:
    return _SPRING_FESTIVAL.get(year, date(year, 2, 1))


def _journey_rate(profile: str, day: date) -> float:
    """Journeys a day a rider of `profile` starts on `day`, seasons included."""
    if profile == "student":
        return _student_rate(day)
    return _HABITS[profile].peak_rate / 3 * _season(day)


def _season(day: date) -> float:
    """How much busier than usual a day is: 春运, the October and May holidays, summer, weekends."""
    offset = (day - _spring_festival(day.year)).days
    if -8 <= offset <= -1 or 3 <= offset <= 7:
        return 3.0
    if -15 <= offset <= 24:
        return 1.8
    month_day = (day.month, day.day)
    if (9, 30) <= month_day <= (10, 7):
        return 2.5
    if (4, 30) <= month_day <= (5, 5):
        return 1.8
    if (7, 10) <= month_day <= (8, 25):
        return 1.3
    return 1.2 if day.weekday() in {4, 6} else 1.0


def _student_rate(day: date) -> float:
    """Students go home as the winter and summer holidays start and come back as they end."""
    offset = (day - _spring_festival(day.year)).days
    month_day = (day.month, day.day)
    if -25 <= offset <= -10 or 10 <= offset <= 25:
        return 0.07
    if (7, 1) <= month_day <= (7, 15) or (8, 22) <= month_day <= (9, 5):
        return 0.07
    if (9, 30) <= month_day <= (10, 7) or (4, 29) <= month_day <= (5, 5):
        return 0.05
    return 0.006


def _is_workday(day: date) -> bool:
    if day.weekday() >= 5:
        return False
    if -1 <= (day - _spring_festival(day.year)).days <= 6:
        return False
    month_day = (day.month, day.day)
    return not (
        month_day == (1, 1)
        or (4, 4) <= month_day <= (4, 6)
        or (5, 1) <= month_day <= (5, 5)
        or (10, 1) <= month_day <= (10, 7)
    )


def write_jsonl(path: Path, items: Iterable[dict[str, Any]]) -> int:
    """Write `items` to `path` as JSON Lines (UTF-8, Chinese kept readable); return how many."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
            out.write("\n")
            count += 1
    return count
