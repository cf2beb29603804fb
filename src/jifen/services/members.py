"""Member use cases: real-name enrolment and finding a member by identity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from jifen.domain.calendar import local_date
from jifen.domain.errors import JifenError, NotFound
from jifen.domain.identity import (
    IdType,
    InvalidIdentity,
    check_age,
    validate_identity,
    validate_phone,
)
from jifen.domain.tiers import TierState
from jifen.programs.schema import Program
from jifen.services import journal
from jifen.services.ports import EventUnitOfWork
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault
from jifen.storage.member_repository import IdentityTaken, MemberRecord


class MemberExists(JifenError):
    """The ID number is already enrolled, under whichever type: one member per ID number."""

    code = "member_exists"
    status = 409


@dataclass(frozen=True, slots=True)
class Enrolled:
    """A new member and the tier it starts in."""

    member_id: int
    tier: TierState


def enrol(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    name: str,
    id_type: str,
    id_number: str,
    birth_date: date,
    phone: str | None,
    joined_at: datetime,
) -> Enrolled:
    """Enrol a member under their real-name identity, in the program's join tier.

    Raises `InvalidIdentity` (bad number, check digit, birth date, phone or an ID type the
    program does not accept), `UnderAge` below the program's minimum age on the joining day, and
    `MemberExists` when the ID number is already a member's, under whichever type.
    """
    identity = validate_identity(
        name=name, id_type=id_type, id_number=id_number, birth_date=birth_date
    )
    if identity.id_type not in program.enrolment.id_types:
        accepted = ", ".join(program.enrolment.id_types)
        raise InvalidIdentity(
            f"This program does not accept {id_type}; it accepts {accepted}.", field="id_type"
        )
    check_age(
        birth_date,
        on=local_date(joined_at, program.timezone),
        minimum=program.enrolment.minimum_age,
    )
    phone = validate_phone(phone) if phone else None
    number_hash = vault.number_hash(identity.id_number)
    # The number under every type: members enrolled before numbers were hashed alone have no
    # `number_hash`, and are found by their (type, number) hash.
    id_hashes = [vault.lookup_hash(kind, identity.id_number) for kind in IdType]
    tier = TierState(program.tiers.join_tier, None)
    try:
        with uow:
            if uow.members.find_by_number(number_hash, id_hashes) is not None:
                raise _exists(identity.masked_number)
            member_id = uow.members.add(
                name=identity.name,
                id_type=identity.id_type,
                id_number_enc=vault.encrypt(identity.id_number),
                id_hash=vault.lookup_hash(identity.id_type, identity.id_number),
                number_hash=number_hash,
                phone_enc=vault.encrypt(phone) if phone else None,
                phone_hash=vault.phone_hash(phone) if phone else None,
                birth_date=birth_date,
                joined_at=joined_at,
                tier=tier,
            )
            identity_given = {"id_number": id_number, "phone": phone}
            journal.record(
                uow,
                "enrol",
                at=joined_at,
                member_id=member_id,
                name=name,
                id_type=id_type,
                birth_date=birth_date,
                **journal.seal(identity_given, vault),
            )
            uow.commit()
    except IdentityTaken:
        raise _exists(identity.masked_number) from None
    return Enrolled(member_id, tier)


def _exists(masked: str) -> MemberExists:
    return MemberExists(
        f"A member with ID {masked} is already enrolled; each ID number can join once, "
        "whatever the ID type. Look the member up instead.",
        id_number=masked,
    )


def find_by_identity(
    uow: UnitOfWork, *, vault: IdentityVault, id_type: str, id_number: str
) -> MemberRecord | None:
    """The member enrolled under this identity, if any."""
    with uow:
        return uow.members.find_by_identity(vault.lookup_hash(id_type, id_number.strip().upper()))


class MemberNotActive(JifenError):
    """A frozen or closed member may not earn or spend."""

    code = "member_not_active"
    status = 409


def require_active_member(uow: EventUnitOfWork, member_id: int) -> MemberRecord:
    """The member, inside an open unit of work; `NotFound` or `MemberNotActive` otherwise."""
    member = uow.members.get(member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.", member_id=member_id)
    if member.status != "active":
        raise MemberNotActive(
            f"Member {member_id} is {member.status}: a {member.status} member can neither earn "
            "nor spend points. An operator can unfreeze a frozen member.",
            member_id=member_id,
            status=member.status,
        )
    return member


def get_member(uow: UnitOfWork, member_id: int) -> MemberRecord:
    """A member by id; `NotFound` when there is none."""
    with uow:
        member = uow.members.get(member_id)
    if member is None:
        raise NotFound(f"No member {member_id}.", member_id=member_id)
    return member
