"""What every portal page needs: the program's clock and words, and friendly error messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.web.templating import gettext, render, request_locale


def now(request: Request) -> datetime:
    """The app clock's instant (the sandbox clock on a simulated server), as services take it."""
    moment: datetime = request.app.state.jifen.clock.now()
    return moment


def words(request: Request, program: Program) -> dict[str, Any]:
    """Program names in the reader's language: point kinds, tiers, earning rules, benefits."""
    english = request_locale(request) == "en"
    return {
        "kind_names": {k.code: k.name.en if english else k.name.zh for k in program.point_kinds},
        "tier_names": {t.code: t.name_en if english else t.name_zh for t in program.tiers.levels},
        "rule_names": {r.code: r.name.en if english else r.name.zh for r in program.earning_rules},
        "benefit_names": {
            b.code: b.name.en if english else b.name.zh for b in program.entitlements
        },
    }


def page(
    request: Request,
    member_id: int,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a signed-in portal page (the nav shows for `member_id`)."""
    return render(
        request, name, {"member_id": member_id, **(context or {})}, status_code=status_code
    )


def friendly(request: Request, error: JifenError) -> str:
    """A refusal as the member should read it, in their language."""
    _ = gettext(request)
    messages = {
        "insufficient_points": _("You do not have enough points for this."),
        "out_of_stock": _("Sorry, this item has sold out (or not enough are left)."),
        "limit_reached": _("You have already bought as many of this item as one member may."),
        "sale_not_open": _("This item is not on sale right now; check its sale time."),
        "beneficiary_limit": _(
            "You already have the most beneficiaries allowed; remove one before adding another."
        ),
        "beneficiary_is_member": _("You cannot name yourself; you may always redeem for yourself."),
        "invalid_identity": _("The name or ID number is not valid; please check it."),
        "idempotency_conflict": _("This person is already named under another name."),
        "member_not_active": _("Your account is not active, so this cannot be done now."),
        "member_closed": _("Your account is closed."),
        "not_found": _("We could not find that; it may have been removed."),
        "invalid_request": _("That request is not valid; please check and try again."),
        "redemption_locked": _("Redemption is locked for your account; please contact us."),
        "velocity_limit": _("Too many redemptions in a short time; please try again later."),
        "order_not_cancellable": _(
            "This order cannot be cancelled here: it has been shipped, was a voucher, or was "
            "paid partly in cash (customer service can help with that)."
        ),
    }
    return messages.get(error.code, _("This could not be done; please try again later."))
