"""What the operators' console reads beside the member view: searches, lots, orders, job runs.

Identities leave this module masked only (`1101**********1234`, `138****5678`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jifen.domain.errors import InvalidRequest, NotFound
from jifen.domain.identity import InvalidIdentity, mask_id_number, mask_phone, validate_phone
from jifen.domain.ledger import Lot
from jifen.programs.schema import Program
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.console_repository import JobRun
from jifen.storage.crypto import IdentityVault
from jifen.storage.mall_repository import MallOrder
from jifen.storage.member_repository import MemberRecord

MEMBER_ID = re.compile(r"[0-9]{1,10}")
ID_NUMBER = re.compile(r"[0-9A-Za-z()（）-]{5,30}")


@dataclass(frozen=True, slots=True)
class Identity:
    """A member's identity as the console may show it: masked."""

    name: str | None
    id_type: str | None
    id_number: str | None
    phone: str | None


def masked_identity(vault: IdentityVault, member: MemberRecord) -> Identity:
    """The member's name with the ID number and phone masked."""
    number = None if member.id_number_enc is None else vault.decrypt(member.id_number_enc)
    phone = None if member.phone_enc is None else vault.decrypt(member.phone_enc)
    return Identity(
        member.name,
        member.id_type,
        None if number is None else mask_id_number(number),
        None if phone is None else mask_phone(phone),
    )


def find_members(
    uow: UnitOfWork, *, program: Program, vault: IdentityVault, query: str
) -> list[MemberRecord]:
    """Members by id (up to 10 digits), exact phone, or exact ID number (any accepted ID type).

    Phones and ID numbers are matched by their keyed hashes, never by reading identities.
    `InvalidRequest` for text that is none of these.
    """
    text = query.strip()
    if MEMBER_ID.fullmatch(text):
        with uow:
            member = uow.members.get(int(text))
        return [] if member is None else [member]
    phone = _phone(text)
    if phone is not None:
        with uow:
            return uow.members.find_by_phone(vault.phone_hash(phone))
    if ID_NUMBER.fullmatch(text):
        hashes = [vault.lookup_hash(t, text.upper()) for t in program.enrolment.id_types]
        with uow:
            found = (uow.members.find_by_identity(h) for h in hashes)
            return [m for m in found if m is not None]
    raise InvalidRequest(
        "Search by member number, an exact phone number or an exact ID number.", field="q"
    )


def _phone(text: str) -> str | None:
    try:
        return validate_phone(text)
    except InvalidIdentity:
        return None


def member_lots(uow: UnitOfWork, *, member_id: int) -> list[Lot]:
    """The member's lots, every one, oldest first; `NotFound` for no such member.

    Their redemptions, orders, coupons and adjustments page through `services.listings`.
    """
    with uow:
        if uow.members.get(member_id) is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        return uow.ledger.lots_of(member_id)


def recent_orders(uow: UnitOfWork, *, limit: int = 50) -> list[MallOrder]:
    """Every member's latest mall orders, newest first."""
    with uow:
        return uow.console.recent_orders(limit=limit)


def order_counts(uow: UnitOfWork) -> dict[str, tuple[int, int]]:
    """Mall orders and their points per status (`paid`, `fulfilled`, `cancelled`, `refunded`)."""
    with uow:
        return uow.console.order_counts()


def job_runs(uow: UnitOfWork, *, days: int = 14) -> list[JobRun]:
    """The finished job steps of the latest `days` days run, newest day first."""
    with uow:
        return uow.console.job_runs(days=days)
