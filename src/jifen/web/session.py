"""Who is signed in: console accounts and portal members, kept in the signed session cookie."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from jifen.api.deps import UowDep
from jifen.services.console_users import signed_in_user
from jifen.services.portal_sign_in import SIGN_IN_STATUSES
from jifen.storage.console_user_repository import ConsoleUser

CONSOLE_KEY = "console_user"
MEMBER_KEY = "portal_member"


class SignInRequired(Exception):
    """The page needs a signed-in user; the handler redirects to `location`."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


def _back_to(request: Request, sign_in: str) -> str:
    return f"{sign_in}?next={quote(request.url.path)}"


def console_user(request: Request, uow: UowDep) -> ConsoleUser:
    """The signed-in console user; otherwise a redirect to the sign-in page."""
    user_id = request.session.get(CONSOLE_KEY)
    user = signed_in_user(uow, user_id) if isinstance(user_id, int) else None
    if user is None:
        request.session.pop(CONSOLE_KEY, None)
        raise SignInRequired(_back_to(request, "/console/login"))
    return user


ConsoleUserDep = Annotated[ConsoleUser, Depends(console_user)]


def portal_member(request: Request, uow: UowDep) -> int:
    """The signed-in member's id; otherwise a redirect to the portal's sign-in page.

    The member is read on every request, so closing (or erasing) a member ends their sessions.
    """
    member_id = request.session.get(MEMBER_KEY)
    if isinstance(member_id, int):
        with uow:
            member = uow.members.get(member_id)
        if member is not None and member.status in SIGN_IN_STATUSES:
            return member_id
    request.session.pop(MEMBER_KEY, None)
    raise SignInRequired(_back_to(request, "/portal/login"))


PortalMemberDep = Annotated[int, Depends(portal_member)]
