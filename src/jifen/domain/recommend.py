"""Recommendations from behaviour: popularity, item co-occurrence, hit rate on held-out data.

Everything here is pure: histories come in as sets of item codes per member (a mall sku, a train
number), and ranked lists come out. The same functions serve one member's request (with the
co-occurrence counts of that member's items only) and an evaluation run over everyone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

Pair = tuple[str, str]
"""Two items, in sorted order."""


@dataclass(frozen=True, slots=True)
class Scored:
    """An item and how strongly it is recommended (higher first)."""

    item: str
    score: float


@dataclass(frozen=True, slots=True)
class Holdout:
    """One evaluation case: what the member had done, and the next thing they did."""

    member_id: int
    history: frozenset[str]
    held_out: str


@dataclass(frozen=True, slots=True)
class HitRate:
    """How many held-out items the recommender put in its top `k`."""

    k: int
    hits: int
    cases: int

    @property
    def rate(self) -> float:
        """Hits / cases (0 when there is no case)."""
        return self.hits / self.cases if self.cases else 0.0


def pair(a: str, b: str) -> Pair:
    """The key of two items in a co-occurrence table."""
    return (a, b) if a <= b else (b, a)


def popularity(histories: Iterable[Iterable[str]]) -> Counter[str]:
    """How many histories hold each item (a member who bought it twice counts once)."""
    counts: Counter[str] = Counter()
    for history in histories:
        counts.update(set(history))
    return counts


def co_occurrence(histories: Iterable[Iterable[str]]) -> Counter[Pair]:
    """How many histories hold both items of each pair."""
    counts: Counter[Pair] = Counter()
    for history in histories:
        counts.update(combinations(sorted(set(history)), 2))
    return counts


def most_popular(
    counts: Mapping[str, int], *, k: int, exclude: Iterable[str] = (), allowed: Iterable[str] = ()
) -> list[Scored]:
    """The `k` items held by most members, ties by item code; `allowed` empty means any item."""
    skip, keep = set(exclude), set(allowed)
    ranked = sorted(
        (item for item in counts if item not in skip and (not keep or item in keep)),
        key=lambda item: (-counts[item], item),
    )
    return [Scored(item, float(counts[item])) for item in ranked[:k]]


def similar_items(
    owned: Iterable[str],
    *,
    pairs: Mapping[Pair, int],
    counts: Mapping[str, int],
    k: int,
    allowed: Iterable[str] = (),
) -> list[Scored]:
    """Item-based collaborative filtering: what members who hold the same items also hold.

    The score of a candidate `j` is the sum over the member's items `i` of the cosine
    `both(i, j) / sqrt(count(i) * count(j))`: co-occurring helps, and being popular with
    everyone is divided out, so a bestseller does not win merely by being everywhere. Items the
    member already holds are left out. When fewer than `k` items co-occur, the rest of the list
    is filled with the most popular items (scored 0) so the member always gets `k` when there are.
    `pairs` need only hold the pairs that include one of the member's items.
    """
    mine, keep = set(owned), set(allowed)
    scores: dict[str, float] = {}
    for (a, b), both in pairs.items():
        for have, other in ((a, b), (b, a)):
            if have in mine and other not in mine and (not keep or other in keep):
                norm = math.sqrt(counts.get(have, 0) * counts.get(other, 0)) or 1.0
                scores[other] = scores.get(other, 0.0) + both / norm
    ranked = sorted(scores, key=lambda item: (-scores[item], item))[:k]
    chosen = [Scored(item, round(scores[item], 6)) for item in ranked]
    fill = most_popular(counts, k=k - len(chosen), exclude=mine | set(ranked), allowed=keep)
    return chosen + [Scored(s.item, 0.0) for s in fill]


def leave_last_out(timelines: Mapping[int, Sequence[str]]) -> list[Holdout]:
    """Hold out each member's most recent new item; the items before it are the history.

    A timeline is a member's items in the order first bought (or, for trips, taken). Members
    with fewer than two items give no case: with nothing before it, nothing can be predicted.
    """
    return [
        Holdout(member_id, frozenset(items[:-1]), items[-1])
        for member_id, items in sorted(timelines.items())
        if len(items) >= 2
    ]


def hit_rate(
    cases: Iterable[Holdout], recommend: Callable[[Holdout], Sequence[Scored]], *, k: int
) -> HitRate:
    """The share of cases whose held-out item is among the first `k` recommended."""
    hits = total = 0
    for case in cases:
        total += 1
        top = {scored.item for scored in recommend(case)[:k]}
        hits += case.held_out in top
    return HitRate(k, hits, total)


def without(
    histories: Mapping[int, Iterable[str]], cases: Iterable[Holdout]
) -> dict[int, set[str]]:
    """Each member's history with their held-out item taken away (the training data)."""
    held = {case.member_id: case.held_out for case in cases}
    return {
        member_id: {item for item in items if item != held.get(member_id)}
        for member_id, items in histories.items()
    }
