"""Signing members in to the portal: one-time links (demo, support) and SMS codes (real use).

A link is a random token of 192 bits; only its SHA-256 is stored, with the member, an expiry and
the moment it was used, so it signs in once. An SMS code is six digits, stored hashed, valid five
minutes and good for five tries. Asking for a code looks the same whether or not a member has the
phone (no enumeration): a row is written either way, and one without a member never matches. A
phone gets at most one code a minute and five a day. Every moment comes from the caller's clock.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from jifen.domain.errors import InvalidRequest, JifenError, NotFound
from jifen.domain.identity import mask_phone, normalise_phone, validate_phone
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault

log = logging.getLogger(__name__)

LINK_MINUTES = 15
MAX_LINK_MINUTES = 7 * 24 * 60
CODE_TTL = timedelta(minutes=5)
CODE_MAX_ATTEMPTS = 5
CODE_RESEND_AFTER = timedelta(minutes=1)
CODES_PER_DAY = 5  # with five tries each: 25 guesses of a million a day per phone
SIGN_IN_STATUSES = ("active", "frozen")  # a frozen member may still look at their points


class LinkNotValid(JifenError):
    """The sign-in link is unknown, used already, or expired."""

    code = "portal_link_invalid"
    status = 422


class CodeNotValid(JifenError):
    """The SMS code is wrong, expired, used, or has had too many tries."""

    code = "portal_code_invalid"
    status = 422


class TooManyCodes(JifenError):
    """The phone has been sent as many codes as a day allows (against guessing)."""

    code = "portal_too_many_codes"
    status = 429


class SmsSender(Protocol):
    """Sends a text message to a phone (the operator's SMS gateway in production)."""

    def send(self, phone: str, text: str) -> None:
        """Send `text` to `phone`."""


class LogSmsSender:
    """Development sender: logs that a code went out, phone masked; the text only at debug."""

    def send(self, phone: str, text: str) -> None:
        """Log the (masked) phone; the text with the code only at debug level."""
        log.info("portal sign-in code sent to %s", mask_phone(normalise_phone(phone)))
        log.debug("portal sign-in text: %s", text)


@dataclass
class OutboxSmsSender:
    """An in-memory sender whose messages tests (and a sandbox) can read."""

    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, phone: str, text: str) -> None:
        """Keep the message."""
        self.sent.append((normalise_phone(phone), text))


@dataclass(frozen=True, slots=True)
class CodeRequest:
    """What the portal keeps after a code was asked for: the challenge and whether one went out."""

    challenge_id: int
    masked_phone: str
    sent: bool


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def create_link(
    uow: UnitOfWork, *, member_id: int, now: datetime, minutes: int = LINK_MINUTES
) -> str:
    """A new one-time sign-in token for the member, valid `minutes` from `now`."""
    if not 1 <= minutes <= MAX_LINK_MINUTES:
        raise InvalidRequest(f"A link lasts 1 to {MAX_LINK_MINUTES} minutes, not {minutes}.")
    token = secrets.token_urlsafe(24)
    with uow:
        member = uow.members.get(member_id)
        if member is None or member.status not in SIGN_IN_STATUSES:
            raise NotFound(f"No member {member_id} who may sign in.", member_id=member_id)
        uow.portal.add_link(
            token_hash=_sha256(token),
            member_id=member_id,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
        uow.commit()
    return token


def use_link(uow: UnitOfWork, *, token: str, now: datetime) -> int:
    """The member the token signs in, marking it used; `LinkNotValid` if used or expired."""
    with uow:
        member_id = uow.portal.use_link(_sha256(token), now=now)
        member = None if member_id is None else uow.members.get(member_id)
        if member is None or member.status not in SIGN_IN_STATUSES:
            raise LinkNotValid("This sign-in link has been used or has expired.")
        uow.commit()
    return member.id


def _code_hash(phone_hash: str, code: str) -> str:
    # Salted by the phone's keyed hash; a code lives five minutes and five tries.
    return _sha256(f"{phone_hash}:{code}")


def _holder(uow: UnitOfWork, phone_hash: str) -> int | None:
    # A phone may be shared; the oldest member still able to sign in gets the code.
    holders = uow.members.find_by_phone(phone_hash)
    return next((m.id for m in holders if m.status in SIGN_IN_STATUSES), None)


def request_code(
    uow: UnitOfWork, *, vault: IdentityVault, sender: SmsSender, phone: str, now: datetime
) -> CodeRequest:
    """Send a sign-in code to `phone` if a member has it; the answer looks the same if not.

    A second request within a minute sends nothing and returns the first challenge.
    Raises `InvalidIdentity` for something that is not a mobile number.
    """
    number = validate_phone(phone)
    phone_hash = vault.phone_hash(number)
    masked = mask_phone(number)
    code = f"{secrets.randbelow(10**6):06d}"
    with uow:
        repo = uow.portal
        latest = repo.latest_code(phone_hash)
        if latest is not None and now - latest.created_at < CODE_RESEND_AFTER:
            return CodeRequest(latest.id, masked, sent=False)
        if repo.codes_since(phone_hash, now - timedelta(days=1)) >= CODES_PER_DAY:
            raise TooManyCodes(
                f"This phone has been sent {CODES_PER_DAY} codes in the last 24 hours; "
                "try again tomorrow.",
                most=CODES_PER_DAY,
            )
        member_id = _holder(uow, phone_hash)
        challenge = repo.add_code(
            phone_hash=phone_hash,
            member_id=member_id,
            code_hash=_code_hash(phone_hash, code),
            created_at=now,
            expires_at=now + CODE_TTL,
        )
        uow.commit()
    if member_id is not None:
        minutes = int(CODE_TTL.total_seconds() // 60)
        sender.send(
            number,
            f"【积分】登录验证码 {code}，{minutes} 分钟内有效。"
            f"Jifen sign-in code {code}, valid {minutes} minutes.",
        )
    return CodeRequest(challenge, masked, sent=True)


def check_code(uow: UnitOfWork, *, challenge_id: int, code: str, now: datetime) -> int:
    """The member a right code signs in (once); `CodeNotValid` otherwise, counting the try."""
    refused = CodeNotValid(
        "The code is wrong or has expired; check the message or ask for a new code."
    )
    with uow:
        repo = uow.portal
        stored = repo.code(challenge_id)
        if stored is None or stored.used_at is not None or now >= stored.expires_at:
            raise refused
        if not repo.count_attempt(stored.id, most=CODE_MAX_ATTEMPTS):
            raise CodeNotValid(
                "This code has had too many wrong tries; ask for a new code.",
                attempts=CODE_MAX_ATTEMPTS,
            )
        right = hmac.compare_digest(_code_hash(stored.phone_hash, code.strip()), stored.code_hash)
        if not right or stored.member_id is None or not repo.use_code(stored.id, now=now):
            uow.commit()  # the try counts
            raise refused
        uow.commit()
    return stored.member_id
