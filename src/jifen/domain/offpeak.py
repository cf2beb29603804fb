"""Off-peak trips: the quiet hours and weekdays, and when a member's usual train next runs in them.

Off-peak is read from the departures themselves (local time): the **peak hours** are the busiest
hours of the day that together carry at least half of all departures; every other hour with a
departure is off-peak. A weekday is off-peak when fewer departures leave on it than on the
average weekday. A route is a train number (tickets carry no stations), and a train runs at its
own time, so a suggestion keeps the member's usual time and moves the day to the next off-peak one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class OffPeak:
    """The quiet hours (0-23) and weekdays (0 = Monday), with the departures they came from."""

    hours: frozenset[int]
    days: frozenset[int]
    hour_counts: Mapping[int, int]
    departures: int

    def share(self, hour: int) -> float:
        """The share of all departures that leave in `hour`."""
        return self.hour_counts.get(hour, 0) / self.departures if self.departures else 0.0


@dataclass(frozen=True, slots=True)
class RouteHabit:
    """How a member uses a route: trips taken, the usual departure time, the latest trip."""

    route: str
    trips: int
    usual: time
    last: datetime


@dataclass(frozen=True, slots=True)
class TripSuggestion:
    """A route to take again, when, and why."""

    route: str
    suggested_departure: datetime
    reason: str


def off_peak(counts: Mapping[tuple[int, int], int]) -> OffPeak:
    """Off-peak hours and days from departures counted by (weekday, hour), local time."""
    hours: Counter[int] = Counter()
    days: Counter[int] = Counter()
    for (weekday, hour), n in counts.items():
        hours[hour] += n
        days[weekday] += n
    total = sum(hours.values())
    peak: set[int] = set()
    carried = 0
    for hour in sorted(hours, key=lambda h: (-hours[h], h)):
        if 2 * carried >= total:
            break
        peak.add(hour)
        carried += hours[hour]
    quiet_days = {d for d in range(7) if 7 * days.get(d, 0) < total}
    return OffPeak(
        hours=frozenset(h for h in hours if hours[h] and h not in peak),
        days=frozenset(quiet_days or range(7)),
        hour_counts=dict(hours),
        departures=total,
    )


def route_habits(trips: Iterable[tuple[str, datetime]], *, k: int) -> list[RouteHabit]:
    """A member's `k` most taken routes from (route, local departure) pairs, most taken first.

    The usual time is the departure time taken most often on the route (the earliest on a tie);
    routes taken equally often are ordered by the latest trip, then by name.
    """
    times: dict[str, Counter[time]] = {}
    last: dict[str, datetime] = {}
    for route, departure in trips:
        times.setdefault(route, Counter())[departure.time().replace(second=0, microsecond=0)] += 1
        last[route] = max(last.get(route, departure), departure)
    habits = [
        RouteHabit(
            route,
            sum(counted.values()),
            min(counted, key=lambda t: (-counted[t], t)),
            last[route],
        )
        for route, counted in times.items()
    ]
    habits.sort(key=lambda h: (-h.trips, -h.last.timestamp(), h.route))
    return habits[:k]


def suggest(habit: RouteHabit, quiet: OffPeak, *, after: date, zone: tzinfo) -> TripSuggestion:
    """The route at its usual time on the first off-peak weekday after `after`, with the reason."""
    day = after + timedelta(days=1)
    while day.weekday() not in quiet.days:
        day += timedelta(days=1)
    hour = habit.usual.hour
    when = datetime.combine(day, habit.usual, tzinfo=zone)
    if hour in quiet.hours:
        timing = f"{hour:02d}:00 is an off-peak hour ({quiet.share(hour):.0%} of departures)"
    else:
        timing = f"{hour:02d}:00 is a peak hour ({quiet.share(hour):.0%} of departures)"
    times = "once" if habit.trips == 1 else f"{habit.trips} times"
    reason = (
        f"You took {habit.route} {times}, usually at {habit.usual:%H:%M}; "
        f"{WEEKDAYS[day.weekday()]} is an off-peak day and {timing}."
    )
    return TripSuggestion(habit.route, when, reason)
