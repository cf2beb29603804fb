"""Redeeming a ticket (兑换车票) on the portal: for oneself or an effective beneficiary.

The member fills in the train, the departure and the fare on their ticket quote; the next page
shows what it costs in points, and confirming redeems it through `member_self.redeem_ticket`, the
very use case behind `POST /v1/me/redemptions`. Each form carries a fresh id, so a double submit
redeems once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from jifen.api.deps import ProgramDep, UowDep, VaultDep
from jifen.domain.errors import InvalidRequest, JifenError
from jifen.programs.schema import Program
from jifen.services import beneficiaries, member_self, redemption
from jifen.services.views import member as member_view
from jifen.storage.crypto import IdentityVault
from jifen.storage.uow import SqlUnitOfWork
from jifen.web.i18n import Formatter
from jifen.web.portal.context import friendly, gettext, now, page
from jifen.web.security import check_csrf
from jifen.web.session import PortalMemberDep
from jifen.web.templating import request_locale

router = APIRouter(prefix="/portal/redeem")
REQUEST_PREFIX = "portal-"
TRAIN = re.compile(r"^[A-Za-z]{0,2}[0-9]{1,5}$")  # G1, D3125, K1136, 1461
MAX_FARE_FEN = 10_000_000_00


@dataclass(frozen=True, slots=True)
class TicketForm:
    """The form as typed: kept to show it again."""

    passenger: str = "me"
    train: str = ""
    day: str = ""
    departure_time: str = ""
    fare: str = ""
    request_id: str = ""


def _parse(form: TicketForm, program: Program) -> member_self.OwnTicket:
    """The ticket the form asks for; `InvalidRequest` for anything that is not one."""
    train = form.train.strip().upper()
    try:
        departure = datetime.combine(
            date.fromisoformat(form.day), time.fromisoformat(form.departure_time)
        ).replace(tzinfo=ZoneInfo(program.timezone))
        fare = Decimal(form.fare.strip()) * 100
        beneficiary_id = None if form.passenger == "me" else int(form.passenger)
    except (ValueError, InvalidOperation):
        raise InvalidRequest("The departure, the fare or the traveller is not valid.") from None
    if not TRAIN.match(train) or fare != fare.to_integral_value() or not 1 <= fare <= MAX_FARE_FEN:
        raise InvalidRequest("The train or the fare (yuan, at most two decimals) is not valid.")
    fare_fen = int(fare)
    return member_self.OwnTicket(
        id=form.request_id,
        fare_fen=fare_fen,
        train=redemption.Train(number=train),
        departure_at=departure,
        beneficiary_id=beneficiary_id,
    )


def _refusal(request: Request, error: JifenError, program: Program) -> str:
    _ = gettext(request)
    threshold = Formatter(request_locale(request), ZoneInfo(program.timezone)).points(
        program.redemption.eligibility_threshold
    )
    messages = {
        "invalid_request": _("Check the train number, the departure and the fare."),
        "beneficiary_not_effective": _(
            "This beneficiary is not effective yet; you can redeem for them from the day shown "
            "under Beneficiaries."
        ),
        "departure_passed": _("This train has already left; choose a later departure."),
        "train_not_redeemable": _("Tickets on this train cannot be paid in points."),
        "redemption_locked": _(
            "Redemption opens once your balance has reached %(points)s points; keep travelling!"
        )
        % {"points": threshold},
    }
    return messages.get(error.code) or friendly(request, error)


def _form_page(
    request: Request,
    uow: SqlUnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    member_id: int,
    form: TicketForm | None = None,
    extra: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    moment = now(request)
    summary = member_view.member_summary(uow, program=program, member_id=member_id, now=moment)
    named = beneficiaries.list_beneficiaries(
        uow, program=program, vault=vault, member_id=member_id, now=moment
    )
    kinds = program.redemption.ticket_kinds
    context = {
        "ticket_points": sum(summary.available.get(k, 0) for k in kinds),
        "unlocked": summary.redemption_unlocked,
        "effective": [b for b in named if b.status == "effective"],
        "form": form or TicketForm(request_id=REQUEST_PREFIX + secrets.token_hex(16)),
        "points_per_yuan": program.redemption.points_per_yuan,
        "unlock_points": program.redemption.eligibility_threshold,
        **(extra or {}),
    }
    return page(request, member_id, "portal/redeem.html", context, status_code=status_code)


@router.get("")
def redeem_page(
    request: Request,
    *,
    member_id: PortalMemberDep,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
) -> Response:
    """The form: who travels, the train, the departure and the fare."""
    return _form_page(request, uow, program=program, vault=vault, member_id=member_id)


@router.post("", dependencies=[Depends(check_csrf)])
def redeem(
    request: Request,
    *,
    member_id: PortalMemberDep,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    passenger: Annotated[str, Form(max_length=24, pattern=r"^(me|[0-9]{1,18})$")],
    train: Annotated[str, Form(max_length=20)],
    day: Annotated[str, Form(max_length=10)],
    departure_time: Annotated[str, Form(max_length=8)],
    fare: Annotated[str, Form(max_length=14)],
    request_id: Annotated[str, Form(min_length=8, max_length=64, pattern=r"^portal-[0-9a-f]+$")],
    confirm: Annotated[str | None, Form(max_length=3)] = None,
) -> Response:
    """Show the points price first; with `confirm`, redeem (the points are held at once)."""
    form = TicketForm(passenger, train, day, departure_time, fare, request_id)
    try:
        ticket = _parse(form, program)
        if confirm is None:
            price = member_self.ticket_points(program, ticket.fare_fen)
            quote = {"points": price, "departure": ticket.departure_at}
            return _form_page(
                request,
                uow,
                program=program,
                vault=vault,
                member_id=member_id,
                form=form,
                extra={"quote": quote},
            )
        held = member_self.redeem_ticket(
            uow, program=program, member_id=member_id, ticket=ticket, now=now(request)
        )
    except JifenError as error:
        extra = {"messages": [{"kind": "error", "text": _refusal(request, error, program)}]}
        return _form_page(
            request,
            uow,
            program=program,
            vault=vault,
            member_id=member_id,
            form=form,
            extra=extra,
            status_code=400,
        )
    return RedirectResponse(f"/portal/redeem?redeemed={held['redemption_id']}", status_code=303)
