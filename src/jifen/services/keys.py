"""API keys: created with a role, shown once, stored hashed, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jifen.domain.errors import InvalidRequest, NotFound
from jifen.services import audit
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.key_repository import StoredKey

ROLES = ("admin", "operator", "integrator", "analyst", "partner")
SYSTEM = "system"
"""The actor audited for keys made or revoked outside the API (the CLI, tests)."""


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made: `token` is shown this once and never stored."""

    token: str
    prefix: str
    role: str


def _hash(secret: str) -> str:
    # Keys are 256 random bits: a plain SHA-256 is as strong as a slow hash here.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(
    uow: UnitOfWork,
    *,
    role: str,
    label: str | None,
    now: datetime,
    actor: str = SYSTEM,
    partner_code: str | None = None,
) -> NewKey:
    """Make a key for `role`; the caller shows `token` once. Audited as done by `actor`.

    A `partner` key may be bound to one partner (`partner_code`): it then acts for that partner
    only; a partner key without one can call no partner endpoint.
    """
    if role not in ROLES:
        raise InvalidRequest(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if partner_code is not None and role != "partner":
        raise InvalidRequest("Only a partner key is bound to a partner.", field="partner")
    prefix, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
    with uow:
        if partner_code is not None and uow.partners.get(partner_code) is None:
            raise NotFound(f"No partner {partner_code!r}.", partner=partner_code)
        uow.keys.add(StoredKey(prefix, _hash(secret), role, label, now, None, partner_code))
        details: dict[str, Any] = {"role": role, "label": label}
        if partner_code is not None:
            details["partner"] = partner_code
        _audit(uow, "key.created", prefix=prefix, actor=actor, now=now, details=details)
        uow.commit()
    return NewKey(f"jf_{prefix}_{secret}", prefix, role)


def authenticate(uow: UnitOfWork, token: str) -> StoredKey | None:
    """The live key behind `token`, or None for anything else."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "jf":
        return None
    with uow:
        key = uow.keys.get(parts[1])
    if key is None or key.revoked_at is not None:
        return None
    return key if hmac.compare_digest(key.secret_hash, _hash(parts[2])) else None


def revoke_key(uow: UnitOfWork, *, prefix: str, now: datetime, actor: str = SYSTEM) -> None:
    """Revoke a key at once; `NotFound` when no live key has that prefix. Audited."""
    with uow:
        if not uow.keys.revoke(prefix, now):
            raise NotFound(f"No live key with prefix {prefix!r}.", prefix=prefix)
        key = uow.keys.get(prefix)
        details = {"role": key.role if key else None, "label": key.label if key else None}
        _audit(uow, "key.revoked", prefix=prefix, actor=actor, now=now, details=details)
        uow.commit()


def _audit(
    uow: UnitOfWork, action: str, *, prefix: str, actor: str, now: datetime, details: dict[str, Any]
) -> None:
    audit.record(uow, at=now, actor=actor, action=action, subject=f"key:{prefix}", details=details)


def list_keys(uow: UnitOfWork) -> list[StoredKey]:
    """Every key, without secrets."""
    with uow:
        return uow.keys.all()
