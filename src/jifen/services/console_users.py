"""Use cases: console accounts with a role, made from the CLI and signed in with a password."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

from jifen.domain.errors import InvalidRequest, JifenError
from jifen.services import audit
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.console_user_repository import ConsoleUser

CONSOLE_ROLES = ("admin", "operator", "analyst")
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 10
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_DECOY = "scrypt$16384$8$1$" + "0" * 32 + "$" + "0" * 64


class BadSignIn(JifenError):
    """Unknown account, wrong password or disabled account (never says which)."""

    code = "bad_sign_in"
    status = 422


class ConsoleUserExists(JifenError):
    """An account with this name already exists."""

    code = "console_user_exists"
    status = 422


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A self-describing scrypt hash: `scrypt$n$r$p$salt$hash`."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str) -> bool:
    """Whether `password` gives the stored hash (in constant time)."""
    _, n, r, p, salt, digest = stored.split("$")
    again = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), dklen=32, n=int(n), r=int(r), p=int(p)
    )
    return hmac.compare_digest(again.hex(), digest)


def create_console_user(
    uow: UnitOfWork,
    *,
    username: str,
    password: str,
    role: str,
    now: datetime,
    replace: bool = False,
) -> int:
    """Make a console account (or, with `replace`, reset one's password and role); audited.

    Refuses weak passwords, unknown roles, and an existing name unless `replace`.
    """
    if role not in CONSOLE_ROLES:
        raise InvalidRequest(f"A console role is one of: {', '.join(CONSOLE_ROLES)}.", role=role)
    if not USERNAME.match(username):
        raise InvalidRequest(
            "A user name is 2–64 letters, digits or `_ . @ -`.", username=username[:64]
        )
    if len(password) < MIN_PASSWORD:
        raise InvalidRequest(f"A password needs at least {MIN_PASSWORD} characters.")
    with uow:
        existing = uow.console_users.by_username(username)
        if existing and not replace:
            raise ConsoleUserExists(
                f"There is already a console user {username!r}; add --replace to reset it."
            )
        if existing:
            user_id = existing.id
            uow.console_users.set_password(
                user_id, password_hash=hash_password(password), role=role
            )
        else:
            user_id = uow.console_users.add(
                username=username, password_hash=hash_password(password), role=role, now=now
            )
        audit.record(
            uow,
            at=now,
            actor="cli",
            action="console_user.reset" if existing else "console_user.created",
            subject=f"console_user:{username}",
            details={"role": role},
        )
        uow.commit()
    return user_id


def sign_in(uow: UnitOfWork, *, username: str, password: str) -> ConsoleUser:
    """The account when name and password match and it is not disabled; `BadSignIn` otherwise."""
    with uow:
        user = uow.console_users.by_username(username)
    matches = password_matches(password, user.password_hash if user else _DECOY)
    if user is None or not matches or user.disabled_at is not None:
        raise BadSignIn("The user name or password is wrong.")
    return user


def signed_in_user(uow: UnitOfWork, user_id: int) -> ConsoleUser | None:
    """The live account behind a session, or None when it is gone or disabled."""
    with uow:
        user = uow.console_users.by_id(user_id)
    return user if user and user.disabled_at is None else None
