"""Which partition (subject) an event goes to: by rider, so one member's events stay in order.

An event names its rider by member id or by real-name identity (`ticket.purchased`, activities,
orders); a travel, refund or change names only its ticket, so a publisher remembers the partition
of the tickets it has routed and sends a ticket's later events after its purchase. A ticket it has
not seen (another publisher sent the purchase) goes by its ticket id: applying an event before its
purchase is already handled (the event waits and is settled when the purchase comes).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

REMEMBERED_TICKETS = 1_000_000  # about 150 MB at most; the oldest are forgotten first


def rider_key(raw: Any) -> str | None:
    """The rider an event names (`m:<member id>` or `i:<ID number>`), or None."""
    data = raw.get("data") if isinstance(raw, dict) else None
    if not isinstance(data, dict):
        return None
    for holder in (data.get("passenger"), data):
        if not isinstance(holder, dict):
            continue
        if holder.get("member_id") is not None:
            return f"m:{holder['member_id']}"
        if holder.get("id_number") is not None:
            # One member per ID number whatever type is claimed, so the type is left out.
            return f"i:{str(holder['id_number']).strip().upper()}"
    return None


def partition_of(key: str, partitions: int) -> int:
    """A stable partition for `key` in `range(partitions)`, the same in every process."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions


def subject_for(prefix: str, partition: int) -> str:
    """The subject of one partition: `<prefix>.<partition>`."""
    return f"{prefix}.{partition}"


def dead_subject_for(prefix: str, event_id: str) -> str:
    """The dead-letter subject of one event, found again by its id (ids may hold any character)."""
    digest = hashlib.blake2b(event_id.encode("utf-8"), digest_size=16).hexdigest()
    return f"{prefix}.dead.{digest}"


@dataclass
class Router:
    """Routes events to partitions, remembering where each ticket went."""

    partitions: int
    remember: int = REMEMBERED_TICKETS
    tickets: dict[str, int] = field(default_factory=dict)

    def partition(self, raw: Any) -> int:
        """The partition of `raw`: its rider's, else its ticket's, else its id's."""
        data = raw.get("data") if isinstance(raw, dict) else None
        data = data if isinstance(data, dict) else {}
        ticket = data.get("ticket_id")
        ticket = ticket if isinstance(ticket, str) else None
        rider = rider_key(raw)
        if rider is not None:
            partition = partition_of(rider, self.partitions)
        elif ticket is not None and ticket in self.tickets:
            partition = self.tickets[ticket]
        else:
            key = f"t:{ticket}" if ticket else f"e:{raw.get('id') if isinstance(raw, dict) else ''}"
            partition = partition_of(key, self.partitions)
        for name in (ticket, data.get("new_ticket_id")):
            if isinstance(name, str):
                self._remember(name, partition)
        return partition

    def _remember(self, ticket: str, partition: int) -> None:
        self.tickets.pop(ticket, None)
        self.tickets[ticket] = partition
        if len(self.tickets) > self.remember:
            del self.tickets[next(iter(self.tickets))]
