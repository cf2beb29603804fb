"""An operator adjustment's life: pending approval, then applied or rejected, once.

Every adjustment is stored pending approval. One that needs no second operator is applied at
once (approved by the rules); any other waits until a second operator approves it (it posts) or
rejects it (it posts nothing). A decided adjustment is never decided again.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from jifen.domain.errors import JifenError


class AdjustmentDecided(JifenError):
    """The adjustment was already approved or rejected."""

    code = "adjustment_decided"
    status = 409


class AdjustmentState(StrEnum):
    """Where an adjustment stands; the values are the `adjustments.status` stored."""

    PENDING_APPROVAL = "pending_approval"
    APPLIED = "applied"
    REJECTED = "rejected"


class AdjustmentAction(StrEnum):
    """A decision on an adjustment: by a second operator, or by the rules when none is needed."""

    APPROVE = "approve"
    REJECT = "reject"


_S, _A = AdjustmentState, AdjustmentAction
START = AdjustmentState.PENDING_APPROVAL
"""Every adjustment starts pending approval; one that needs none is approved at once."""
TRANSITIONS: Mapping[tuple[AdjustmentState, AdjustmentAction], AdjustmentState] = {
    (_S.PENDING_APPROVAL, _A.APPROVE): _S.APPLIED,
    (_S.PENDING_APPROVAL, _A.REJECT): _S.REJECTED,
}
"""Every allowed decision: `(state, action) → state`."""
OUTCOME: Mapping[AdjustmentAction, AdjustmentState] = {a: TRANSITIONS[START, a] for a in _A}
"""What each decision makes of a pending adjustment."""


def adjustment_after(
    state: AdjustmentState,
    action: AdjustmentAction,
    *,
    adjustment_id: str,
    decided_by: str | None = None,
) -> AdjustmentState:
    """The state `action` moves an adjustment in `state` to; `AdjustmentDecided` once decided.

    `decided_by` (who decided it before) only goes into the refusal's message.
    """
    target = TRANSITIONS.get((state, action))
    if target is not None:
        return target
    raise AdjustmentDecided(
        f"Adjustment {adjustment_id!r} is already {state}"
        + (f" by {decided_by}." if decided_by else "."),
        adjustment_id=adjustment_id,
        status=state,
    )
