"""A member's own API (/v1/me): sign in as on the portal, then read and spend one's own points.

A member token (`jm_…`, from `POST /v1/me/sign-in`) works here and nowhere else; an operator's
API key (`jf_…`) works everywhere but here. Every route below takes the member from the token,
never from the request, and answers the same bodies as the operator routes it stands beside.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials

from jifen.api.deps import (
    ClockDep,
    PageCursor,
    PageLimit,
    ProgramDep,
    ReadUowDep,
    UowDep,
    VaultDep,
    bearer,
)
from jifen.api.routes import beneficiaries as beneficiary_routes
from jifen.api.routes import entitlements as entitlement_routes
from jifen.api.routes import mall as mall_routes
from jifen.api.routes import members as member_routes
from jifen.api.routes import redemptions as redemption_routes
from jifen.api.routes.mall import OrderPath, WarehouseDep
from jifen.api.routes.redemptions import CREATE_ERRORS, RedemptionPath
from jifen.api.schemas.beneficiaries import BeneficiaryList, BeneficiaryOut
from jifen.api.schemas.entitlements import Entitlements
from jifen.api.schemas.mall import OrderOut, Orders
from jifen.api.schemas.me import (
    CodeIn,
    CodeOut,
    OwnBeneficiaryIn,
    OwnOrderIn,
    OwnStepIn,
    OwnTicketIn,
    SignInIn,
    TokenOut,
)
from jifen.api.schemas.members import MemberOut, Statement, TierHistory
from jifen.api.schemas.redemptions import Held, RedemptionOut, Redemptions
from jifen.services import member_self, member_tokens, portal_sign_in, redemption
from jifen.services.member_tokens import Bearer
from jifen.services.portal_sign_in import LogSmsSender, SmsSender
from jifen.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/v1/me", tags=["me"])
_DEFAULT_SENDER = LogSmsSender()
REFUSED: dict[int | str, dict[str, Any]] = {401: {"description": "member_token_invalid"}}
BeneficiaryPath = Annotated[int, Path(ge=1, le=2**62, description="The beneficiary's id.")]


async def signed_in(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Bearer:
    """The member behind the request's token (its expiry slides on); 401 without a live one."""
    app = request.app.state.jifen
    token = None if credentials is None else credentials.credentials

    def check() -> Bearer:
        return member_tokens.authenticate(
            SqlUnitOfWork(app.engine), token=token, now=app.clock.now()
        )

    return await anyio.to_thread.run_sync(check)


Me = Annotated[Bearer, Depends(signed_in)]


def sms_sender(request: Request) -> SmsSender:
    """The app's SMS sender (`app.state.portal_sms`, as the portal's), else the log sender."""
    return getattr(request.app.state, "portal_sms", _DEFAULT_SENDER)


# -- signing in and out -----------------------------------------------------------------------
@router.post(
    "/sign-in/code",
    response_model=CodeOut,
    responses={
        422: {"description": "invalid_identity"},
        429: {"description": "portal_too_many_codes"},
    },
)
def ask_code(
    body: CodeIn, request: Request, uow: UowDep, vault: VaultDep, clock: ClockDep
) -> CodeOut:
    """Text a sign-in code to the phone if a member has it; the answer is the same if not."""
    asked = portal_sign_in.request_code(
        uow, vault=vault, sender=sms_sender(request), phone=body.phone, now=clock.now()
    )
    return CodeOut(challenge_id=asked.challenge_id, masked_phone=asked.masked_phone)


@router.post(
    "/sign-in",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenOut,
    responses={422: {"description": "portal_code_invalid, portal_link_invalid"}},
)
def sign_in(body: SignInIn, uow: UowDep, clock: ClockDep) -> TokenOut:
    """A member token for a right SMS code or an unused sign-in link (each signs in once)."""
    now = clock.now()
    if body.link_token is not None:
        issued = member_tokens.sign_in_with_link(uow, link_token=body.link_token, now=now)
    else:
        assert body.challenge_id is not None  # noqa: S101 - validated
        assert body.code is not None  # noqa: S101 - validated
        issued = member_tokens.sign_in_with_code(
            uow, challenge_id=body.challenge_id, code=body.code, now=now
        )
    return TokenOut(token=issued.token, member_id=issued.member_id, expires_at=issued.expires_at)


@router.post("/sign-out", status_code=status.HTTP_204_NO_CONTENT, responses=REFUSED)
def sign_out(me: Me, uow: UowDep, clock: ClockDep) -> None:
    """Revoke the token this request was sent with."""
    member_tokens.sign_out(uow, bearer=me, now=clock.now())


# -- reading ----------------------------------------------------------------------------------
@router.get("", response_model=MemberOut, responses=REFUSED)
def get_me(
    me: Me, uow: ReadUowDep, program: ProgramDep, vault: VaultDep, clock: ClockDep
) -> MemberOut:
    """The member's balances, tier, and the points that lapse in the next 90 days."""
    return member_routes.get_member(me.member_id, uow, program, vault, clock)


@router.get("/ledger", response_model=Statement, responses=REFUSED)
def get_ledger(
    me: Me,
    uow: ReadUowDep,
    program: ProgramDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Statement:
    """The member's ledger, newest first, a page at a time (as `/v1/members/{id}/ledger`)."""
    return member_routes.get_ledger(me.member_id, uow, program, limit=limit, cursor=cursor)


@router.get("/tiers", response_model=TierHistory, responses=REFUSED)
def get_tiers(me: Me, uow: ReadUowDep, program: ProgramDep) -> TierHistory:
    """The member's tier history."""
    return member_routes.get_tiers(me.member_id, uow, program)


@router.get("/entitlements", response_model=Entitlements, responses=REFUSED)
def get_entitlements(me: Me, uow: UowDep, program: ProgramDep, clock: ClockDep) -> Entitlements:
    """The member's entitlements, newest first, each with what is left."""
    return entitlement_routes.list_entitlements(me.member_id, uow, program, clock)


# -- redemptions ------------------------------------------------------------------------------
@router.get("/redemptions", response_model=Redemptions, responses=REFUSED)
def list_redemptions(
    me: Me, uow: ReadUowDep, program: ProgramDep, limit: PageLimit = 50, cursor: PageCursor = None
) -> Redemptions:
    """The member's redemptions, newest first, a page at a time."""
    return redemption_routes.get_member_redemptions(
        me.member_id, uow, program, limit=limit, cursor=cursor
    )


@router.get(
    "/redemptions/{redemption_id}",
    response_model=RedemptionOut,
    responses={**REFUSED, 404: {"description": "not_found (also another member's)"}},
)
def get_redemption(
    redemption_id: RedemptionPath, me: Me, uow: ReadUowDep, program: ProgramDep
) -> RedemptionOut:
    """One of the member's redemptions."""
    record = member_self.own_redemption(uow, member_id=me.member_id, redemption_id=redemption_id)
    return redemption_routes.redemption_out(record, program)


@router.post(
    "/redemptions",
    status_code=status.HTTP_201_CREATED,
    response_model=Held,
    responses={**REFUSED, **CREATE_ERRORS},
)
def redeem_ticket(
    body: OwnTicketIn, me: Me, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> Held:
    """Redeem a ticket for oneself or an effective beneficiary: the points are held.

    The same `id` and body again answer the first redemption, whose id is `m<member>-<id>`.
    """
    ticket = member_self.OwnTicket(
        id=body.id,
        fare_fen=body.fare_fen,
        train=redemption.Train(**body.train.model_dump()),
        departure_at=body.departure_at,
        beneficiary_id=body.beneficiary_id,
    )
    result = member_self.redeem_ticket(
        uow, program=program, member_id=me.member_id, ticket=ticket, now=clock.now()
    )
    return Held(**result)


# -- mall orders ------------------------------------------------------------------------------
@router.get("/orders", response_model=Orders, responses=REFUSED)
def list_orders(
    me: Me,
    *,
    uow: ReadUowDep,
    program: ProgramDep,
    clock: ClockDep,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> Orders:
    """The member's mall orders, newest first, a page at a time."""
    return mall_routes.list_orders(
        me.member_id, uow=uow, program=program, clock=clock, limit=limit, cursor=cursor
    )


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    responses={**REFUSED, 404: {"description": "not_found (also another member's)"}},
)
def get_order(
    order_id: OrderPath, me: Me, uow: UowDep, program: ProgramDep, clock: ClockDep
) -> OrderOut:
    """One of the member's mall orders."""
    placed = member_self.own_order(uow, member_id=me.member_id, order_id=order_id)
    return mall_routes.order_out(placed, program, clock.now())


@router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderOut,
    responses={**REFUSED, 409: {"description": "out_of_stock, limit_reached, sale_not_open, ..."}},
)
def place_order(
    body: OwnOrderIn,
    me: Me,
    *,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
    adapter: WarehouseDep,
) -> OrderOut:
    """Buy with one's points; the same `id` and body again answer the first order."""
    now = clock.now()
    placed = member_self.place_order(
        uow,
        program=program,
        warehouse=adapter,
        member_id=me.member_id,
        order_id=body.id,
        sku=body.sku,
        quantity=body.quantity,
        now=now,
    )
    return mall_routes.order_out(placed, program, now)


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderOut,
    responses={
        **REFUSED,
        404: {"description": "not_found (also another member's)"},
        409: {"description": "order_not_cancellable, member_not_active"},
    },
)
def cancel_order(
    order_id: OrderPath,
    body: OwnStepIn,
    me: Me,
    *,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> OrderOut:
    """Cancel one's paid (not yet shipped) order: the points and the stock go back; `refunded`."""
    now = clock.now()
    placed = member_self.cancel_order(
        uow, program=program, member_id=me.member_id, order_id=order_id, cancel_id=body.id, now=now
    )
    return mall_routes.order_out(placed, program, now)


# -- beneficiaries ----------------------------------------------------------------------------
@router.get("/beneficiaries", response_model=BeneficiaryList, responses=REFUSED)
def list_beneficiaries(
    me: Me,
    *,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    clock: ClockDep,
    include_removed: Annotated[bool, Query()] = False,
) -> BeneficiaryList:
    """The member's beneficiaries (removed ones too with `include_removed=true`)."""
    return beneficiary_routes.list_beneficiaries(
        me.member_id,
        uow=uow,
        program=program,
        vault=vault,
        clock=clock,
        include_removed=include_removed,
    )


@router.post(
    "/beneficiaries",
    status_code=status.HTTP_201_CREATED,
    response_model=BeneficiaryOut,
    responses={
        **REFUSED,
        409: {"description": "beneficiary_limit, idempotency_conflict, member_not_active"},
        422: {"description": "invalid_identity, beneficiary_is_member, validation_error"},
    },
)
def add_beneficiary(
    body: OwnBeneficiaryIn,
    me: Me,
    *,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    clock: ClockDep,
) -> BeneficiaryOut:
    """Name a beneficiary, effective after the program's wait; idempotent by `id`."""
    own = body.model_copy(update={"id": member_self.own_id(me.member_id, body.id)})
    return beneficiary_routes.add_beneficiary(
        me.member_id, own, uow=uow, program=program, vault=vault, clock=clock
    )


@router.delete(
    "/beneficiaries/{beneficiary_id}",
    response_model=BeneficiaryOut,
    responses={**REFUSED, 404: {"description": "not_found (also another member's)"}},
)
def remove_beneficiary(
    beneficiary_id: BeneficiaryPath,
    me: Me,
    *,
    uow: UowDep,
    program: ProgramDep,
    vault: VaultDep,
    clock: ClockDep,
) -> BeneficiaryOut:
    """Remove one of the member's beneficiaries at once."""
    return beneficiary_routes.remove_beneficiary(
        me.member_id, beneficiary_id, uow=uow, program=program, vault=vault, clock=clock
    )
