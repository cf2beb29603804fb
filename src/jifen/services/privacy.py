"""Privacy rights (SPEC §3): a member's data export, erasure, and re-encryption under a new key.

The export is the one place a member's own ID number and phone leave Jifen in full: they are the
member's data, handed to them. Erasure pseudonymises the identity (the member can no longer be
found by ID number or phone, and the same person may enrol again) and keeps every ledger amount
for accounting. Rotation re-encrypts every encrypted column under the vault's newest key.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from jifen.domain.calendar import local_date, local_datetime
from jifen.domain.errors import InvalidRequest, NotFound
from jifen.programs.schema import Program
from jifen.services import audit, journal
from jifen.services.member_status import close_member
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault, VaultKeyError
from jifen.storage.privacy_repository import ENCRYPTED_COLUMNS, PrivacyRepository, Row

EXPORT_FORMAT = "jifen.member-export/1"
ERASED_NAME = "已注销 erased-{n}"
"""The name an erased member is shown under (`n` is the member id)."""
ERASED_BENEFICIARY_NAME = "已注销 erased-b{n}"
ERASED_ID_NUMBER = "ERASED"
"""What an erased beneficiary's ID number column encrypts (the column may not be empty)."""

_LISTS = (
    "balances",
    "tier_history",
    "lots",
    "pending_points",
    "ledger_entries",
    "events",
    "tickets",
    "earnings",
    "reminders",
    "mall_orders",
    "coupons",
    "donations",
    "adjustments",
)


def _plain(value: Any, tz: str) -> Any:
    if isinstance(value, datetime):
        return local_datetime(value, tz).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _plain_rows(rows: list[Row], tz: str) -> list[Row]:
    return [{k: _plain(v, tz) for k, v in row.items()} for row in rows]


def _open(vault: IdentityVault, token: str | None) -> str | None:
    if token is None:
        return None
    text = vault.decrypt(token)
    return None if text == ERASED_ID_NUMBER else text


def _identity(member: Row, vault: IdentityVault, program: Program, *, erased: bool) -> Row:
    tz = program.timezone
    return {
        "member_id": member["id"],
        "status": member["status"],
        "erased": erased,
        "name": member["name"],
        "id_type": member["id_type"],
        "id_number": _open(vault, member["id_number_enc"]),
        "phone": _open(vault, member["phone_enc"]),
        "birth_date": _plain(member["birth_date"], tz),
        "joined_at": _plain(member["joined_at"], tz),
        "tier": {
            "code": member["tier_code"] or program.tiers.join_tier,
            "valid_until": _plain(member["tier_valid_until"], tz),
            "in_grace": member["tier_in_grace"],
        },
        "redemption_unlocked_on": _plain(member["redemption_unlocked_on"], tz),
    }


def export_member(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    member_id: int,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """Everything held about the member, as plain JSON data; the export itself is audited.

    The member's and their beneficiaries' ID numbers and the phone are decrypted in full; events
    and tickets are as kept (ID numbers masked). Times are ISO 8601 in the program's zone.
    `NotFound` when there is no such member.
    """
    tz = program.timezone
    with uow:
        privacy = uow.privacy
        member = privacy.member(member_id)
        if member is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        data: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "exported_at": _plain(now, tz),
            "program": program.code,
            "member": _identity(member, vault, program, erased=privacy.erased(member_id)),
        }
        for name in _LISTS:
            data[name] = _plain_rows(getattr(privacy, name)(member_id), tz)
        data["beneficiaries"] = [
            {
                "beneficiary_id": b["id"],
                "name": b["name"],
                "id_type": b["id_type"],
                "id_number": _open(vault, b["id_number_enc"]),
                "added_on": _plain(b["added_on"], tz),
                "effective_from": _plain(b["effective_from"], tz),
                "removed_on": _plain(b["removed_on"], tz),
            }
            for b in privacy.beneficiaries(member_id)
        ]
        actions = _plain_rows(privacy.redemption_actions(member_id), tz)
        data["redemptions"] = [
            {**r, "actions": [a for a in actions if a["redemption_id"] == r["id"]]}
            for r in _plain_rows(privacy.redemptions(member_id), tz)
        ]
        data["audit"] = _plain_rows(privacy.audit_rows(member_id), tz)
        details = {"sections": sorted(k for k, v in data.items() if isinstance(v, list) and v)}
        _record(uow, "member.exported", member_id=member_id, actor=actor, now=now, details=details)
        uow.commit()
    return data


@dataclass(frozen=True, slots=True)
class Erasure:
    """An erasure's outcome; `changed` is False when the member had been erased before.

    `previous` is the status before; a member not yet closed is closed by the erasure, so
    `forfeited` and `voided_pending` are what that close settled.
    """

    member_id: int
    name: str
    previous: str
    changed: bool
    beneficiaries: int = 0
    forfeited: dict[str, int] = field(default_factory=dict)
    voided_pending: int = 0


def erase_member(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    member_id: int,
    reason: str,
    actor: str,
    now: datetime,
) -> Erasure:
    """Pseudonymise the member and their beneficiaries, closing the member first if need be.

    In one transaction: an open member is closed as `close_member` does (spendable points
    forfeited, pending voided; `OpenRedemptions` while a redemption holds points); the name
    becomes `已注销 erased-<id>`; ID number, phone and birth date are cleared; the lookup hashes
    become random, so the identity finds nobody and can enrol again. Beneficiaries likewise.
    Ledger amounts, lots, events (masked) and orders are kept. Erasing again changes nothing.
    """
    with uow:
        privacy = uow.privacy
        if privacy.member(member_id) is None:
            raise NotFound(f"No member {member_id}.", member_id=member_id)
        # Balance rows, then the member row: the order closing and every posting take them in.
        uow.ledger.lock_balances([(member_id, kind) for kind in sorted(program.kind_codes)])
        member = privacy.lock_member(member_id)
        assert member is not None  # noqa: S101 - members are never deleted
        if privacy.erased(member_id):
            return Erasure(member_id, member["name"], member["status"], changed=False)
        erasure = Erasure(member_id, ERASED_NAME.format(n=member_id), member["status"], True)
        if member["status"] != "closed":
            closed = close_member(
                uow, program=program, member_id=member_id, reason=reason, actor=actor, now=now
            )
            erasure = replace(
                erasure, forfeited=closed.forfeited, voided_pending=closed.voided_pending
            )
        privacy.pseudonymise_member(
            member_id,
            name=erasure.name,
            id_hash=_random_hash(),
            phone_hash=_random_hash() if member["phone_hash"] else None,
        )
        today = local_date(now, program.timezone)
        erasure = replace(
            erasure, beneficiaries=_erase_beneficiaries(privacy, vault, member_id, today)
        )
        details = {
            "reason": reason,
            "previous": erasure.previous,
            "beneficiaries": erasure.beneficiaries,
            "forfeited": erasure.forfeited,
            "voided_pending": erasure.voided_pending,
        }
        _record(uow, "member.erased", member_id=member_id, actor=actor, now=now, details=details)
        journal.record(uow, "erase_member", at=now, member_id=member_id, reason=reason, actor=actor)
        uow.commit()
    return erasure


def _erase_beneficiaries(
    privacy: PrivacyRepository, vault: IdentityVault, member_id: int, today: date
) -> int:
    named = privacy.beneficiaries(member_id)
    for b in named:
        privacy.pseudonymise_beneficiary(
            b["id"],
            name=ERASED_BENEFICIARY_NAME.format(n=b["id"]),
            id_number_enc=vault.encrypt(ERASED_ID_NUMBER),
            id_hash=_random_hash(),
            removed_on=today,
        )
    return len(named)


def _random_hash() -> str:
    # As long as a lookup hash, and no HMAC of any identity: the row finds nobody any more.
    return secrets.token_hex(32)


def _record(
    uow: UnitOfWork, action: str, *, member_id: int, actor: str, now: datetime, details: Row
) -> None:
    audit.record(
        uow, at=now, actor=actor, action=action, subject=f"member:{member_id}", details=details
    )


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did per `table.column`, and the values no configured key could open."""

    rotated: dict[str, int]
    current: dict[str, int]
    unreadable: list[str]


def encrypted_values(uow: UnitOfWork) -> int:
    """How many encrypted values are stored (a progress bar's total)."""
    with uow:
        privacy = uow.privacy
        return sum(privacy.count_encrypted(table, column) for table, column in ENCRYPTED_COLUMNS)


def rotate_vault(
    uow: UnitOfWork,
    *,
    vault: IdentityVault,
    now: datetime,
    actor: str = "cli",
    batch: int = 500,
    newest_only: IdentityVault | None = None,
    progress: Callable[[int], None] | None = None,
) -> Rotation:
    """Re-encrypt every encrypted column under `vault`'s newest key, `batch` rows per transaction.

    A crash loses at most the chunk in flight; run it again to finish. With `newest_only` (a vault
    holding just the newest key), values it already opens are left as they are, so a rerun only
    reads what an earlier run did. A value no key opens is listed in `unreadable` (as
    `table.column:id`) and left alone; the others go on. Audited as `vault.rotated`.
    """
    if batch < 1:
        raise InvalidRequest(f"The batch must hold at least one row; got {batch}.", batch=batch)
    rotated: dict[str, int] = {}
    current: dict[str, int] = {}
    unreadable: list[str] = []
    for table, column in ENCRYPTED_COLUMNS:
        name = f"{table.name}.{column}"
        rotated[name] = current[name] = 0
        after = 0
        while True:
            with uow:
                privacy = uow.privacy
                chunk = privacy.encrypted_chunk(table, column, after_id=after, limit=batch)
                changes = []
                for row_id, token in chunk:
                    if newest_only is not None and _opens(newest_only, token):
                        current[name] += 1
                        continue
                    try:
                        changes.append((row_id, token, vault.rotate(token)))
                    except VaultKeyError:
                        unreadable.append(f"{name}:{row_id}")
                privacy.replace_tokens(table, column, changes)
                uow.commit()
            rotated[name] += len(changes)
            if progress is not None:
                progress(len(chunk))
            if len(chunk) < batch:
                break
            after = chunk[-1][0]
    report = Rotation(rotated, current, unreadable)
    with uow:
        details = {"rotated": rotated, "current": current, "unreadable": len(unreadable)}
        audit.record(
            uow, at=now, actor=actor, action="vault.rotated", subject="vault", details=details
        )
        uow.commit()
    return report


def _opens(vault: IdentityVault, token: str) -> bool:
    try:
        vault.decrypt(token)
    except VaultKeyError:
        return False
    return True
