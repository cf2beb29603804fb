"""A campaign's report: what it cost, and its effect on trips and spend against the control group.

The population is every member the campaign was aimed at: its member list and tiers (tiers as they
are now), joined before the window ended; with neither, every member. Each is in the treated or
control arm by the campaign's hash. A member's trips and spend are the targeted trips (window,
trains, days and hours) recorded while the campaign was active, and their fares; a member with
none counts as 0. Uplift is the treated mean minus the control mean, with a 95% interval by
Welch's normal approximation (`domain.campaigns.uplift`).
"""

from __future__ import annotations

from dataclasses import dataclass

from jifen.domain.campaigns import CONTROL, TREATED, Uplift, cost_fen, split, uplift
from jifen.programs.schema import Program
from jifen.services.campaigns.definitions import get_campaign, repository, rules_of
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.campaign_repository import ArmTotals, StoredCampaign

NOTHING = ArmTotals(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class CampaignReport:
    """Cost against budget, members per arm, and uplift of trips and spend per member."""

    campaign: StoredCampaign
    cost_points: int
    cost_fen: int
    ledger_points: int  # the bonus points the ledger holds for the campaign (equals cost_points)
    members: dict[str, int]  # population per arm
    recorded: dict[str, ArmTotals]  # targeted trips seen per arm
    trips: Uplift  # trips per member
    spend_fen: Uplift  # fares per member, in fen


def campaign_report(uow: UnitOfWork, *, program: Program, campaign_id: str) -> CampaignReport:
    """The report of one campaign, read in one transaction."""
    campaign = get_campaign(uow, campaign_id)
    rules = rules_of(campaign)
    target = campaign.target
    with uow:
        repo = repository(uow)
        population = repo.population(
            member_ids=target.get("member_ids"),
            tiers=target.get("tiers"),
            joined_before=campaign.ends_at,
            segments=target.get("segments"),
        )
        arms = split(rules, population, repo.per_member(campaign_id))
        totals = repo.totals(campaign_id)
        ledger_points = repo.ledger_bonus_total(campaign_id)
        campaign = repo.get(campaign_id) or campaign
    (treated_trips, treated_spend), (control_trips, control_spend) = arms[TREATED], arms[CONTROL]
    return CampaignReport(
        campaign=campaign,
        cost_points=campaign.spent_points,
        cost_fen=cost_fen(campaign.spent_points, program.redemption.points_per_yuan),
        ledger_points=ledger_points,
        members={TREATED: treated_trips.n, CONTROL: control_trips.n},
        recorded={arm: totals.get(arm, NOTHING) for arm in (TREATED, CONTROL)},
        trips=uplift(treated_trips, control_trips),
        spend_fen=uplift(treated_spend, control_spend),
    )
