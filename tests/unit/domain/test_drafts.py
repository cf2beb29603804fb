"""A program draft is decided once: activated, rejected or withdrawn, never again."""

from __future__ import annotations

import pytest

from jifen.domain.drafts import DraftAction, DraftDecided, DraftState, draft_after


@pytest.mark.parametrize(
    ("action", "outcome"),
    [
        (DraftAction.ACTIVATE, DraftState.ACTIVATED),
        (DraftAction.REJECT, DraftState.REJECTED),
        (DraftAction.WITHDRAW, DraftState.WITHDRAWN),
    ],
)
def test_a_proposed_draft_can_be_decided_each_way(action, outcome) -> None:
    assert draft_after(DraftState.PROPOSED, action, draft_id="d") is outcome


@pytest.mark.parametrize("state", [s for s in DraftState if s is not DraftState.PROPOSED])
@pytest.mark.parametrize("action", list(DraftAction))
def test_a_decided_draft_is_never_decided_again(state, action) -> None:
    with pytest.raises(DraftDecided) as refused:
        draft_after(state, action, draft_id="d")
    assert refused.value.details == {"draft_id": "d", "status": state}
