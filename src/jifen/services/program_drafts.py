"""Program drafts: a whole program proposed by one admin, previewed, activated by another.

A draft is a full program document in YAML, checked by the same loader as `jifen init
--program`. It remembers the program version that was active when it was proposed; it can be
activated only while that version is still active (`DraftStale` otherwise), and only by a
different admin than the one who proposed it (`DraftSameAdmin`). Activation installs it as
`install_program` does, so the journal records it; the proposer may withdraw it and any other
admin may reject it. Every step writes an audit row.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import yaml

from jifen.domain.drafts import DraftAction, DraftState, draft_after
from jifen.domain.errors import IdempotencyConflict, InvalidRequest, JifenError, NotFound
from jifen.programs.loader import ProgramInvalid, parse_program
from jifen.programs.schema import Program
from jifen.services import audit, ledger
from jifen.services.programs import NoProgram, active_program, install_program
from jifen.services.unit_of_work import UnitOfWork
from jifen.services.whatif import WhatIf, what_if
from jifen.storage.draft_repository import DraftRecord, DraftTaken

MAX_PREVIEW_DAYS = 366
"""The longest period a preview re-prices: a year (a preview reads every trip in it)."""
PREVIEW_DAYS = 30


class DraftSameAdmin(JifenError):
    """The admin who proposed a draft may not activate it: a second admin must."""

    code = "draft_same_admin"
    status = 403


class DraftNotPreviewed(JifenError):
    """No what-if was run for the draft: nobody has seen what it would change."""

    code = "draft_not_previewed"
    status = 409


class DraftStale(JifenError):
    """The active program changed since the draft was proposed; the draft would undo that change."""

    code = "draft_stale"
    status = 409


@dataclass(frozen=True, slots=True)
class DraftView:
    """A draft, whether it went stale, and the unified diff of the active program against it."""

    draft: DraftRecord
    stale: bool
    diff: str | None = None


def program_yaml(document: dict[str, Any]) -> str:
    """A program document written as YAML, the same way for every side of a diff."""
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def active_yaml(uow: UnitOfWork) -> str:
    """The active program as YAML, as the console's editor starts from."""
    return program_yaml(active_program(uow).model_dump(mode="json"))


def propose_draft(
    uow: UnitOfWork, *, draft_id: str, yaml_text: str, actor: str, now: datetime
) -> DraftRecord:
    """Store `yaml_text` as a draft of the next program, proposed by `actor`.

    `ProgramInvalid` (and nothing stored) when the text is not a valid program or changes the
    program's code. The same id with the same text returns the stored draft; with another text,
    `IdempotencyConflict`.
    """
    program = parse_program(yaml_text, f"draft {draft_id}")
    propose = partial(_propose, uow, draft_id, yaml_text, program, actor=actor, now=now)
    try:
        return propose()
    except DraftTaken:  # a concurrent request stored this id first: answer as it stands
        return propose()


def _propose(
    uow: UnitOfWork, draft_id: str, yaml_text: str, program: Program, *, actor: str, now: datetime
) -> DraftRecord:
    request_hash = ledger.fingerprint({"yaml": yaml_text})
    with uow:
        stored = uow.drafts.get(draft_id)
        if stored is not None:
            if stored.request_hash != request_hash:
                raise IdempotencyConflict(draft_id)
            return stored
        active = uow.programs.active_version()
        if active is None:
            raise NoProgram
        live = active_program(uow)
        if program.code != live.code:
            problem = f"must stay {live.code!r}: a draft changes the active program, not another"
            raise ProgramInvalid(
                source=f"draft {draft_id}", errors=[{"field": "code", "problem": problem}]
            )
        record = DraftRecord(
            id=draft_id,
            yaml=yaml_text,
            document=program.model_dump(mode="json"),
            request_hash=request_hash,
            based_on=active[0],
            based_on_version=active[1],
            status=DraftState.PROPOSED,
            proposed_by=actor,
            proposed_at=now,
        )
        uow.drafts.add(record)
        _audit(
            uow, record, "program_draft.proposed", actor=actor, at=now, based_on_version=active[1]
        )
        uow.commit()
    return record


def view_draft(uow: UnitOfWork, *, draft_id: str) -> DraftView:
    """A draft, the diff of its program against the active one, and whether it went stale."""
    with uow:
        draft = _get(uow, draft_id)
        active = uow.programs.active_version()
        if active is None:
            raise NoProgram
        live = uow.programs.document(active[0])
    diff = difflib.unified_diff(
        program_yaml(live).splitlines(keepends=True),
        program_yaml(draft.document).splitlines(keepends=True),
        fromfile=f"active (version {active[1]})",
        tofile=f"draft {draft.id}",
    )
    return DraftView(draft, stale=active[0] != draft.based_on, diff="".join(diff))


def list_drafts(uow: UnitOfWork, *, limit: int = 50) -> list[DraftView]:
    """The most recently proposed drafts, newest first, without their diffs."""
    with uow:
        active = uow.programs.active_version()
        found = uow.drafts.newest(limit=limit)
    return [DraftView(d, stale=active is None or active[0] != d.based_on) for d in found]


def preview_period(today: date, start: date | None, end: date | None) -> tuple[date, date]:
    """The period a preview covers: as given, else the `PREVIEW_DAYS` days up to yesterday.

    `InvalidRequest` when it runs backwards or is longer than `MAX_PREVIEW_DAYS`.
    """
    end = end or (
        today - timedelta(days=1) if start is None else start + timedelta(PREVIEW_DAYS - 1)
    )
    start = start or end - timedelta(days=PREVIEW_DAYS - 1)
    _check_period(start, end)
    return start, end


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise InvalidRequest(
            f"The period {start}..{end} is not valid: `end` must not be before `start`.",
            field="period",
        )
    if (end - start).days >= MAX_PREVIEW_DAYS:
        raise InvalidRequest(
            f"A preview covers at most {MAX_PREVIEW_DAYS} days; {start}..{end} is longer.",
            field="period",
        )


def preview_draft(
    uow: UnitOfWork, *, draft_id: str, start: date, end: date, actor: str, now: datetime
) -> WhatIf:
    """What the draft would have credited from `start` to `end` against the active program.

    Writes nothing but the audit row of the preview and its totals. `InvalidRequest` for a
    period that runs backwards or is longer than `MAX_PREVIEW_DAYS`.
    """
    _check_period(start, end)
    with uow:
        draft = _get(uow, draft_id)
        live = active_program(uow)
    report = what_if(
        uow, live=live, draft=Program.model_validate(draft.document), start=start, end=end
    )
    with uow:
        totals = {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "live_cost_fen": report.live_cost_fen,
            "draft_cost_fen": report.draft_cost_fen,
            "members_affected": report.members_affected,
        }
        _audit(uow, draft, "program_draft.previewed", actor=actor, at=now, **totals)
        uow.drafts.mark_previewed(draft.id, at=now)
        uow.commit()
    return report


def activate_draft(uow: UnitOfWork, *, draft_id: str, actor: str, now: datetime) -> DraftRecord:
    """Make the draft the active program (a new version), as a second admin.

    `DraftSameAdmin` for its proposer, `DraftStale` when another version became active since it
    was proposed, `DraftNotPreviewed` before anyone ran its what-if, `DraftDecided` once decided;
    activating again as its activator returns it.
    """
    with uow:
        draft = _get(uow, draft_id, lock=True)
        if draft.status == DraftState.ACTIVATED and draft.decided_by == actor:
            return draft
        draft_after(DraftState(draft.status), DraftAction.ACTIVATE, draft_id=draft_id)
        if draft.proposed_by == actor:
            raise DraftSameAdmin(
                f"Program draft {draft_id!r} was proposed by {actor}; "
                "a second admin must activate it.",
                draft_id=draft_id,
            )
        active = uow.programs.active_version(lock=True)
        if active is None or active[0] != draft.based_on:
            raise DraftStale(
                f"The active program changed since draft {draft_id!r} was proposed; activating "
                "it would undo that change. Propose a new draft from the active program.",
                draft_id=draft_id,
            )
        if draft.previewed_at is None:
            raise DraftNotPreviewed(
                f"Run program draft {draft_id!r}'s what-if over a past period first "
                f"(POST /v1/program/drafts/{draft_id}/what-if) to see what it would change.",
                draft_id=draft_id,
            )
        program = Program.model_validate(draft.document)
        version = install_program(uow, program=program, source=draft.yaml)
        draft = replace(
            draft, status=DraftState.ACTIVATED, decided_by=actor, decided_at=now, version=version
        )
        uow.drafts.decide(draft)
        _audit(uow, draft, "program_draft.activated", actor=actor, at=now, version=version)
        uow.commit()
    return draft


def reject_draft(uow: UnitOfWork, *, draft_id: str, actor: str, now: datetime) -> DraftRecord:
    """Reject the draft (another admin) or withdraw it (its proposer); it can never be activated.

    Doing the same again as the same admin returns it; any other decision of a decided draft
    raises `DraftDecided`.
    """
    action = DraftAction.REJECT
    with uow:
        draft = _get(uow, draft_id, lock=True)
        if draft.proposed_by == actor:
            action = DraftAction.WITHDRAW
        outcome = draft_after(DraftState.PROPOSED, action, draft_id=draft_id)
        if draft.status == outcome and draft.decided_by == actor:
            return draft
        draft_after(DraftState(draft.status), action, draft_id=draft_id)
        draft = replace(draft, status=outcome, decided_by=actor, decided_at=now)
        uow.drafts.decide(draft)
        _audit(uow, draft, f"program_draft.{outcome}", actor=actor, at=now)
        uow.commit()
    return draft


def _get(uow: UnitOfWork, draft_id: str, *, lock: bool = False) -> DraftRecord:
    draft = uow.drafts.get(draft_id, lock=lock)
    if draft is None:
        raise NotFound(f"No program draft {draft_id!r}.", draft_id=draft_id)
    return draft


def _audit(
    uow: UnitOfWork, draft: DraftRecord, action: str, *, actor: str, at: datetime, **extra: Any
) -> None:
    details = {"draft_id": draft.id, "status": str(draft.status), **extra}
    audit.record(
        uow, at=at, actor=actor, action=action, subject=f"program_draft:{draft.id}", details=details
    )
