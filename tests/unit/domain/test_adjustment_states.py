"""An adjustment's states: pending approval, then applied or rejected, and decided only once."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jifen.domain.adjustments import (
    OUTCOME,
    START,
    AdjustmentAction,
    AdjustmentDecided,
    AdjustmentState,
    adjustment_after,
)
from jifen.services.adjustments import AdjustmentStatus

S, A = AdjustmentState, AdjustmentAction


def after(state: AdjustmentState, action: AdjustmentAction) -> AdjustmentState:
    return adjustment_after(state, action, adjustment_id="adj-1", decided_by="ops2")


def test_states_are_the_statuses_stored_and_the_ones_the_api_declares():
    assert {s.value for s in AdjustmentState} == {"pending_approval", "applied", "rejected"}
    assert set(get_args(AdjustmentStatus)) == {s.value for s in AdjustmentState}


def test_a_pending_adjustment_is_applied_when_approved_and_rejected_otherwise():
    assert START is S.PENDING_APPROVAL
    assert after(S.PENDING_APPROVAL, A.APPROVE) is S.APPLIED
    assert after(S.PENDING_APPROVAL, A.REJECT) is S.REJECTED
    assert OUTCOME == {A.APPROVE: S.APPLIED, A.REJECT: S.REJECTED}


def test_deciding_a_decided_adjustment_is_refused_naming_who_decided_it():
    with pytest.raises(AdjustmentDecided) as refused:
        after(S.REJECTED, A.APPROVE)
    assert refused.value.code == "adjustment_decided"
    assert refused.value.message == "Adjustment 'adj-1' is already rejected by ops2."
    assert refused.value.details == {"adjustment_id": "adj-1", "status": "rejected"}


def test_an_adjustment_applied_by_the_rules_was_decided_by_no_one():
    with pytest.raises(AdjustmentDecided) as refused:
        adjustment_after(S.APPLIED, A.REJECT, adjustment_id="adj-2")
    assert refused.value.message == "Adjustment 'adj-2' is already applied."


@given(st.lists(st.sampled_from(list(AdjustmentAction)), min_size=1, max_size=6))
def test_only_the_first_decision_counts(actions):
    state = after(START, actions[0])
    assert state is OUTCOME[actions[0]]
    for action in actions[1:]:
        with pytest.raises(AdjustmentDecided):
            after(state, action)


@given(st.sampled_from([S.APPLIED, S.REJECTED]), st.sampled_from(list(AdjustmentAction)))
def test_a_decided_adjustment_accepts_no_decision(state, action):
    with pytest.raises(AdjustmentDecided):
        after(state, action)
