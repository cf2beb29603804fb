"""Changing the program from outside the CLI: drafts proposed, previewed and activated by admins."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status

from jifen.api.deps import ClockDep, ProgramDep, ReadUowDep, StateDep, UowDep, require
from jifen.api.schemas.program_drafts import (
    DraftIn,
    DraftOut,
    Drafts,
    KindChange,
    PreviewIn,
    PreviewOut,
)
from jifen.domain.calendar import local_date
from jifen.services import program_drafts as drafts
from jifen.services.event_schema import PRINTABLE
from jifen.services.program_drafts import DraftView
from jifen.storage.key_repository import StoredKey
from jifen.storage.uow import SqlUnitOfWork

router = APIRouter(prefix="/v1/program/drafts", tags=["program"])
Admin = Annotated[StoredKey, Depends(require())]
DraftPath = Annotated[
    str, Path(min_length=1, max_length=200, pattern=PRINTABLE, description="The draft's id.")
]
CONFLICTS: dict[int | str, dict[str, Any]] = {
    409: {"description": "draft_stale, draft_decided, idempotency_conflict"}
}


def _out(view: DraftView) -> DraftOut:
    draft = view.draft
    return DraftOut(
        id=draft.id,
        status=draft.status,
        based_on_version=draft.based_on_version,
        stale=view.stale,
        proposed_by=draft.proposed_by,
        proposed_at=draft.proposed_at,
        decided_by=draft.decided_by,
        decided_at=draft.decided_at,
        version=draft.version,
        previewed_at=draft.previewed_at,
        yaml=draft.yaml,
        diff=view.diff,
    )


def _view(uow: SqlUnitOfWork, draft_id: str) -> DraftOut:
    return _out(drafts.view_draft(uow, draft_id=draft_id))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DraftOut,
    responses={
        409: {"description": "idempotency_conflict"},
        422: {"description": "program_invalid"},
    },
)
def post_draft(body: DraftIn, *, key: Admin, uow: UowDep, clock: ClockDep) -> DraftOut:
    """Propose a whole program (YAML) as the next version; the same id and text again is a no-op."""
    drafts.propose_draft(
        uow, draft_id=body.id, yaml_text=body.yaml, actor=key.prefix, now=clock.now()
    )
    return _view(uow, body.id)


@router.get("", response_model=Drafts)
def get_drafts(_key: Admin, uow: ReadUowDep) -> Drafts:
    """The most recently proposed drafts, newest first (without their diffs)."""
    return Drafts(items=[_out(v) for v in drafts.list_drafts(uow)])


@router.get("/{draft_id}", response_model=DraftOut)
def get_draft(draft_id: DraftPath, _key: Admin, uow: ReadUowDep) -> DraftOut:
    """A draft with the unified diff of the active program against it."""
    return _view(uow, draft_id)


@router.post("/{draft_id}/what-if", response_model=PreviewOut)
def post_what_if(
    draft_id: DraftPath,
    body: PreviewIn,
    *,
    key: Admin,
    uow: UowDep,
    program: ProgramDep,
    clock: ClockDep,
) -> PreviewOut:
    """Re-price a past period under the draft and the active rules; writes only an audit row."""
    now = clock.now()
    start, end = drafts.preview_period(local_date(now, program.timezone), body.start, body.end)
    report = drafts.preview_draft(
        uow, draft_id=draft_id, start=start, end=end, actor=key.prefix, now=now
    )
    kinds = sorted(set(report.live) | set(report.draft))
    return PreviewOut(
        start=start,
        end=end,
        priced=report.priced,
        members_affected=report.members_affected,
        points=[
            KindChange(
                kind=k,
                live=report.live[k],
                draft=report.draft[k],
                change=report.draft[k] - report.live[k],
            )
            for k in kinds
        ],
        live_cost_fen=report.live_cost_fen,
        draft_cost_fen=report.draft_cost_fen,
        cost_change_fen=report.draft_cost_fen - report.live_cost_fen,
    )


@router.post(
    "/{draft_id}/activate",
    response_model=DraftOut,
    responses={403: {"description": "draft_same_admin"}, **CONFLICTS},
)
def post_activate(
    draft_id: DraftPath, *, key: Admin, uow: UowDep, clock: ClockDep, state: StateDep
) -> DraftOut:
    """Make the draft the active program, as a second admin (not its proposer)."""
    drafts.activate_draft(uow, draft_id=draft_id, actor=key.prefix, now=clock.now())
    state.programs.forget()
    return _view(uow, draft_id)


@router.post("/{draft_id}/reject", response_model=DraftOut, responses=CONFLICTS)
def post_reject(draft_id: DraftPath, *, key: Admin, uow: UowDep, clock: ClockDep) -> DraftOut:
    """Reject the draft (another admin) or withdraw it (its proposer)."""
    drafts.reject_draft(uow, draft_id=draft_id, actor=key.prefix, now=clock.now())
    return _view(uow, draft_id)
