"""Bearer tokens of a member's own API (/v1/me): issued at sign-in, short-lived, revocable.

A member signs in as on the portal (a one-time link, or an SMS code) and gets a token of 256
random bits, prefixed `jm_` so that it never looks like an operator's API key (`jf_…`). Only its
SHA-256 is stored. It lasts `IDLE` from its last use, and never more than `LIFETIME` after it was
issued; signing out revokes it at once. A token of a member who may no longer sign in (closed)
signs in nothing. Every moment comes from the caller's clock.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from jifen.domain.errors import JifenError
from jifen.services import portal_sign_in
from jifen.services.unit_of_work import UnitOfWork

IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # an app calling many times a minute writes once a minute
PREFIX = "jm_"


class MemberTokenInvalid(JifenError):
    """No member token, or one that is unknown, expired or revoked."""

    code = "member_token_invalid"
    status = 401


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just issued: `token` is shown this once and never stored."""

    token: str
    member_id: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Bearer:
    """The member a live token signs in, and the token's row (to sign out with)."""

    member_id: int
    token_id: int
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _refused() -> MemberTokenInvalid:
    return MemberTokenInvalid(
        "Send a live member token as `Authorization: Bearer <token>`; "
        "get one from POST /v1/me/sign-in."
    )


def issue(uow: UnitOfWork, *, member_id: int, now: datetime) -> IssuedToken:
    """A new token for a member who has just proved themself, valid `IDLE` from `now`."""
    token = PREFIX + secrets.token_urlsafe(32)
    expires_at = now + IDLE
    with uow:
        uow.portal.add_token(
            token_hash=_hash(token), member_id=member_id, created_at=now, expires_at=expires_at
        )
        uow.commit()
    return IssuedToken(token, member_id, expires_at)


def sign_in_with_link(uow: UnitOfWork, *, link_token: str, now: datetime) -> IssuedToken:
    """Use a one-time sign-in link (`jifen portal link`) for a token; `LinkNotValid` if spent."""
    member_id = portal_sign_in.use_link(uow, token=link_token, now=now)
    return issue(uow, member_id=member_id, now=now)


def sign_in_with_code(
    uow: UnitOfWork, *, challenge_id: int, code: str, now: datetime
) -> IssuedToken:
    """Use an SMS code (`portal_sign_in.request_code`) for a token; `CodeNotValid` if wrong."""
    member_id = portal_sign_in.check_code(uow, challenge_id=challenge_id, code=code, now=now)
    return issue(uow, member_id=member_id, now=now)


def authenticate(uow: UnitOfWork, *, token: str | None, now: datetime) -> Bearer:
    """The member behind a live token, sliding its expiry; `MemberTokenInvalid` otherwise.

    A use moves the expiry to `IDLE` after `now`, but never past `LIFETIME` after issue; uses
    within `TOUCH_EVERY` of the last recorded one read only (the expiry lags by under a minute).
    """
    if not token or not token.startswith(PREFIX):
        raise _refused()
    with uow:
        stored = uow.portal.token(_hash(token))
        if stored is None or stored.revoked_at is not None or now >= stored.expires_at:
            raise _refused()
        member = uow.members.get(stored.member_id)
        if member is None or member.status not in portal_sign_in.SIGN_IN_STATUSES:
            raise _refused()
        last = stored.last_used_at
        if last is not None and now - last < TOUCH_EVERY:
            return Bearer(stored.member_id, stored.id, stored.expires_at)
        expires_at = min(now + IDLE, stored.created_at + LIFETIME)
        if not uow.portal.touch_token(stored.id, now=now, expires_at=expires_at):
            raise _refused()
        uow.commit()
    return Bearer(stored.member_id, stored.id, expires_at)


def sign_out(uow: UnitOfWork, *, bearer: Bearer, now: datetime) -> None:
    """Revoke the token the member signed in with; it works no more."""
    with uow:
        uow.portal.revoke_token(bearer.token_id, now=now)
        uow.commit()
