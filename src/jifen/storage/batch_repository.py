"""The bulk path's SQL: load what a batch of events reads, then write what it staged, set-based."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from jifen.storage.event_repository import StoredEvent, TicketRecord
from jifen.storage.ledger_repository import Balance, PendingItem, reserve_ids
from jifen.storage.member_repository import _record
from jifen.storage.notification_repository import NotificationRepository
from jifen.storage.program_repository import ProgramRepository
from jifen.storage.rows import from_row, insert_rows, to_row, update_rows
from jifen.storage.segment_repository import SegmentRepository
from jifen.storage.staged import ID_TABLES, Loaded, NeedsDatabase, Staged
from jifen.storage.tables import (
    balances,
    campaigns,
    earnings,
    events,
    members,
    pending_points,
    tickets,
)


@dataclass(frozen=True, slots=True)
class Wants:
    """What a batch of events may read, named before any of them runs."""

    event_ids: Collection[str]
    ticket_ids: Collection[str]
    member_ids: Collection[int]
    id_hashes: Collection[str]
    earnings_since: date
    ids_needed: dict[str, int]  # ids to reserve per table


class BatchRepository:
    """Loads a batch's rows (locking the members' balances) and writes its staged rows."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"

    def load(self, wants: Wants) -> Staged:
        """Read, in a handful of queries, every row the batch's events can touch."""
        run = self.connection.execute
        found_events = {
            r.id: from_row(StoredEvent, r)
            for r in _rows(run, select(events), events.c.id, wants.event_ids)
        }
        found_tickets = {
            r.id: from_row(TicketRecord, r)
            for r in _rows(run, select(tickets), tickets.c.id, wants.ticket_ids)
        }
        member_ids = set(wants.member_ids) | {
            t.member_id for t in found_tickets.values() if t.member_id is not None
        }
        rows = run(
            select(members).where(
                or_(members.c.id.in_(sorted(member_ids)), members.c.id_hash.in_(wants.id_hashes))
            )
        ).all()
        found_members = {r.id: _record(r) for r in rows}
        locked = self._lock_balances(sorted(found_members))
        if self.postgres:  # under the locks: a freeze committed meanwhile wins, as one by one
            self._recheck(found_members, found_tickets)
        pending_ids = {
            p
            for t in found_tickets.values()
            for p in ((t.data or {}).get("pending") or {}).values()
        }
        loaded = Loaded(
            events=found_events,
            tickets=found_tickets,
            members=found_members,
            member_by_hash={r.id_hash: r.id for r in rows if r.id_hash is not None},
            unlocked_on={r.id: r.redemption_unlocked_on for r in rows},
            balances=locked,
            pending=self._pending(pending_ids),
            earnings=self._earnings(sorted(found_members), wants.earnings_since),
            earnings_since=wants.earnings_since,
            campaign_windows=self._campaign_windows() if wants.event_ids else [],
            asked_events=frozenset(wants.event_ids),
            asked_tickets=frozenset(wants.ticket_ids),
            asked_members=frozenset(member_ids | set(found_members)),
            asked_hashes=frozenset(wants.id_hashes),
            redemption_unlock=ProgramRepository(self.connection).redemption_unlock(),
            segments=SegmentRepository(self.connection).of_members(found_members),
        )
        ids = {t: deque(reserve_ids(self.connection, t, wants.ids_needed[t])) for t in ID_TABLES}
        return Staged(loaded, ids)

    def _campaign_windows(self) -> list[tuple[datetime, datetime]]:
        c = campaigns.c
        query = select(c.starts_at, c.ends_at).where(c.status == "active")
        return [(r.starts_at, r.ends_at) for r in self.connection.execute(query)]

    def _lock_balances(self, member_ids: list[int]) -> dict[tuple[int, str], Balance]:
        query = (
            select(balances)
            .where(balances.c.member_id.in_(member_ids))
            .order_by(balances.c.member_id, balances.c.kind)
            .with_for_update()
        )
        return {
            (r.member_id, r.kind): Balance(r.member_id, r.kind, r.available, r.pending, r.version)
            for r in self.connection.execute(query)
        }

    def _recheck(self, found_members: dict[int, Any], found_tickets: dict[str, Any]) -> None:
        """Statuses as committed now that the balances are locked; lock the tickets too."""
        run = self.connection.execute
        m = members.c
        for row in run(select(m.id, m.status).where(m.id.in_(list(found_members)))):
            member = found_members[row.id]
            if member.status != row.status:
                found_members[row.id] = replace(member, status=row.status)
        query = (
            select(tickets.c.id, tickets.c.status)
            .where(tickets.c.id.in_(list(found_tickets)))
            .with_for_update()
        )
        if found_tickets and {r.id: r.status for r in run(query)} != {
            k: t.status for k, t in found_tickets.items()
        }:
            raise NeedsDatabase("a ticket changed while the batch was loading")

    def _pending(self, pending_ids: set[int]) -> dict[int, PendingItem]:
        if not pending_ids:
            return {}
        query = select(pending_points).where(pending_points.c.id.in_(sorted(pending_ids)))
        return {
            r.id: PendingItem(r.id, r.member_id, r.kind, r.points, r.status, r.reference)
            for r in self.connection.execute(query)
        }

    def _earnings(
        self, member_ids: list[int], since: date
    ) -> dict[int, list[tuple[str, date, int]]]:
        if since == date.max:  # nothing the batch does reads earnings
            return {}
        e = earnings.c
        query = (
            select(e.member_id, e.rule_code, e.day, func.sum(e.points).label("points"))
            .where(and_(e.member_id.in_(member_ids), e.day >= since))
            .group_by(e.member_id, e.rule_code, e.day)
        )
        found: dict[int, list[tuple[str, date, int]]] = {}
        for r in self.connection.execute(query):
            found.setdefault(r.member_id, []).append((r.rule_code, r.day, int(r.points)))
        return found

    # -- writing -------------------------------------------------------------------------------
    def write(self, staged: Staged) -> None:
        """Insert and update the tickets, events, earnings, unlocks and outbox rows it staged.

        The ledger's rows (the batch's postings) are the ledger's to write
        (`LedgerRepository.write_reserved`), before these. One statement per table and kind.
        """
        run = self.connection
        tickets_now = staged.loaded.tickets
        insert_rows(
            run,
            tickets,
            [to_row(tickets_now[i]) for i, old in staged.tickets.items() if not old],
        )
        update_rows(
            run,
            tickets,
            ("id",),
            [to_row(tickets_now[i]) for i, old in staged.tickets.items() if old],
        )
        insert_rows(run, events, [to_row(e) for e in staged.events])
        insert_rows(run, earnings, staged.earnings)
        update_rows(
            run,
            members,
            ("id",),
            [{"id": m, "redemption_unlocked_on": on} for m, on in staged.unlocked.items()],
        )
        NotificationRepository(run).add_notifications(staged.notifications)


def _rows(run: Any, query: Any, column: Any, values: Collection[Any]) -> list[Any]:
    """`query`'s rows whose `column` is one of `values`; no round trip when there are none."""
    return run(query.where(column.in_(list(values)))).all() if values else []
