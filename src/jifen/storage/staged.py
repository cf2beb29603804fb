"""A unit of work held in memory for one batch of events: reads what was loaded, stages writes.

The bulk path (`services/events/batch.py`) loads what a batch of events can read in a few
set-based queries (`BatchRepository.load`), runs the ordinary event handlers against this unit
of work, then writes what they staged in one go (`BatchRepository.write`). Each event's writes
are undone when its handler does not commit, exactly as a database transaction per event would
be rolled back. A read of something that was not loaded raises `NeedsDatabase`: the caller then
applies the batch one event at a time instead.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import TracebackType
from typing import Any, Self

from jifen.domain.errors import NotFound
from jifen.domain.ledger import Lot
from jifen.domain.postings import PendingItem, Posted, Posting
from jifen.storage.campaign_repository import Budget, CampaignTrip, StoredCampaign
from jifen.storage.event_repository import StoredEvent, TicketRecord
from jifen.storage.journal_repository import JournalEntry
from jifen.storage.ledger_repository import Balance, KeyTaken, Reserved, StoredTransaction
from jifen.storage.ledger_rows import lot_legs, member_moves, opened_table, posting_rows
from jifen.storage.member_repository import MemberRecord
from jifen.storage.program_repository import RedemptionUnlock

_MISSING = object()
ID_TABLES = ("ledger_transactions", "lots", "pending_points")


class NeedsDatabase(Exception):
    """The batch asked for something it did not load; apply it one event at a time instead."""


@dataclass(slots=True)
class Loaded:
    """What a batch read before its events ran; `asked` says which absent keys were looked for."""

    events: dict[str, StoredEvent]
    tickets: dict[str, TicketRecord]
    members: dict[int, MemberRecord]
    member_by_hash: dict[str, int]
    unlocked_on: dict[int, date | None]
    balances: dict[tuple[int, str], Balance]
    pending: dict[int, PendingItem]
    earnings: dict[int, list[tuple[str, date, int]]]  # member: (rule, day, points) since the day
    earnings_since: date
    campaign_windows: list[tuple[datetime, datetime]]  # active campaigns: [starts, ends)
    asked_events: frozenset[str]
    asked_tickets: frozenset[str]
    asked_members: frozenset[int]
    asked_hashes: frozenset[str]
    redemption_unlock: RedemptionUnlock | None = None  # the active program's
    segments: dict[int, frozenset[str]] = field(default_factory=dict)  # of the members loaded


@dataclass(slots=True)
class Staged:
    """The batch's writes so far; every change goes through `put`/`append` so it can be undone."""

    loaded: Loaded
    ids: dict[str, deque[int]]  # reserved ids per table, taken from the front
    events: list[StoredEvent] = field(default_factory=list)
    tickets: dict[str, bool] = field(default_factory=dict)  # changed ticket: existed before?
    reserved: Reserved = field(default_factory=Reserved)  # the postings, for the ledger to write
    by_key: dict[str, int] = field(default_factory=dict)  # idempotency key → index in reserved
    lots: dict[int, tuple[int, int]] = field(default_factory=dict)  # new lot: remaining, original
    earnings: list[dict[str, Any]] = field(default_factory=list)
    unlocked: dict[int, date] = field(default_factory=dict)
    notifications: list[dict[str, Any]] = field(default_factory=list)  # outbox rows
    journal: list[JournalEntry] = field(default_factory=list)
    _undo: list[tuple[Any, Any, Any]] = field(default_factory=list)

    def put(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        self._undo.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def append(self, rows: list[Any], row: Any) -> None:
        self._undo.append((rows, None, len(rows)))
        rows.append(row)

    def take_id(self, table: str) -> int:
        """The next reserved id of `table`; `NeedsDatabase` when the reservation is used up."""
        reserved = self.ids[table]
        if not reserved:
            raise NeedsDatabase(f"more {table} ids than reserved")
        value = reserved.popleft()
        self._undo.append((reserved, None, value))
        return value

    def keep(self) -> None:
        """The current event committed: its writes stay."""
        self._undo.clear()

    def drop(self) -> None:
        """The current event failed: undo its writes, newest first."""
        for target, key, old in reversed(self._undo):
            if isinstance(target, deque):
                target.appendleft(old)  # an id given back
            elif isinstance(target, list):
                del target[old:]
            elif old is _MISSING:
                del target[key]
            else:
                target[key] = old
        self._undo.clear()


def _require(asked: frozenset[Any], key: Any) -> None:
    if key not in asked:
        raise NeedsDatabase(f"{key!r} was not loaded")


class StagedMembers:
    """The members the batch's events name, by id or identity hash."""

    def __init__(self, staged: Staged) -> None:
        self.loaded = staged.loaded

    def get(self, member_id: int) -> MemberRecord | None:
        if member_id not in self.loaded.members:
            _require(self.loaded.asked_members, member_id)
        return self.loaded.members.get(member_id)

    def find_by_identity(self, id_hash: str) -> MemberRecord | None:
        _require(self.loaded.asked_hashes, id_hash)
        member_id = self.loaded.member_by_hash.get(id_hash)
        return None if member_id is None else self.loaded.members[member_id]


class StagedEvents:
    """Events, tickets and earnings: the loaded rows and what this batch added."""

    def __init__(self, staged: Staged) -> None:
        self.staged = staged
        self.loaded = staged.loaded

    def get(self, event_id: str) -> StoredEvent | None:
        _require(self.loaded.asked_events, event_id)
        return self.loaded.events.get(event_id)

    def add(self, event: StoredEvent) -> None:
        if event.id in self.loaded.events:
            raise KeyTaken(event.id)
        self.staged.put(self.loaded.events, event.id, event)
        self.staged.append(self.staged.events, event)

    def ticket(self, ticket_id: str) -> TicketRecord | None:
        _require(self.loaded.asked_tickets, ticket_id)
        return self.loaded.tickets.get(ticket_id)

    def save_ticket(self, ticket: TicketRecord, *, was: str | None) -> None:
        current = self.ticket(ticket.id)
        if (current is None) != (was is None) or (current and current.status != was):
            raise KeyTaken(ticket.id)
        if ticket.id not in self.staged.tickets:
            self.staged.put(self.staged.tickets, ticket.id, current is not None)
        self.staged.put(self.loaded.tickets, ticket.id, ticket)

    def add_earnings(
        self, *, member_id: int, day: date, event_id: str, by_rule: Mapping[str, int]
    ) -> None:
        rows = self.loaded.earnings.setdefault(member_id, [])
        for rule, points in by_rule.items():
            if not points:
                continue
            self.staged.append(rows, (rule, day, points))
            row = {
                "member_id": member_id,
                "rule_code": rule,
                "day": day,
                "points": points,
                "event_id": event_id,
            }
            self.staged.append(self.staged.earnings, row)

    def earned(self, *, member_id: int, since: date, until: date) -> dict[str, int]:
        if since < self.loaded.earnings_since:
            raise NeedsDatabase(f"earnings since {since}")
        _require(self.loaded.asked_members, member_id)
        totals: dict[str, int] = {}
        for rule, day, points in self.loaded.earnings.get(member_id, ()):
            if since <= day <= until:
                totals[rule] = totals.get(rule, 0) + points
        return totals

    def spent_budgets(self, rule_codes: Iterable[str], *, lock: bool = False) -> dict[str, int]:
        raise NeedsDatabase(f"budgeted rules {sorted(rule_codes)} apply: their rows are locks")

    def spend_budgets(self, by_rule: Mapping[str, int]) -> None:
        raise NeedsDatabase(f"budgets of {sorted(by_rule)} change: their rows are locks")


class _Unlocked:
    """The loaded members whose redemption is open, asked one at a time."""

    def __init__(self, unlocked_on: dict[int, date | None]) -> None:
        self.unlocked_on = unlocked_on

    def __contains__(self, member_id: object) -> bool:
        return isinstance(member_id, int) and self.unlocked_on.get(member_id) is not None


class StagedLedger:
    """The door's storage in memory: postings written with reserved ids, balances moved here."""

    def __init__(self, staged: Staged) -> None:
        self.staged = staged
        self.loaded = staged.loaded

    def member_exists(self, member_id: int) -> bool:
        _require(self.loaded.asked_members, member_id)
        return member_id in self.loaded.members

    def find_by_key(self, key: str) -> StoredTransaction | None:
        index = self.staged.by_key.get(key)
        if index is None:
            return None  # a key taken in the database fails the batch's write; it then falls back
        row = self.staged.reserved.headers[index]
        posted = self.staged.reserved.posted[index]
        return StoredTransaction(
            row["id"],
            key,
            row["request_hash"],
            row["type"],
            row["member_id"],
            row["occurred_at"],
            row["reverses_id"],
            row["memo"],
            posted.entries,
        )

    def find_by_keys(self, keys: Sequence[str]) -> dict[str, StoredTransaction]:
        taken = [key for key in keys if key in self.staged.by_key]
        return {key: stored for key in taken if (stored := self.find_by_key(key)) is not None}

    def lock_balance(self, member_id: int, kind: str) -> Balance:
        _require(self.loaded.asked_members, member_id)
        if member_id not in self.loaded.members:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        balance = self.loaded.balances.get((member_id, kind))
        if balance is None:
            balance = Balance(member_id, kind, 0, 0, 0)
            self.staged.put(self.loaded.balances, (member_id, kind), balance)
            self.staged.append(self.staged.reserved.new_balances, (member_id, kind))
        return balance

    def lock_balances(self, owners: Sequence[tuple[int, str]]) -> None:
        for owner in owners:
            self.lock_balance(*owner)

    @property
    def unlocked(self) -> _Unlocked:
        return _Unlocked(self.loaded.unlocked_on)

    def open_lots(self, member_id: int, kind: str) -> list[Lot]:
        raise NeedsDatabase(f"lots of member {member_id} were not loaded")

    def get_lot(self, lot_id: int) -> Lot | None:
        raise NeedsDatabase(f"lot {lot_id} was not loaded")

    def get_transaction(self, transaction_id: int) -> StoredTransaction | None:
        raise NeedsDatabase(f"transaction {transaction_id} was not loaded")

    def get_pending(self, pending_id: int) -> PendingItem | None:
        pending = self.loaded.pending.get(pending_id)
        if pending is None:
            raise NeedsDatabase(f"pending points {pending_id} were not loaded")
        return pending

    def write(self, postings: Sequence[Posting]) -> list[Posted]:
        return [self._write(p) for p in postings]

    def _write(self, posting: Posting) -> Posted:
        staged, reserved = self.staged, self.staged.reserved
        if posting.key in staged.by_key:
            raise KeyTaken(posting.key)
        transaction_id = staged.take_id("ledger_transactions")
        table = opened_table(posting)
        opened_id = None if table is None else staged.take_id(table)
        header, row, posted = posting_rows(posting, transaction_id, opened_id)
        if row is not None and table == "lots":
            staged.append(reserved.lots, row)
            staged.put(staged.lots, row["id"], (row["remaining"], row["original"]))
        elif row is not None:
            staged.append(reserved.pending, row)
            item = PendingItem(
                row["id"], row["member_id"], row["kind"], row["points"], "open", row["reference"]
            )
            staged.put(self.loaded.pending, row["id"], item)
        self._project(posting, posted)
        staged.put(staged.by_key, posting.key, len(reserved.headers))
        staged.append(reserved.headers, header)
        staged.append(reserved.postings, posting)
        staged.append(reserved.posted, posted)
        return posted

    def _project(self, posting: Posting, posted: Posted) -> None:
        """Move the balances, lots and pending items held in memory as the writes will."""
        balances = self.loaded.balances
        for owner, (available, pending) in member_moves(posting).items():
            was = balances[owner]
            now = Balance(*owner, was.available + available, was.pending + pending, was.version + 1)
            if now.available < 0 or now.pending < 0:
                raise NeedsDatabase("a balance would go negative")
            self.staged.put(balances, owner, now)
        for lot_id, points in lot_legs(posting, posted):
            remaining, original = self.staged.lots.get(lot_id, (None, 0))
            if remaining is None:
                raise NeedsDatabase(f"lot {lot_id} was not loaded")
            if not 0 <= remaining + points <= original:
                raise NeedsDatabase(f"lot {lot_id} would leave its range")
            self.staged.put(self.staged.lots, lot_id, (remaining + points, original))
        if posting.settles is not None:
            pending_id, status = posting.settles
            item = self.loaded.pending[pending_id]
            settled = PendingItem(
                item.id, item.member_id, item.kind, item.points, status, item.reference
            )
            self.staged.put(self.loaded.pending, pending_id, settled)


class StagedStatements:
    """The one statement the event path makes: the day redemption opens."""

    def __init__(self, staged: Staged) -> None:
        self.staged = staged
        self.loaded = staged.loaded

    def unlock_redemptions(
        self, unlocks: Sequence[tuple[int, date, int]], *, kinds: Sequence[str]
    ) -> None:
        for member_id, on, threshold in unlocks:
            self._unlock(member_id, kinds=kinds, threshold=threshold, on=on)

    def spendable(self, member_id: int, kinds: Sequence[str]) -> int:
        _require(self.loaded.asked_members, member_id)
        balances = self.loaded.balances
        return sum(balances[(member_id, k)].available for k in kinds if (member_id, k) in balances)

    def _unlock(self, member_id: int, *, kinds: Sequence[str], threshold: int, on: date) -> None:
        _require(self.loaded.asked_members, member_id)
        if self.loaded.unlocked_on.get(member_id) is not None:
            return
        if self.spendable(member_id, kinds) >= threshold:
            self.staged.put(self.loaded.unlocked_on, member_id, on)
            self.staged.put(self.staged.unlocked, member_id, on)


class StagedSegments:
    """The segments of the batch's members, as loaded."""

    def __init__(self, staged: Staged) -> None:
        self.loaded = staged.loaded

    def names(self, member_id: int) -> frozenset[str]:
        _require(self.loaded.asked_members, member_id)
        return self.loaded.segments.get(member_id, frozenset())


class StagedPrograms:
    """The active program's redemption threshold, read when the batch was loaded."""

    def __init__(self, staged: Staged) -> None:
        self.loaded = staged.loaded

    def redemption_unlock(self) -> RedemptionUnlock | None:
        return self.loaded.redemption_unlock


class StagedCampaigns:
    """Campaigns: a batch whose trips fall in an active campaign is applied one at a time."""

    def __init__(self, staged: Staged) -> None:
        self.loaded = staged.loaded

    def running_at(self, moment: datetime) -> list[tuple[str, str]]:
        if any(starts <= moment < ends for starts, ends in self.loaded.campaign_windows):
            raise NeedsDatabase("a campaign is running")
        return []

    def get(self, campaign_id: str, *, lock: bool = False) -> StoredCampaign | None:
        raise NeedsDatabase(f"campaign {campaign_id} was not loaded")

    def lock_budget(self, campaign_id: str) -> Budget | None:
        raise NeedsDatabase(f"the budget of campaign {campaign_id} is a lock")

    def spend(self, campaign_id: str, points: int, *, exhausted: bool) -> None:
        raise NeedsDatabase(f"the budget of campaign {campaign_id} is a lock")

    def record_trip(self, trip: CampaignTrip) -> None:
        raise NeedsDatabase(f"campaign {trip.campaign_id} records its trips in the database")


class StagedNotifications:
    """Outbox rows the batch's postings write, inserted with the batch (known keys skipped)."""

    def __init__(self, staged: Staged) -> None:
        self.staged = staged

    def add_notifications(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self.staged.append(self.staged.notifications, row)


class StagedJournal:
    """The batch's journal entries, in the order its events committed."""

    def __init__(self, staged: Staged) -> None:
        self.staged = staged

    def add(self, entry: JournalEntry) -> None:
        self.staged.append(self.staged.journal, entry)


class StagedUnitOfWork:
    """The unit of work the handlers see in a batch; the outermost `commit` keeps an event."""

    def __init__(self, staged: Staged) -> None:
        self.staged = staged
        self.depth = 0
        self.members = StagedMembers(staged)
        self.events = StagedEvents(staged)
        self.ledger = StagedLedger(staged)
        self.statements = StagedStatements(staged)
        self.programs = StagedPrograms(staged)
        self.segments = StagedSegments(staged)
        self.campaigns = StagedCampaigns(staged)
        self.notifications = StagedNotifications(staged)
        self.journal = StagedJournal(staged)

    def __enter__(self) -> Self:
        self.depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.depth -= 1
        if not self.depth:
            self.staged.drop()  # nothing left to undo once the event committed

    def commit(self) -> None:
        if self.depth == 1:
            self.staged.keep()
