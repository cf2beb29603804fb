"""Campaigns (积分加成): operator-defined bonuses on travelled trips, within a points budget.

`definitions` creates, lists, pauses, resumes and stops campaigns; `earning` posts a trip's
bonuses with its travel event; `report` measures cost and uplift against the control group.
"""

from __future__ import annotations

from jifen.services.campaigns.definitions import (
    CampaignDraft,
    create_campaign,
    get_campaign,
    list_campaigns,
    pause_campaign,
    resume_campaign,
    stop_campaign,
)
from jifen.services.campaigns.report import CampaignReport, campaign_report

__all__ = [
    "CampaignDraft",
    "CampaignReport",
    "campaign_report",
    "create_campaign",
    "get_campaign",
    "list_campaigns",
    "pause_campaign",
    "resume_campaign",
    "stop_campaign",
]
