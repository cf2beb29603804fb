"""Signed session cookies and CSRF tokens shared by the console and the portal."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request

from jifen.domain.errors import JifenError

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class CsrfFailed(JifenError):
    """A form came without the token of the session that showed it."""

    code = "csrf_failed"
    status = 403


def session_secret(hash_key: str, configured: str = "") -> str:
    """The configured session secret, else one derived from the hash key (never the key itself)."""
    if configured:
        return configured
    return hmac.new(hash_key.encode(), b"jifen web session", hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    if "session" not in request.scope:
        return ""
    token = request.session.get(CSRF_FIELD)
    if token is None:
        token = request.session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request whose form field or header lacks the session's token."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = request.session.get(CSRF_FIELD)
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfFailed(
            "This form is out of date or came from another site; reload the page and try again."
        )
