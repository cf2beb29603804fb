"""A redemption's states: held, then committed or released; an issued ticket changed, cancelled."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jifen.domain.errors import JifenError
from jifen.domain.redemptions import (
    START,
    ChangeNotAllowed,
    DeparturePassed,
    InvalidRedemptionState,
    RedemptionAction,
    RedemptionState,
    redemption_after,
    require_changeable,
    require_future,
    require_not_departed,
)

S, A = RedemptionState, RedemptionAction
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI)

ALLOWED = {
    (S.HELD, A.COMMIT): S.COMMITTED,
    (S.HELD, A.RELEASE): S.RELEASED,
    (S.COMMITTED, A.CHANGE): S.COMMITTED,
    (S.COMMITTED, A.CANCEL): S.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class Stored:
    """A redemption as the rules read it."""

    id: str = "R1"
    type: str = "ticket"
    status: str = "committed"
    changes: int = 0
    departure_at: datetime = NOW + timedelta(days=2)


def after(state: RedemptionState, action: RedemptionAction) -> RedemptionState:
    return redemption_after(state, action, redemption_id="R1")


def test_states_are_the_statuses_stored_in_the_redemptions_table():
    assert {s.value for s in RedemptionState} == {"held", "committed", "released", "cancelled"}


def test_a_redemption_starts_held_and_is_committed_or_released():
    assert START is S.HELD
    assert after(S.HELD, A.COMMIT) is S.COMMITTED
    assert after(S.HELD, A.RELEASE) is S.RELEASED


def test_an_issued_ticket_stays_committed_when_changed_and_ends_cancelled_by_the_railway():
    assert after(S.COMMITTED, A.CHANGE) is S.COMMITTED
    assert after(S.COMMITTED, A.CANCEL) is S.CANCELLED


def test_committing_a_released_hold_is_refused_naming_the_state_it_needs():
    with pytest.raises(InvalidRedemptionState) as refused:
        after(S.RELEASED, A.COMMIT)
    assert refused.value.code == "invalid_redemption_state"
    assert refused.value.message == "Redemption R1 is released; to commit it, it must be held."
    assert refused.value.details == {"redemption_id": "R1", "status": "released"}


def test_cancelling_a_hold_is_refused_the_railway_cancels_only_issued_tickets():
    with pytest.raises(InvalidRedemptionState, match="to cancel it, it must be committed"):
        after(S.HELD, A.CANCEL)


def test_changing_a_hold_is_a_change_not_allowed():
    with pytest.raises(ChangeNotAllowed) as refused:
        after(S.HELD, A.CHANGE)
    assert refused.value.code == "change_not_allowed"
    assert "only an issued (committed) ticket can be changed" in refused.value.message


def test_an_issued_ticket_before_its_train_leaves_can_be_changed():
    require_changeable(Stored(), NOW)


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        (Stored(type="seat_upgrade", status="held"), "a seat upgrade cannot be changed"),
        (Stored(status="held"), "it is held; only an issued"),
        (Stored(status="cancelled"), "it is cancelled; only an issued"),
        (Stored(changes=1), "can be changed only once"),
        (Stored(departure_at=NOW), "its train has left"),
    ],
)
def test_a_change_is_refused_saying_why(stored, why):
    with pytest.raises(ChangeNotAllowed, match=why) as refused:
        require_changeable(stored, NOW)
    assert refused.value.details["changes"] == stored.changes


def test_nothing_is_redeemed_for_a_train_leaving_now_or_gone():
    require_future(NOW + timedelta(minutes=1), NOW)
    for departure in (NOW, NOW - timedelta(hours=1)):
        with pytest.raises(DeparturePassed) as refused:
            require_future(departure, NOW)
        assert refused.value.code == "departure_passed"


def test_a_hold_cannot_be_committed_once_its_train_has_left():
    require_not_departed(Stored(status="held"), NOW)
    with pytest.raises(DeparturePassed, match="Release it"):
        require_not_departed(replace(Stored(status="held"), departure_at=NOW), NOW)


@given(st.lists(st.sampled_from(list(RedemptionAction)), max_size=10))
def test_any_sequence_of_steps_follows_the_rules_or_is_refused_leaving_the_redemption_as_it_was(
    actions,
):
    state = START
    for action in actions:
        expected = ALLOWED.get((state, action))
        if expected is None:
            with pytest.raises(JifenError) as refused:
                after(state, action)
            assert refused.value.code in {"invalid_redemption_state", "change_not_allowed"}
        else:
            state = after(state, action)
            assert state is expected


@given(st.sampled_from([S.RELEASED, S.CANCELLED]), st.sampled_from(list(RedemptionAction)))
def test_a_released_or_cancelled_redemption_accepts_no_step(state, action):
    with pytest.raises(JifenError):
        after(state, action)


def test_every_state_is_reached_from_a_hold():
    reached, frontier = {START}, [START]
    while frontier:
        state = frontier.pop()
        for action in RedemptionAction:
            try:
                target = after(state, action)
            except JifenError:
                continue
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(RedemptionState)
