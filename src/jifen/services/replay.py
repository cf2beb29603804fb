"""Replay: rebuild a program from its journal on an empty database, and compare the two books.

`replay` reads the source's journal in order and runs each command again through the same use
cases, on the target, at the instant it was first applied (time is an input: the recorded one
is passed back, never the clock). Consecutive events received at the same instant go through
the bulk path together, as a batch of events first did. Member and beneficiary ids are the
target's own: each enrolment tells which id the source's member has there, and later commands
are given the target's id. `compare` then reads both databases' books by natural key (SPEC §2
invariant 5) and lists every difference.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

from jifen.programs.schema import Program
from jifen.services import journal
from jifen.services.adjustments import decide_adjustment, request_adjustment
from jifen.services.beneficiaries import add_beneficiary, remove_beneficiary
from jifen.services.campaigns.definitions import create_campaign, stop_campaign
from jifen.services.daily import run_daily
from jifen.services.events.batch import BATCH_SIZE, apply_batch
from jifen.services.mall.donations import donate
from jifen.services.mall.orders import cancel_order, place_order
from jifen.services.mall.products import define_product
from jifen.services.mall.warehouse import InProcessWarehouse, record_warehouse_report
from jifen.services.member_status import close_member, freeze_member, unfreeze_member
from jifen.services.members import enrol
from jifen.services.partners.operations import award, exchange
from jifen.services.partners.reversals import reverse
from jifen.services.partners.terms import add_partner, set_partner_status
from jifen.services.privacy import erase_member
from jifen.services.programs import active_program, install_program
from jifen.services.redemption.lifecycle import commit, release
from jifen.services.redemption.seat_upgrade import upgrade_seat
from jifen.services.redemption.tickets import cancel_ticket, change_ticket, redeem_ticket
from jifen.services.segments import assign_segments
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault
from jifen.storage.journal_repository import Recorded

PAGE = 1000
REPLAYED_TOLERANCE = timedelta(days=36500)  # an event accepted once is not refused as "future"


@dataclass
class Replaying:
    """The target being rebuilt: its unit of work, the program it runs and the ids it gave."""

    uow: UnitOfWork
    vault: IdentityVault
    program: Program | None = None
    members: dict[int, int] = field(default_factory=dict)  # source member id → target's
    beneficiaries: dict[int, int] = field(default_factory=dict)

    def member(self, source_id: int) -> int:
        """The target's id of the source's member (the same id if it was not enrolled here)."""
        return self.members.get(source_id, source_id)

    def active(self) -> Program:
        if self.program is None:
            self.program = active_program(self.uow)
        return self.program

    def local(self, at: datetime | None) -> datetime:
        """The recorded instant in the program's time zone, as the use cases were given it."""
        assert at is not None  # noqa: S101 - the command was journaled with its instant
        return at.astimezone(ZoneInfo(self.active().timezone))


@dataclass(frozen=True, slots=True)
class Refused:
    """A command that did not apply again as it first did: where it was and what happened."""

    seq: int
    command: str
    problem: str


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """How many journal entries were replayed, and those that did not apply again."""

    replayed: int
    refused: list[Refused]


Handler = Callable[[Replaying, dict[str, Any], datetime | None], None]


def replay(
    source: UnitOfWork,
    target: UnitOfWork,
    *,
    vault: IdentityVault,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Run the source's journal again on `target`, in order; what did not apply is reported."""
    ctx = Replaying(target, vault)
    done = 0
    refused: list[Refused] = []
    for group in _groups(_entries(source)):
        first = group[0]
        try:
            if first.entry.command == "event":
                refused.extend(_events(ctx, group))
            else:
                HANDLERS[first.entry.command](ctx, first.entry.args, first.entry.at)
        except Exception as error:  # noqa: BLE001 - one command's failure is reported, not fatal
            refused.append(Refused(first.seq, first.entry.command, repr(error)))
        done += len(group)
        if progress:
            progress(len(group))
    return ReplayReport(done, refused)


def journal_size(uow: UnitOfWork) -> int:
    """How many entries a database's journal holds."""
    with uow:
        return uow.journal.count()


def _entries(source: UnitOfWork) -> Iterator[Recorded]:
    after = 0
    while True:
        with source:
            page = source.journal.read(after=after, limit=PAGE)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].seq


def _groups(entries: Iterator[Recorded]) -> Iterator[list[Recorded]]:
    """Entries one by one, except consecutive events received at one instant, batched."""
    group: list[Recorded] = []
    for item in entries:
        if group and (
            item.entry.command != "event"
            or group[0].entry.at != item.entry.at
            or len(group) == BATCH_SIZE
        ):
            yield group
            group = []
        if item.entry.command != "event":
            yield [item]
        else:
            group.append(item)
    if group:
        yield group


def _events(ctx: Replaying, group: list[Recorded]) -> list[Refused]:
    raw = [_member_ids(ctx, journal.unseal(r.entry.args["event"], ctx.vault)) for r in group]
    at = ctx.local(group[0].entry.at)
    results = apply_batch(
        ctx.uow,
        program=ctx.active(),
        vault=ctx.vault,
        raw_events=raw,
        received_at=at,
        future_tolerance=REPLAYED_TOLERANCE,
    )
    return [
        Refused(r.seq, "event", f"{result.status}: {result.error or result.outcome}")
        for r, result in zip(group, results, strict=True)
        if result.status != "applied"
    ]


def _member_ids(ctx: Replaying, value: Any) -> Any:
    """An event's body with each `member_id` in it (a rider, a passenger) the target's."""
    if isinstance(value, dict):
        return {
            k: ctx.member(v) if k == "member_id" and isinstance(v, int) else _member_ids(ctx, v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_member_ids(ctx, v) for v in value]
    return value


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


# -- the commands ---------------------------------------------------------------------------------
def _program(ctx: Replaying, args: dict[str, Any], at: datetime | None) -> None:
    program = Program.model_validate(args["document"])
    install_program(ctx.uow, program=program, source=args["source"])
    ctx.program = program


def _enrol(ctx: Replaying, args: dict[str, Any], at: datetime | None) -> None:
    identity = journal.unseal({"id_number": args["id_number"], "phone": args["phone"]}, ctx.vault)
    enrolled = enrol(
        ctx.uow,
        program=ctx.active(),
        vault=ctx.vault,
        name=args["name"],
        id_type=args["id_type"],
        id_number=identity["id_number"],
        birth_date=date.fromisoformat(args["birth_date"]),
        phone=identity["phone"],
        joined_at=ctx.local(at),
    )
    ctx.members[args["member_id"]] = enrolled.member_id


def _daily(ctx: Replaying, args: dict[str, Any], at: datetime | None) -> None:
    run_daily(
        ctx.uow, program=ctx.active(), as_of=date.fromisoformat(args["as_of"]), only=args["step"]
    )


def _add_beneficiary(ctx: Replaying, args: dict[str, Any], at: datetime | None) -> None:
    source_id = args["beneficiary_id"]
    given = {k: v for k, v in journal.unseal(args, ctx.vault).items() if k != "beneficiary_id"}
    added = _call(ctx, add_beneficiary, given, at)
    ctx.beneficiaries[source_id] = added.id


def _partner_operation(ctx: Replaying, args: dict[str, Any], at: datetime | None) -> None:
    request = args["request"]
    common = {"partner_code": request["partner_code"], "op_id": request["op_id"]}
    common["actor"] = args["actor"]
    operations: dict[str, tuple[Callable[..., Any], tuple[str, ...]]] = {
        "reversal": (reverse, ("reverses_op_id", "reason")),
        "exchange": (exchange, ("member_id", "miles")),
        "award": (award, ("member_id", "points", "reason")),
    }
    use_case, fields = operations[request["type"]]
    _call(ctx, use_case, {**common, **{k: request[k] for k in fields}}, at)


def _plain_call(use_case: Callable[..., Any]) -> Handler:
    def handle(ctx: Replaying, args: dict[str, Any], at: datetime | None) -> None:
        _call(ctx, use_case, args, at)

    return handle


HANDLERS: dict[str, Handler] = {
    "program": _program,
    "enrol": _enrol,
    "daily": _daily,
    "add_beneficiary": _add_beneficiary,
    "partner_operation": _partner_operation,
    **{
        use_case.__name__: _plain_call(use_case)
        for use_case in (
            redeem_ticket,
            upgrade_seat,
            change_ticket,
            cancel_ticket,
            place_order,
            cancel_order,
            record_warehouse_report,
            define_product,
            donate,
            request_adjustment,
            decide_adjustment,
            remove_beneficiary,
            freeze_member,
            unfreeze_member,
            close_member,
            erase_member,
            add_partner,
            set_partner_status,
            create_campaign,
            stop_campaign,
            assign_segments,
        )
    },
    "redemption.commit": _plain_call(commit),
    "redemption.release": _plain_call(release),
}


# -- giving a use case its recorded arguments back ------------------------------------------------
def _call(
    ctx: Replaying, use_case: Callable[..., Any], args: dict[str, Any], at: datetime | None
) -> Any:
    """Call `use_case` on the target with `args` as its parameters' types, and the context's."""
    hints = get_type_hints(use_case)
    given = {name: _revive(hints[name], _ids(ctx, name, value)) for name, value in args.items()}
    wants = inspect.signature(use_case).parameters
    context: dict[str, Callable[[], Any]] = {
        "program": ctx.active,
        "vault": lambda: ctx.vault,
        "warehouse": InProcessWarehouse,
        "now": lambda: ctx.local(at),
    }
    given.update({name: make() for name, make in context.items() if name in wants})
    return use_case(ctx.uow, **given)


def _ids(ctx: Replaying, name: str, value: Any) -> Any:
    """`value` with the source's member and beneficiary ids in it made the target's."""
    if isinstance(value, dict):
        return {k: _ids(ctx, k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ids(ctx, name, v) for v in value]
    if not isinstance(value, int) or isinstance(value, bool):
        return value
    if name in {"member_id", "passenger_member_id", "member_ids"}:
        return ctx.member(value)
    if name == "beneficiary_id":
        return ctx.beneficiaries.get(value, value)
    return value


def _revive(kind: Any, value: Any) -> Any:
    """A JSON value as the type `kind` says: times, dates, dataclasses, lists, optionals."""
    if value is None:
        return None
    origin, parts = get_origin(kind), get_args(kind)
    if origin in (Union, UnionType):
        real = [p for p in parts if p is not type(None)]
        return _revive(real[0], value) if len(real) == 1 else value
    if origin in (list, tuple):
        return origin(_revive(parts[0], v) for v in value) if parts else value
    if kind is datetime or kind is date:
        return kind.fromisoformat(value)
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = get_type_hints(kind)
        return kind(**{k: _revive(hints[k], v) for k, v in value.items()})
    return value


# -- comparing the books --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Difference:
    """Rows of one table found in one database and not the other (as many times as they differ)."""

    table: str
    columns: tuple[str, ...]
    only_in_source: list[tuple[Any, ...]]
    only_in_target: list[tuple[Any, ...]]


def compare(source: UnitOfWork, target: UnitOfWork) -> list[Difference]:
    """Every table of the books whose rows differ between `source` and `target`."""
    with source:
        theirs = source.books.snapshot()
    with target:
        ours = target.books.snapshot()
    differences = []
    for table, (columns, rows) in theirs.items():
        other = ours[table][1]
        missing, extra = _multiset_difference(rows, other), _multiset_difference(other, rows)
        if missing or extra:
            differences.append(Difference(table, columns, missing, extra))
    return differences


def _multiset_difference(rows: list[Any], other: list[Any]) -> list[Any]:
    remaining: dict[Any, int] = {}
    for row in other:
        remaining[row] = remaining.get(row, 0) + 1
    left = []
    for row in rows:
        if remaining.get(row, 0):
            remaining[row] -= 1
        else:
            left.append(row)
    return left
