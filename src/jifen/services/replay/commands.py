"""The journaled commands run again: each use case given its recorded arguments back.

Most commands are a use case called with the arguments it recorded, revived to the types its
signature names (times, dates, dataclasses), with the context it takes (the program, the vault,
the warehouse, `now` as the recorded instant) and the target's member and beneficiary ids.
"""

from __future__ import annotations

import dataclasses
import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo

from jifen.programs.schema import Program
from jifen.services import journal
from jifen.services.adjustments import decide_adjustment, request_adjustment
from jifen.services.beneficiaries import add_beneficiary, remove_beneficiary
from jifen.services.campaigns.definitions import (
    create_campaign,
    pause_campaign,
    resume_campaign,
    stop_campaign,
)
from jifen.services.daily import run_daily
from jifen.services.grants import grant_points
from jifen.services.mall.donations import donate
from jifen.services.mall.orders import cancel_order, place_order
from jifen.services.mall.products import adjust_stock, define_product, set_product
from jifen.services.mall.warehouse import InProcessWarehouse, record_warehouse_report
from jifen.services.member_status import close_member, freeze_member, unfreeze_member
from jifen.services.members import change_phone, enrol
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


Handler = Callable[[Replaying, dict[str, Any], datetime | None], None]


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


def _change_phone(ctx: Replaying, args: dict[str, Any], at: datetime | None) -> None:
    _call(ctx, change_phone, journal.unseal(args, ctx.vault), at)


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


def _adjust_stock(ctx: Replaying, args: dict[str, Any], at: datetime | None) -> None:
    # Journaled before stock adjustments had ids (migration 0021): each entry is one change.
    given = {"adjustment_id": f"journal-{uuid.uuid4().hex}", **args}
    _call(ctx, adjust_stock, given, at)


def _plain_call(use_case: Callable[..., Any]) -> Handler:
    def handle(ctx: Replaying, args: dict[str, Any], at: datetime | None) -> None:
        _call(ctx, use_case, args, at)

    return handle


HANDLERS: dict[str, Handler] = {
    "program": _program,
    "enrol": _enrol,
    "daily": _daily,
    "change_phone": _change_phone,
    "add_beneficiary": _add_beneficiary,
    "partner_operation": _partner_operation,
    "adjust_stock": _adjust_stock,
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
            set_product,
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
            pause_campaign,
            resume_campaign,
            assign_segments,
            grant_points,
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
    given = {
        name: _revive(hints[name], member_ids(ctx, value, name)) for name, value in args.items()
    }
    wants = inspect.signature(use_case).parameters
    context: dict[str, Callable[[], Any]] = {
        "program": ctx.active,
        "vault": lambda: ctx.vault,
        "warehouse": InProcessWarehouse,
        "now": lambda: ctx.local(at),
    }
    given.update({name: make() for name, make in context.items() if name in wants})
    return use_case(ctx.uow, **given)


def member_ids(ctx: Replaying, value: Any, name: str = "") -> Any:
    """`value` with the source's member and beneficiary ids in it made the target's."""
    if isinstance(value, dict):
        return {k: member_ids(ctx, v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [member_ids(ctx, v, name) for v in value]
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
