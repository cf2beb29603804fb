"""Portal sign-in: a one-time link, or a phone number and an SMS code; and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from jifen.api.deps import UowDep, VaultDep
from jifen.domain.identity import InvalidIdentity
from jifen.services import portal_sign_in
from jifen.services.portal_sign_in import CodeNotValid, LinkNotValid, LogSmsSender, SmsSender
from jifen.web.portal.context import gettext
from jifen.web.security import check_csrf
from jifen.web.session import MEMBER_KEY
from jifen.web.templating import render

router = APIRouter(prefix="/portal")
CHALLENGE_KEY = "portal_challenge"
PHONE_KEY = "portal_masked_phone"
_DEFAULT_SENDER = LogSmsSender()


def sms_sender(request: Request) -> SmsSender:
    """The app's SMS sender (`app.state.portal_sms`), else the development log sender."""
    return getattr(request.app.state, "portal_sms", _DEFAULT_SENDER)


def _safe_next(target: str | None) -> str:
    # Only portal paths, and never back to a sign-in page.
    if target and target.startswith("/portal") and not target.startswith("/portal/login"):
        return target
    return "/portal"


def _signed_in(request: Request, member_id: int, target: str | None) -> Response:
    request.session.clear()  # a new session on sign-in: no fixation
    request.session[MEMBER_KEY] = member_id
    return RedirectResponse(_safe_next(target), status_code=303)


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:  # noqa: A002
    """Ask for a phone number."""
    return render(request, "portal/login.html", {"next": _safe_next(next)})


@router.post("/login/code", dependencies=[Depends(check_csrf)])
def ask_code(
    request: Request,
    uow: UowDep,
    vault: VaultDep,
    phone: Annotated[str, Form(max_length=40)],
    next: Annotated[str, Form(max_length=300)] = "/portal",  # noqa: A002
) -> Response:
    """Send a code if a member has this phone; the next page is the same either way."""
    _ = gettext(request)
    try:
        asked = portal_sign_in.request_code(
            uow,
            vault=vault,
            sender=sms_sender(request),
            phone=phone,
            now=request.app.state.jifen.clock.now(),
        )
    except InvalidIdentity:
        error = _("Enter a mainland mobile number of 11 digits.")
        context = {"next": _safe_next(next), "error": error}
        return render(request, "portal/login.html", context, status_code=400)
    except portal_sign_in.TooManyCodes:
        error = _("This phone has been sent five codes today; try again tomorrow.")
        context = {"next": _safe_next(next), "error": error}
        return render(request, "portal/login.html", context, status_code=429)
    request.session[CHALLENGE_KEY] = asked.challenge_id
    request.session[PHONE_KEY] = asked.masked_phone
    messages = (
        []
        if asked.sent
        else [{"kind": "warn", "text": _("A code was sent less than a minute ago; use that one.")}]
    )
    return render(
        request,
        "portal/code.html",
        {"next": _safe_next(next), "masked_phone": asked.masked_phone, "messages": messages},
    )


@router.post("/login/verify", dependencies=[Depends(check_csrf)])
def verify_code(
    request: Request,
    uow: UowDep,
    code: Annotated[str, Form(max_length=20)],
    next: Annotated[str, Form(max_length=300)] = "/portal",  # noqa: A002
) -> Response:
    """Sign in with the code from the text message."""
    _ = gettext(request)
    challenge = request.session.get(CHALLENGE_KEY)
    if not isinstance(challenge, int):
        return RedirectResponse("/portal/login", status_code=303)
    try:
        member_id = portal_sign_in.check_code(
            uow, challenge_id=challenge, code=code, now=request.app.state.jifen.clock.now()
        )
    except CodeNotValid as error:
        too_many = "attempts" in error.details
        text = (
            _("This code has had too many wrong tries; ask for a new code.")
            if too_many
            else _("The code is wrong or has expired; check the message or ask for a new code.")
        )
        context = {
            "next": _safe_next(next),
            "masked_phone": request.session.get(PHONE_KEY, ""),
            "messages": [{"kind": "error", "text": text}],
        }
        return render(request, "portal/code.html", context, status_code=400)
    return _signed_in(request, member_id, next)


@router.get("/login/{token}")
def use_link(request: Request, uow: UowDep, token: str) -> Response:
    """Sign in with a one-time link from `jifen portal link MEMBER_ID`."""
    if len(token) > 100:
        return render(request, "portal/link_invalid.html", status_code=400)
    try:
        member_id = portal_sign_in.use_link(
            uow, token=token, now=request.app.state.jifen.clock.now()
        )
    except LinkNotValid:
        return render(request, "portal/link_invalid.html", status_code=400)
    return _signed_in(request, member_id, "/portal")


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    """End the member's session."""
    request.session.pop(MEMBER_KEY, None)
    return RedirectResponse("/portal/login", status_code=303)
