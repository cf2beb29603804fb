"""Beneficiaries (受让人): people a member may redeem tickets for, effective after a wait.

A beneficiary passes the same real-name check as a member, counts toward the program's limit from
the day they are added (waiting ones too), and becomes effective `wait_days` later. Removal is
allowed at any time; adding the same person again starts a new wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from jifen.domain.calendar import local_date
from jifen.domain.errors import IdempotencyConflict, JifenError, NotFound
from jifen.domain.identity import InvalidIdentity, mask_id_number, validate_identity
from jifen.programs.schema import Program
from jifen.services import journal
from jifen.services.ledger import fingerprint
from jifen.services.members import require_active_member
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault
from jifen.storage.redemption_repository import BeneficiaryRecord, RedemptionTaken

# ID types whose 18-character number carries the holder's birth date (YYYYMMDD at 7-14).
_DATED_ID_TYPES = frozenset({"resident_id", "residence_permit", "permanent_residence"})


class BeneficiaryLimit(JifenError):
    """The member already names as many beneficiaries as the program allows."""

    code = "beneficiary_limit"
    status = 409


class BeneficiaryIsMember(JifenError):
    """A member cannot name themselves: they may always redeem for themselves."""

    code = "beneficiary_is_member"
    status = 422


class BeneficiaryNotEffective(JifenError):
    """The beneficiary is still waiting, or was removed."""

    code = "beneficiary_not_effective"
    status = 409


@dataclass(frozen=True, slots=True)
class Beneficiary:
    """A beneficiary as shown: ID number masked, with where they stand on the day asked."""

    id: int
    member_id: int
    name: str
    id_type: str
    id_number: str
    added_on: date
    effective_from: date
    removed_on: date | None
    status: str


def _shown(vault: IdentityVault, record: BeneficiaryRecord, today: date) -> Beneficiary:
    return Beneficiary(
        id=record.id,
        member_id=record.member_id,
        name=record.name,
        id_type=record.id_type,
        id_number=mask_id_number(vault.decrypt(record.id_number_enc)),
        added_on=record.added_on,
        effective_from=record.effective_from,
        removed_on=record.removed_on,
        status=record.status_on(today),
    )


def birth_date_of(id_type: str, id_number: str, given: date | None) -> date | None:
    """The birth date to check an identity against: the one given, else the number's own."""
    if given is not None:
        return given
    number = id_number.strip().upper()
    if id_type.strip().lower() not in _DATED_ID_TYPES or len(number) != 18:
        return None
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def add_beneficiary(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    member_id: int,
    request_id: str,
    name: str,
    id_type: str,
    id_number: str,
    birth_date: date | None,
    now: datetime,
) -> Beneficiary:
    """Name a beneficiary for the member, effective `wait_days` after the local day of `now`.

    Idempotent by `request_id`: the same request again returns the beneficiary it named (as they
    stand); another request under that id (another person or member) is an `IdempotencyConflict`.
    Naming a person already named returns them unchanged; under another name it is a conflict.
    Raises `InvalidIdentity`, `BeneficiaryIsMember`, `BeneficiaryLimit`, `MemberNotActive` (a
    frozen or closed member names no one) or `NotFound`.
    """
    today = local_date(now, program.timezone)
    # Documents without a birth date in the number are checked on format alone; the date is unused.
    born = birth_date_of(id_type, id_number, birth_date) or date.min
    identity = validate_identity(name=name, id_type=id_type, id_number=id_number, birth_date=born)
    if identity.id_type not in program.enrolment.id_types:
        accepted = ", ".join(program.enrolment.id_types)
        raise InvalidIdentity(
            f"This program does not accept {id_type}; it accepts {accepted}.", field="id_type"
        )
    id_hash = vault.lookup_hash(identity.id_type, identity.id_number)
    request = _Request(
        request_id,
        member_id,
        identity.name,
        identity.id_type,
        id_hash,
        fingerprint(
            {"member_id": member_id, "name": identity.name, "type": identity.id_type, "id": id_hash}
        ),
    )
    add: dict[str, Any] = {
        "program": program,
        "vault": vault,
        "id_number": identity.id_number,
        "birth_date": birth_date,
        "now": now,
        "today": today,
    }
    try:
        record = _add(uow, request, **add)
    except RedemptionTaken:
        # A concurrent request under the same id won; ours rolled back. Answer as it did.
        record = _add(uow, request, **add)
    return _shown(vault, record, today)


@dataclass(frozen=True, slots=True)
class _Request:
    id: str
    member_id: int
    name: str
    id_type: str
    id_hash: str
    hash: str


def _add(
    uow: UnitOfWork,
    request: _Request,
    *,
    program: Program,
    vault: IdentityVault,
    id_number: str,
    birth_date: date | None,
    now: datetime,
    today: date,
) -> BeneficiaryRecord:
    member_id = request.member_id
    with uow:
        if not uow.redemptions.lock_member(member_id):
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        stored = uow.redemptions.beneficiary_request(request.id)
        if stored is not None:
            beneficiary_id, request_hash = stored
            if request_hash != request.hash:
                raise IdempotencyConflict(request.id)
            record = uow.redemptions.beneficiary(beneficiary_id)
            assert record is not None  # noqa: S101 - beneficiaries are never deleted
            return record
        require_active_member(uow, member_id)
        record = _named(
            uow, request, program=program, vault=vault, id_number=id_number, today=today
        )
        uow.redemptions.add_beneficiary_request(
            request.id, member_id=member_id, beneficiary_id=record.id, request_hash=request.hash
        )
        journal.record(
            uow,
            "add_beneficiary",
            at=now,
            beneficiary_id=record.id,
            member_id=member_id,
            request_id=request.id,
            name=request.name,
            id_type=request.id_type,
            birth_date=birth_date,
            **journal.seal({"id_number": id_number}, vault),
        )
        uow.commit()
    return record


def _named(
    uow: UnitOfWork,
    request: _Request,
    *,
    program: Program,
    vault: IdentityVault,
    id_number: str,
    today: date,
) -> BeneficiaryRecord:
    """The person already named, or a new beneficiary (inside the member's lock)."""
    member_id = request.member_id
    if uow.redemptions.member_identity(member_id) == request.id_hash:
        raise BeneficiaryIsMember(
            "A member cannot name themselves as a beneficiary; they may always redeem "
            "tickets for themselves.",
            member_id=member_id,
        )
    named = uow.redemptions.beneficiaries_of(member_id)
    same = next((b for b in named if b.id_hash == request.id_hash), None)
    if same is not None:
        if same.name != request.name:
            raise IdempotencyConflict(request.id)
        return same
    limit = program.beneficiaries.max_count
    if len(named) >= limit:
        raise BeneficiaryLimit(
            f"Member {member_id} already names {len(named)} beneficiaries, the most this "
            f"program allows ({limit}, waiting ones included). Remove one first.",
            member_id=member_id,
            limit=limit,
        )
    beneficiary_id = uow.redemptions.add_beneficiary(
        member_id=member_id,
        name=request.name,
        id_type=request.id_type,
        id_number_enc=vault.encrypt(id_number),
        id_hash=request.id_hash,
        added_on=today,
        effective_from=today + timedelta(days=program.beneficiaries.wait_days),
    )
    record = uow.redemptions.beneficiary(beneficiary_id)
    assert record is not None  # noqa: S101 - inserted just above
    return record


def list_beneficiaries(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    member_id: int,
    now: datetime,
    include_removed: bool = False,
) -> list[Beneficiary]:
    """The member's beneficiaries, oldest first, each with its status on the local day of `now`."""
    today = local_date(now, program.timezone)
    with uow:
        if uow.members.get(member_id) is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        named = uow.redemptions.beneficiaries_of(member_id, include_removed=include_removed)
    return [_shown(vault, record, today) for record in named]


def remove_beneficiary(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    member_id: int,
    beneficiary_id: int,
    now: datetime,
) -> Beneficiary:
    """Remove a beneficiary from the local day of `now`; removing one again changes nothing."""
    today = local_date(now, program.timezone)
    with uow:
        uow.redemptions.lock_member(member_id)
        _of_member(uow, member_id, beneficiary_id)
        uow.redemptions.remove_beneficiary(beneficiary_id, on=today)
        removed = uow.redemptions.beneficiary(beneficiary_id)
        journal.record(
            uow,
            "remove_beneficiary",
            at=now,
            member_id=member_id,
            beneficiary_id=beneficiary_id,
        )
        uow.commit()
    assert removed is not None  # noqa: S101 - beneficiaries are never deleted
    return _shown(vault, removed, today)


def _of_member(uow: UnitOfWork, member_id: int, beneficiary_id: int) -> BeneficiaryRecord:
    record = uow.redemptions.beneficiary(beneficiary_id)
    if record is None or record.member_id != member_id:
        raise NotFound(
            f"Member {member_id} has no beneficiary {beneficiary_id}.",
            member_id=member_id,
            beneficiary_id=beneficiary_id,
        )
    return record


def require_effective(
    uow: UnitOfWork, *, member_id: int, beneficiary_id: int, today: date
) -> BeneficiaryRecord:
    """The member's beneficiary, inside an open unit of work, if effective on `today`."""
    record = _of_member(uow, member_id, beneficiary_id)
    status = record.status_on(today)
    if status != "effective":
        when = (
            f"was removed on {record.removed_on}"
            if record.removed_on is not None
            else f"becomes effective on {record.effective_from}"
        )
        raise BeneficiaryNotEffective(
            f"Beneficiary {beneficiary_id} {when}; tickets can be redeemed only for effective "
            "beneficiaries.",
            beneficiary_id=beneficiary_id,
            status=status,
            effective_from=record.effective_from.isoformat(),
        )
    return record
