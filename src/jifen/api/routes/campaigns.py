"""Campaigns (积分加成): create, list, look up, pause, resume, stop; the cost and uplift report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, get_args

from fastapi import APIRouter, Depends, Path

from jifen.api.deps import ClockDep, ProgramDep, UowDep, require
from jifen.api.schemas.campaigns import (
    ArmOut,
    CampaignIn,
    CampaignOut,
    Campaigns,
    CampaignStatus,
    ReportOut,
    UpliftOut,
)
from jifen.domain.calendar import local_datetime
from jifen.domain.campaigns import Uplift
from jifen.programs.schema import Program
from jifen.services import campaigns
from jifen.storage.campaign_repository import ArmTotals, StoredCampaign
from jifen.storage.key_repository import StoredKey

router = APIRouter(prefix="/v1", tags=["campaigns"])

Operator = Annotated[StoredKey, Depends(require("operator"))]
READERS = Depends(require("operator", "analyst"))

_STATUSES: dict[str, CampaignStatus] = {status: status for status in get_args(CampaignStatus)}
"""A stored status as its type (a status outside the Literal is a KeyError, not a response)."""


def _local(moment: datetime | None, program: Program) -> datetime | None:
    return None if moment is None else local_datetime(moment, program.timezone)


def _out(c: StoredCampaign, program: Program) -> CampaignOut:
    return CampaignOut(
        campaign_id=c.id,
        name=c.name,
        status=_STATUSES[c.status],
        starts_at=local_datetime(c.starts_at, program.timezone),
        ends_at=local_datetime(c.ends_at, program.timezone),
        target=c.target,
        effect=c.effect,
        control_percent=c.control_percent,
        budget_points=c.budget_points,
        spent_points=c.spent_points,
        remaining_points=c.budget_points - c.spent_points,
        created_at=local_datetime(c.created_at, program.timezone),
        stopped_at=_local(c.stopped_at, program),
    )


def _arm(members: int, totals: ArmTotals) -> ArmOut:
    return ArmOut(
        members=members,
        members_with_trips=totals.members,
        trips=totals.trips,
        spend_fen=totals.fare_fen,
        bonus_points=totals.bonus_points,
    )


def _uplift(u: Uplift) -> UpliftOut:
    return UpliftOut(
        treated_per_member=u.treated_mean,
        control_per_member=u.control_mean,
        uplift=u.difference,
        ci95=u.ci95,
        relative=u.relative,
    )


METHOD = (
    "Members aimed at (member list and tiers, or everyone) split by a hash of campaign and member; "
    "targeted trips recorded while the campaign was active, 0 for members without any; uplift = "
    "treated mean - control mean, 95% interval by Welch's normal approximation."
)


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
def post_campaign(
    body: CampaignIn,
    *,
    key: Operator,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> CampaignOut:
    """Create a campaign; the same `id` and body again answers as the first time (201)."""
    stored, _created = campaigns.create_campaign(
        uow, program=program, draft=body.draft(), actor=key.prefix, now=clock.now()
    )
    return _out(stored, program)


@router.get("/campaigns", response_model=Campaigns, dependencies=[READERS])
def get_campaigns(uow: UowDep, program: ProgramDep) -> Campaigns:
    """Every campaign with its status and budget."""
    return Campaigns(items=[_out(c, program) for c in campaigns.list_campaigns(uow)])


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, dependencies=[READERS])
def get_campaign(
    campaign_id: Annotated[str, Path(max_length=64)], uow: UowDep, program: ProgramDep
) -> CampaignOut:
    """One campaign."""
    return _out(campaigns.get_campaign(uow, campaign_id), program)


@router.post("/campaigns/{campaign_id}/stop", response_model=CampaignOut)
def post_stop(
    campaign_id: Annotated[str, Path(max_length=64)],
    key: Operator,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> CampaignOut:
    """Stop a campaign: no trip earns its bonus after this. Stopping again changes nothing."""
    stopped = campaigns.stop_campaign(
        uow, campaign_id=campaign_id, actor=key.prefix, now=clock.now()
    )
    return _out(stopped, program)


@router.post("/campaigns/{campaign_id}/pause", response_model=CampaignOut)
def post_pause(
    campaign_id: Annotated[str, Path(max_length=64)],
    key: Operator,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> CampaignOut:
    """Pause an active campaign: no trip earns its bonus until it is resumed. Again: no change."""
    paused = campaigns.pause_campaign(
        uow, campaign_id=campaign_id, actor=key.prefix, now=clock.now()
    )
    return _out(paused, program)


@router.post("/campaigns/{campaign_id}/resume", response_model=CampaignOut)
def post_resume(
    campaign_id: Annotated[str, Path(max_length=64)],
    key: Operator,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> CampaignOut:
    """Make a paused campaign active again. Again, or on a campaign not paused: no change."""
    resumed = campaigns.resume_campaign(
        uow, campaign_id=campaign_id, actor=key.prefix, now=clock.now()
    )
    return _out(resumed, program)


@router.get("/campaigns/{campaign_id}/report", response_model=ReportOut, dependencies=[READERS])
def get_report(
    campaign_id: Annotated[str, Path(max_length=64)], uow: UowDep, program: ProgramDep
) -> ReportOut:
    """Cost in points and fen, members per arm, and uplift of trips and spend per member."""
    r = campaigns.campaign_report(uow, program=program, campaign_id=campaign_id)
    return ReportOut(
        campaign=_out(r.campaign, program),
        cost_points=r.cost_points,
        cost_fen=r.cost_fen,
        treated=_arm(r.members["treated"], r.recorded["treated"]),
        control=_arm(r.members["control"], r.recorded["control"]),
        trips=_uplift(r.trips),
        spend_fen=_uplift(r.spend_fen),
        method=METHOD,
    )
