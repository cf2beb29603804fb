"""The daily job for a date: housekeeping, expire lots, tiers, entitlements, reminders and more.

Each step works in chunks that commit on their own, so a crash loses at most one chunk and a
rerun picks up where it stopped; a finished step is recorded with its figures and skipped when
the job runs again for the same date. Running the job twice for a day changes nothing.

The steps are set-based so that a night over a million members fits in minutes: due lots are
expired a chunk at a time through the ledger's one door in a few statements
(`ledger.expire_lots`, the postings `ledger.expire_lot` writes one at a time), the tier
candidates are found in one pass over the lots, and reminders are queued with one
`INSERT … SELECT`. After the tiers, entitlements whose member left their tier lapse and the day's
tier starts and birthdays are issued theirs (`services/entitlements.py`). Housekeeping comes
first (`housekeeping`): tickets no claim can confirm any more are voided as not travelled,
holds whose train has left are released (before expiry, so points released into a lapsed lot
expire the same night). Last, units the mall held for orders
that a crash stopped between their two transactions go back on sale (`stock_holds`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jifen.domain.tiers import TierState, decide_tier, points_to_keep
from jifen.programs.schema import Program
from jifen.programs.tiers import qualifying_window_start, tier_policy
from jifen.services import entitlements, housekeeping, journal, ledger, segments
from jifen.services.analytics import refresh_rollups
from jifen.services.mall.orders import STALE_HOLD, release_stale_holds
from jifen.services.notifications import outbox
from jifen.services.unit_of_work import UnitOfWork

JOB = "daily"
CHUNK = 500
PAGE = 100 * CHUNK  # due lots read per query; each page is expired a chunk per transaction
REMINDER_DAYS = 30
Progress = Callable[[str, int], None]
Step = Callable[[UnitOfWork, Program, date, Progress], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class DailyReport:
    """What the job did for `as_of`: figures per step; `skipped` steps had run before."""

    as_of: date
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: tuple[str, ...] = ()


def run_daily(
    uow: UnitOfWork,
    *,
    program: Program,
    as_of: date,
    progress: Progress | None = None,
    only: str | None = None,
) -> DailyReport:
    """Run every step of the daily job for `as_of` that has not completed yet (or step `only`).

    Unlike the use cases, which take the clock's instant `now`, the job takes a business date:
    `as_of` is the program-local day the operator (or the scheduler, `--as-of`) names, so a
    night can be rerun or caught up whatever the clock says. Each step's completion is journaled
    with it, so `jifen replay` runs the steps in the order they completed among the other commands.
    """
    steps: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    for name, step in STEPS:
        if only is not None and name != only:
            continue
        with uow:
            done = uow.jobs.step_done(job=JOB, as_of=as_of, step=name)
        if done is not None:
            steps[name] = done
            skipped.append(name)
            continue
        figures = step(uow, program, as_of, progress or (lambda _step, _n: None))
        with uow:
            uow.jobs.finish_step(job=JOB, as_of=as_of, step=name, figures=figures)
            journal.record(uow, "daily", at=None, as_of=as_of, step=name)
            uow.commit()
        steps[name] = figures
    return DailyReport(as_of, steps, tuple(skipped))


def expiry_key(lot_id: int, as_of: date) -> str:
    """The idempotency key of the expiry of a lot by the job of `as_of`."""
    return f"expire:{lot_id}:{as_of}"


def _start_of(program: Program, day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(program.timezone))


def _stock_holds(
    uow: UnitOfWork, program: Program, as_of: date, progress: Progress
) -> dict[str, Any]:
    """Put back on sale the units mall orders held and never paid for (a crash in between).

    Holds taken on `as_of` or before, up to a quarter of an hour before its end: the job runs
    just after the day ends, so none of them can still be waiting for its payment.
    """
    end = _start_of(program, as_of + timedelta(days=1))
    released = release_stale_holds(uow, before=end - STALE_HOLD)
    progress("stock_holds", len(released))
    return {"holds_released": len(released), "units_released": sum(h.quantity for h in released)}


def _expire(uow: UnitOfWork, program: Program, as_of: date, progress: Progress) -> dict[str, Any]:
    """Expire every lot whose expiry date has come, a chunk of lots per transaction."""
    kinds = [k.code for k in program.point_kinds if k.spendable]
    at = _start_of(program, as_of)
    memo = {"job": JOB, "as_of": str(as_of)}

    lots = points = 0
    after = 0
    while True:
        with uow:
            page = uow.jobs.due_lots(kinds=kinds, as_of=as_of, after_id=after, limit=PAGE)
        for start in range(0, len(page), CHUNK):
            chunk = page[start : start + CHUNK]
            posted = ledger.expire_lots(
                uow,
                chunk,
                key=lambda lot_id: expiry_key(lot_id, as_of),
                at=at,
                memo=memo,
                skip_spent=True,
            )
            written = [w for w in posted if w is not None and not w.replayed]
            expired, amount = len(written), sum(w.entries[-1].points for w in written)
            lots += expired
            points += amount
            progress("expire", len(chunk))
        if len(page) < PAGE:
            return {"lots_expired": lots, "points_expired": points}
        after = page[-1]


def _tiers(uow: UnitOfWork, program: Program, as_of: date, progress: Progress) -> dict[str, Any]:
    """Upgrade members who qualify and re-assess those whose tier lapsed (保级)."""
    policy = tier_policy(program)
    kinds = [k.code for k in program.point_kinds if k.counts_toward_tiers]
    thresholds = [(level.code, level.threshold) for level in program.tiers.levels]
    since = qualifying_window_start(program, as_of)
    changes: dict[str, int] = {}
    with uow:  # one pass over the lots; a rerun finds only the members not yet decided
        rows = uow.jobs.tier_candidates(
            kinds=kinds, since=since, as_of=as_of, thresholds=thresholds
        )
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        with uow:
            for member_id, code, valid_until, in_grace, points in chunk:
                decision = decide_tier(
                    policy,
                    member_id=member_id,
                    current=TierState(code, valid_until, in_grace),
                    qualifying_points=int(points),
                    as_of=as_of,
                )
                if decision is not None:
                    uow.members.apply_tier(decision)
                    outbox.tier_changed(uow, decision=decision, at=_start_of(program, as_of))
                    changes[str(decision.reason)] = changes.get(str(decision.reason), 0) + 1
            uow.commit()
        progress("tiers", len(chunk))
    return {"window_start": str(since), "changes": changes}


def _tier_reminders(
    uow: UnitOfWork, program: Program, as_of: date, progress: Progress
) -> dict[str, Any]:
    """Tell members whose tier lapses within 30 days how many upgrade points would keep it.

    Once per member and last valid day (`tier.expiring`), in one set-based read and one insert;
    a member whose tier ends sooner than 30 days after it is gained hears on the first run.
    """
    policy = tier_policy(program)
    kinds = [k.code for k in program.point_kinds if k.counts_toward_tiers]
    since = qualifying_window_start(program, as_of)
    with uow:
        rows = uow.jobs.tiers_expiring(
            kinds=kinds, since=since, after=as_of, until=as_of + timedelta(days=REMINDER_DAYS)
        )
        expiring = [
            (
                member,
                code,
                until,
                points,
                points_to_keep(policy, code=code, qualifying_points=points),
            )
            for member, code, until, points in rows
        ]
        outbox.tiers_expiring(uow, expiring=expiring, at=_start_of(program, as_of))
        uow.commit()
    progress("tier_reminders", len(rows))
    return {"tiers_expiring": len(rows)}


def _beneficiaries(
    uow: UnitOfWork, program: Program, as_of: date, progress: Progress
) -> dict[str, Any]:
    """Count the beneficiaries whose wait ends today; each goes in the outbox (nothing to flip)."""
    with uow:
        effective = uow.redemptions.beneficiaries_effective_on(as_of)
        outbox.beneficiaries_effective(uow, day=as_of, at=_start_of(program, as_of))
        uow.commit()
    progress("beneficiaries", effective)
    return {"beneficiaries_effective": effective}


def _reminders(
    uow: UnitOfWork, program: Program, as_of: date, progress: Progress
) -> dict[str, Any]:
    """Queue a reminder for points that expire within the next 30 days (once per lot date)."""
    kinds = [k.code for k in program.point_kinds if k.spendable]
    with uow:
        queued = uow.jobs.queue_reminders(
            kinds=kinds, as_of=as_of, until=as_of + timedelta(days=REMINDER_DAYS)
        )
        outbox.points_expiring(uow, as_of=as_of, at=_start_of(program, as_of))
        uow.commit()
    progress("reminders", queued)
    return {"reminders_queued": queued}


def _analytics(
    uow: UnitOfWork, program: Program, as_of: date, progress: Progress
) -> dict[str, Any]:
    """Fold the night's ledger into the analytics rollups (reports read anything newer live)."""
    done = refresh_rollups(uow, program=program)
    progress("analytics", done.transactions)
    return {"transactions_folded": done.transactions}


STEPS: tuple[tuple[str, Step], ...] = (
    ("no_shows", housekeeping.void_no_shows),
    ("stale_holds", housekeeping.release_stale_holds),
    ("expire", _expire),
    ("tiers", _tiers),
    ("entitlements", entitlements.issue_due),
    ("tier_reminders", _tier_reminders),
    ("reminders", _reminders),
    ("beneficiaries", _beneficiaries),
    ("analytics", _analytics),
    ("segments", segments.score_rfm),
    ("stock_holds", _stock_holds),
)
