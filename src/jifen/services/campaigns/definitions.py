"""Campaign definitions: create (idempotent by id), look up, list, pause, resume and stop."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from jifen.domain.campaigns import CampaignRules, Effect, InvalidCampaign, Target, check_rules
from jifen.domain.errors import IdempotencyConflict, NotFound
from jifen.programs.schema import Program
from jifen.services import audit, journal
from jifen.services.ledger import fingerprint
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.campaign_repository import CampaignRepository, CampaignTaken, StoredCampaign


@dataclass(frozen=True, slots=True)
class CampaignDraft:
    """What an operator sends to create a campaign; `target` and `effect` as JSON objects.

    `target`: `member_ids`, `tiers`, `segments`, `trains` (train number prefixes: `G`, `D`, `G1`),
    `weekdays` (1 = Monday … 7 = Sunday), `hours` (`{"from": 10, "to": 16}`, program time).
    `effect`: `kind` (a spendable point kind) and `percent` of the base points or fixed `points`.
    """

    id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    budget_points: int
    effect: dict[str, Any]
    target: dict[str, Any]
    control_percent: int = 10


def repository(uow: UnitOfWork) -> CampaignRepository:
    """The campaign repository of the open unit of work."""
    return uow.campaigns


def rules_of(campaign: StoredCampaign) -> CampaignRules:
    """The pure rules of a stored campaign."""
    target, effect = campaign.target, campaign.effect
    hours = target.get("hours")

    def as_set(name: str) -> frozenset[Any] | None:
        value = target.get(name)
        return None if value is None else frozenset(value)

    return CampaignRules(
        id=campaign.id,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        target=Target(
            member_ids=as_set("member_ids"),
            tiers=as_set("tiers"),
            segments=as_set("segments"),
            train_prefixes=None if target.get("trains") is None else tuple(target["trains"]),
            weekdays=as_set("weekdays"),
            hours=None if hours is None else (hours["from"], hours["to"]),
        ),
        effect=Effect(
            kind=effect["kind"], percent=effect.get("percent"), points=effect.get("points")
        ),
        control_percent=campaign.control_percent,
    )


def _check_against(program: Program, draft: CampaignDraft, rules: CampaignRules) -> None:
    problems = []
    kinds = {k.code for k in program.point_kinds if k.spendable}
    if rules.effect.kind not in kinds:
        problems.append(f"effect.kind must be a spendable point kind: {', '.join(sorted(kinds))}")
    tiers = {level.code for level in program.tiers.levels}
    unknown = sorted((rules.target.tiers or frozenset()) - tiers)
    if unknown:
        problems.append(f"target.tiers has unknown tiers {unknown}")
    if draft.budget_points < 1:
        problems.append("budget_points is at least 1")
    if problems:
        raise InvalidCampaign(
            f"The campaign {draft.id!r} is not valid: {'; '.join(problems)}.", problems=problems
        )


def _stored(draft: CampaignDraft, request_hash: str, now: datetime) -> StoredCampaign:
    target = {k: v for k, v in draft.target.items() if v is not None}
    effect = {k: v for k, v in draft.effect.items() if v is not None}
    return StoredCampaign(
        id=draft.id,
        name=draft.name,
        status="active",
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        target=target,
        effect=effect,
        control_percent=draft.control_percent,
        budget_points=draft.budget_points,
        spent_points=0,
        request_hash=request_hash,
        created_at=now,
        stopped_at=None,
    )


def create_campaign(
    uow: UnitOfWork, *, program: Program, draft: CampaignDraft, actor: str, now: datetime
) -> tuple[StoredCampaign, bool]:
    """Create the campaign (audited), or return the one made earlier with this id.

    Returns `(campaign, created)`. The same id with a different definition is an
    `IdempotencyConflict`. `actor` is who asks (an API key's prefix, or `cli`).
    """
    campaign = _stored(draft, "", now)
    request = {  # the same instants and definition in any spelling are the same request
        **asdict(draft),
        "starts_at": draft.starts_at.astimezone(UTC).isoformat(),
        "ends_at": draft.ends_at.astimezone(UTC).isoformat(),
        "target": campaign.target,
        "effect": campaign.effect,
    }
    request_hash = fingerprint(request)
    campaign = replace(campaign, request_hash=request_hash)
    rules = rules_of(campaign)
    check_rules(rules)
    _check_against(program, draft, rules)
    try:
        with uow:
            existing = repository(uow).get(draft.id)
            if existing is None:
                repository(uow).add(campaign)
                audit.record(
                    uow,
                    at=now,
                    actor=actor,
                    action="campaign.created",
                    subject=f"campaign:{draft.id}",
                    details={"budget_points": draft.budget_points, "effect": campaign.effect},
                )
                journal.record(uow, "create_campaign", at=now, draft=draft, actor=actor)
                uow.commit()
                return campaign, True
    except CampaignTaken:
        with uow:
            existing = repository(uow).get(draft.id)
    assert existing is not None  # noqa: S101 - the id is taken, so the campaign exists
    if existing.request_hash != request_hash:
        raise IdempotencyConflict(draft.id)
    return existing, False


def get_campaign(uow: UnitOfWork, campaign_id: str) -> StoredCampaign:
    """The campaign with this id, or `NotFound`."""
    with uow:
        campaign = repository(uow).get(campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id!r}.", campaign_id=campaign_id)
    return campaign


def list_campaigns(uow: UnitOfWork) -> list[StoredCampaign]:
    """Every campaign, latest window first."""
    with uow:
        return repository(uow).all()


def stop_campaign(
    uow: UnitOfWork, *, campaign_id: str, actor: str, now: datetime
) -> StoredCampaign:
    """Stop an active or paused campaign (audited): no trip earns its bonus from now on.

    Stopping again changes nothing; an exhausted campaign stays `exhausted`; what it gave stays
    with the members.
    """
    return _move(uow, campaign_id=campaign_id, actor=actor, now=now, command="stop_campaign")


def pause_campaign(
    uow: UnitOfWork, *, campaign_id: str, actor: str, now: datetime
) -> StoredCampaign:
    """Pause an active campaign (audited): no trip earns its bonus until it is resumed.

    Pausing again, or a campaign that is not active, changes nothing; the budget is kept.
    """
    return _move(uow, campaign_id=campaign_id, actor=actor, now=now, command="pause_campaign")


def resume_campaign(
    uow: UnitOfWork, *, campaign_id: str, actor: str, now: datetime
) -> StoredCampaign:
    """Make a paused campaign active again (audited); anything else is left as it is."""
    return _move(uow, campaign_id=campaign_id, actor=actor, now=now, command="resume_campaign")


_MOVES = {  # command: (the statuses it changes, the status after, the audit action)
    "stop_campaign": (("active", "paused"), "stopped", "campaign.stopped"),
    "pause_campaign": (("active",), "paused", "campaign.paused"),
    "resume_campaign": (("paused",), "active", "campaign.resumed"),
}


def _move(
    uow: UnitOfWork, *, campaign_id: str, actor: str, now: datetime, command: str
) -> StoredCampaign:
    """Change the campaign's status as `command` does, under its row lock; then read it back."""
    before, after, action = _MOVES[command]
    with uow:
        repo = repository(uow)
        campaign = repo.get(campaign_id, lock=True)
        if campaign is None:
            raise NotFound(f"No campaign {campaign_id!r}.", campaign_id=campaign_id)
        if campaign.status in before:
            repo.set_status(
                campaign_id, campaign.status, after, stopped_at=now if after == "stopped" else None
            )
            audit.record(
                uow,
                at=now,
                actor=actor,
                action=action,
                subject=f"campaign:{campaign_id}",
                details={"previous": campaign.status, "spent_points": campaign.spent_points},
            )
            journal.record(uow, command, at=now, campaign_id=campaign_id, actor=actor)
        uow.commit()
    return get_campaign(uow, campaign_id)
