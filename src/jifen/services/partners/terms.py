"""Partners as operator data: add one with its terms, list them, suspend or resume one."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Literal, get_args

from jifen.domain.errors import InvalidRequest, JifenError, NotFound
from jifen.domain.partners import MilesRate
from jifen.programs.schema import Program
from jifen.services import audit, journal
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.partner_repository import PartnerRecord

CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,23}$")
PartnerStatus = Literal["active", "suspended"]
STATUSES: tuple[str, ...] = get_args(PartnerStatus)
MAX_POINTS = 1_000_000_000


class PartnerExists(JifenError):
    """A partner with this code exists with other terms."""

    code = "partner_exists"
    status = 409


class PartnerInactive(JifenError):
    """The partner is suspended: it may not award or exchange points."""

    code = "partner_inactive"
    status = 409


@dataclass(frozen=True, slots=True)
class PartnerTerms:
    """What an operator sets for a partner. Limits count points credited (awards and exchanges)."""

    code: str
    name: str
    point_kind: str
    max_points_per_award: int
    max_points_per_member_day: int
    max_points_per_month: int
    price_per_1000_points_fen: int
    rate: MilesRate | None = None
    min_miles: int = 1


def _checked(program: Program, terms: PartnerTerms) -> None:
    if not CODE.match(terms.code):
        raise InvalidRequest(
            f"A partner code is 2–24 lower-case letters, digits, '-' or '_', not {terms.code!r}.",
            field="code",
        )
    if not terms.name.strip():
        raise InvalidRequest("A partner needs a name.", field="name")
    spendable = sorted(k.code for k in program.point_kinds if k.spendable)
    if terms.point_kind not in spendable:
        raise InvalidRequest(
            f"Partners award a spendable point kind ({', '.join(spendable)}), "
            f"not {terms.point_kind!r}.",
            field="point_kind",
        )
    limits = {
        "max_points_per_award": terms.max_points_per_award,
        "max_points_per_member_day": terms.max_points_per_member_day,
        "max_points_per_month": terms.max_points_per_month,
    }
    for field, value in limits.items():
        if not 0 < value <= MAX_POINTS:
            raise InvalidRequest(f"{field} must be 1 to {MAX_POINTS:,}, not {value}.", field=field)
    if terms.price_per_1000_points_fen < 0:
        raise InvalidRequest("The price cannot be negative.", field="price_per_1000_points_fen")
    if terms.min_miles < 1:
        raise InvalidRequest("The minimum exchange is at least 1 mile.", field="min_miles")


def _record(terms: PartnerTerms, now: datetime) -> PartnerRecord:
    return PartnerRecord(
        code=terms.code,
        name=terms.name.strip(),
        point_kind=terms.point_kind,
        max_points_per_award=terms.max_points_per_award,
        max_points_per_member_day=terms.max_points_per_member_day,
        max_points_per_month=terms.max_points_per_month,
        exchange_miles=terms.rate.miles if terms.rate else None,
        exchange_points=terms.rate.points if terms.rate else None,
        min_miles=terms.min_miles,
        price_per_1000_points_fen=terms.price_per_1000_points_fen,
        status="active",
        created_at=now,
    )


def add_partner(
    uow: UnitOfWork, *, program: Program, terms: PartnerTerms, actor: str, now: datetime
) -> PartnerRecord:
    """Add a partner (audited); the same terms again return it, others raise `PartnerExists`."""
    _checked(program, terms)
    new = _record(terms, now)
    with uow:
        partners = uow.partners
        stored = partners.get(terms.code)
        if stored is None and partners.add(new):
            details = {k: v for k, v in asdict(new).items() if k != "created_at"}
            subject = f"partner:{new.code}"
            audit.record(
                uow, at=now, actor=actor, action="partner.created", subject=subject, details=details
            )
            journal.record(uow, "add_partner", at=now, terms=terms, actor=actor)
            uow.commit()
            return new
    with uow:  # it exists (perhaps added a moment ago by a concurrent request)
        stored = uow.partners.get(terms.code)
    assert stored is not None  # noqa: S101 - the code is taken, so the partner exists
    if replace(stored, status="active", created_at=now) != new:
        raise PartnerExists(
            f"Partner {terms.code!r} already exists with other terms.", code=terms.code
        )
    return stored


def list_partners(uow: UnitOfWork, *, code: str | None = None) -> list[PartnerRecord]:
    """Every partner by code, or just the one with `code`."""
    with uow:
        partners = uow.partners
        if code is None:
            return partners.all()
        found = partners.get(code)
    return [] if found is None else [found]


def get_partner(uow: UnitOfWork, code: str) -> PartnerRecord:
    """A partner by code; `NotFound` when there is none."""
    found = list_partners(uow, code=code)
    if not found:
        raise NotFound(f"No partner {code!r}.", partner=code)
    return found[0]


def set_partner_status(
    uow: UnitOfWork, *, code: str, status: str, reason: str, actor: str, now: datetime
) -> PartnerRecord:
    """Suspend a partner (its awards and exchanges are refused) or make it active again."""
    if status not in STATUSES:
        raise InvalidRequest(f"A partner is active or suspended, not {status!r}.", field="status")
    with uow:
        partners = uow.partners
        partner = partners.get(code)
        if partner is None:
            raise NotFound(f"No partner {code!r}.", partner=code)
        if partner.status != status:
            partners.set_status(code, status)
            details = {"previous": partner.status, "status": status, "reason": reason}
            action = "partner.suspended" if status == "suspended" else "partner.activated"
            audit.record(
                uow, at=now, actor=actor, action=action, subject=f"partner:{code}", details=details
            )
            journal.record(
                uow,
                "set_partner_status",
                at=now,
                code=code,
                status=status,
                reason=reason,
                actor=actor,
            )
            uow.commit()
    return replace(partner, status=status)
