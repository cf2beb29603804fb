"""A program draft's life: proposed, then activated, rejected or withdrawn, once.

One admin proposes a whole program document; a second admin activates it (it becomes the active
program) or rejects it; the proposer may withdraw it. A decided draft is never decided again.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from jifen.domain.errors import JifenError


class DraftDecided(JifenError):
    """The draft was already activated, rejected or withdrawn."""

    code = "draft_decided"
    status = 409


class DraftState(StrEnum):
    """Where a draft stands; the values are the `program_drafts.status` stored."""

    PROPOSED = "proposed"
    ACTIVATED = "activated"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class DraftAction(StrEnum):
    """A decision on a draft: another admin activates or rejects it, its proposer withdraws it."""

    ACTIVATE = "activate"
    REJECT = "reject"
    WITHDRAW = "withdraw"


_S, _A = DraftState, DraftAction
TRANSITIONS: Mapping[tuple[DraftState, DraftAction], DraftState] = {
    (_S.PROPOSED, _A.ACTIVATE): _S.ACTIVATED,
    (_S.PROPOSED, _A.REJECT): _S.REJECTED,
    (_S.PROPOSED, _A.WITHDRAW): _S.WITHDRAWN,
}
"""Every allowed decision: `(state, action) → state`."""


def draft_after(state: DraftState, action: DraftAction, *, draft_id: str) -> DraftState:
    """The state `action` moves a draft in `state` to; `DraftDecided` once it was decided."""
    target = TRANSITIONS.get((state, action))
    if target is not None:
        return target
    raise DraftDecided(
        f"Program draft {draft_id!r} is already {state}; propose a new draft to change it.",
        draft_id=draft_id,
        status=state,
    )
