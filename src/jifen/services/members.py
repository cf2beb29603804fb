"""Member use cases: real-name enrolment, finding a member by identity or phone, their phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from jifen.domain.calendar import local_date
from jifen.domain.errors import JifenError, NotFound
from jifen.domain.identity import (
    IdType,
    InvalidIdentity,
    check_age,
    mask_phone,
    validate_identity,
    validate_phone,
)
from jifen.domain.tiers import TierState
from jifen.programs.schema import Program
from jifen.services import audit, journal
from jifen.services.member_status import MemberClosed
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
    number_hash, id_hashes = _number_hashes(vault, identity.id_number)
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


def _number_hashes(vault: IdentityVault, id_number: str) -> tuple[str, list[str]]:
    """The number's own hash, and its hashes under every type.

    Members enrolled before numbers were hashed alone have no `number_hash`, and are found by
    their (type, number) hash.
    """
    return vault.number_hash(id_number), [vault.lookup_hash(kind, id_number) for kind in IdType]


def _exists(masked: str) -> MemberExists:
    return MemberExists(
        f"A member with ID {masked} is already enrolled; each ID number can join once, "
        "whatever the ID type. Find their member id with POST /v1/members/lookup "
        "{id_type, id_number} instead.",
        id_number=masked,
        lookup="POST /v1/members/lookup",
    )


class NoMatchingMember(JifenError):
    """No member is enrolled under the identity or phone looked up."""

    code = "member_not_found"
    status = 404


class PhoneShared(JifenError):
    """More than one member gave the phone looked up, so it names none of them."""

    code = "phone_shared"
    status = 409


def lookup_member(
    uow: UnitOfWork,
    *,
    vault: IdentityVault,
    id_type: str | None = None,
    id_number: str | None = None,
    phone: str | None = None,
) -> int:
    """The id of the member enrolled under this ID number (whatever its type) or with this phone.

    Matched by the vault's keyed hashes only: nothing is decrypted. Raises `NoMatchingMember`
    when none matches and `PhoneShared` when several members gave the phone. The identity or
    phone is never echoed back, so an answer tells no more than the member id.
    """
    with uow:
        if id_number is not None:
            number_hash, id_hashes = _number_hashes(vault, id_number)
            found = uow.members.find_by_number(number_hash, id_hashes)
            ids = [] if found is None else [found.id]
        else:
            assert phone is not None  # noqa: S101 - the API asks for one form or the other
            ids = [m.id for m in uow.members.find_by_phone(vault.phone_hash(phone))]
    kind = f"ID ({id_type})" if id_number is not None else "phone"
    if not ids:
        raise NoMatchingMember(f"No member is enrolled with this {kind}.")
    if len(ids) > 1:
        raise PhoneShared(
            f"{len(ids)} members gave this phone, so it does not name one of them; look the "
            "member up by ID (id_type and id_number) instead.",
            matches=len(ids),
        )
    return ids[0]


@dataclass(frozen=True, slots=True)
class ContactChange:
    """A member's phone after a change (masked); `changed` is False when it already was that."""

    member_id: int
    phone: str
    changed: bool


def change_phone(
    uow: UnitOfWork,
    *,
    vault: IdentityVault,
    member_id: int,
    phone: str,
    actor: str,
    now: datetime,
) -> ContactChange:
    """Replace the member's phone (ciphertext and lookup hash), audited as `member.phone_changed`.

    The phone is validated as enrolment validates it (`InvalidIdentity`). Name and ID number
    never change. `NotFound` for no such member, `MemberClosed` for a closed one; the same phone
    again changes nothing and writes no audit row.
    """
    number = validate_phone(phone)
    new_hash = vault.phone_hash(number)
    with uow:
        member = uow.members.get(member_id)
        if member is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        if member.status == "closed":
            raise MemberClosed(
                f"Member {member_id} is closed; closing is final, so their phone cannot change.",
                member_id=member_id,
            )
        old = None if member.phone_enc is None else vault.decrypt(member.phone_enc)
        if old is not None and vault.phone_hash(old) == new_hash:
            return ContactChange(member_id, mask_phone(number), changed=False)
        uow.members.set_phone(member_id, phone_enc=vault.encrypt(number), phone_hash=new_hash)
        details = {
            "before": {"phone": None if old is None else mask_phone(old)},
            "after": {"phone": mask_phone(number)},
        }
        audit.record(
            uow,
            at=now,
            actor=actor,
            action="member.phone_changed",
            subject=f"member:{member_id}",
            details=details,
        )
        journal.record(
            uow,
            "change_phone",
            at=now,
            member_id=member_id,
            actor=actor,
            **journal.seal({"phone": number}, vault),
        )
        uow.commit()
    return ContactChange(member_id, mask_phone(number), changed=True)


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
