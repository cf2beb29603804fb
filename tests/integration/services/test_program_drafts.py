"""Program drafts: proposed by one admin, previewed, activated only by another, all audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, select

from jifen.domain.drafts import DraftDecided
from jifen.domain.errors import IdempotencyConflict
from jifen.programs.loader import ProgramInvalid
from jifen.programs.schema import Program
from jifen.services import program_drafts as drafts
from jifen.services.programs import active_program, active_served, install_program
from jifen.storage.tables import audit_log, journal
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0
from tests.integration.services.test_events import Railway, at
from tests.integration.services.test_ledger_concurrency import run_together


@pytest.fixture
def live(uow: SqlUnitOfWork, railway: Program) -> Program:
    install_program(uow, program=railway, source="preset:railway")
    return railway


def richer(uow: SqlUnitOfWork) -> str:
    """The active program's YAML with the base fare rate raised from 5 to 6 points per yuan."""
    text = drafts.active_yaml(uow)
    assert text.count("rate_per_yuan: 5\n") >= 1
    return text.replace("rate_per_yuan: 5\n", "rate_per_yuan: 6\n", 1)


def propose(uow: SqlUnitOfWork, text: str, *, draft_id: str = "d1", actor: str = "alice"):
    return drafts.propose_draft(uow, draft_id=draft_id, yaml_text=text, actor=actor, now=T0)


def preview(uow: SqlUnitOfWork, draft_id: str = "d1", *, actor: str = "bob") -> None:
    drafts.preview_draft(
        uow, draft_id=draft_id, start=date(2025, 5, 1), end=date(2025, 5, 31), actor=actor, now=T0
    )


def audit_actions(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(select(audit_log.c.action, audit_log.c.actor).order_by("id"))
        return [(row.action, row.actor) for row in rows]


def test_a_second_admin_activates_a_draft_and_it_becomes_the_next_version(uow, engine, live):
    before = active_served(uow).version
    propose(uow, richer(uow))

    shown = drafts.view_draft(uow, draft_id="d1")
    assert "-    rate_per_yuan: 5\n" in shown.diff
    assert "+    rate_per_yuan: 6\n" in shown.diff
    assert not shown.stale

    with pytest.raises(drafts.DraftSameAdmin):
        drafts.activate_draft(uow, draft_id="d1", actor="alice", now=T0)
    with pytest.raises(drafts.DraftNotPreviewed):  # nobody has seen what it changes yet
        drafts.activate_draft(uow, draft_id="d1", actor="bob", now=T0)
    assert active_served(uow).version == before
    assert drafts.view_draft(uow, draft_id="d1").draft.previewed_at is None

    preview(uow)
    assert drafts.view_draft(uow, draft_id="d1").draft.previewed_at == T0
    done = drafts.activate_draft(uow, draft_id="d1", actor="bob", now=T0 + timedelta(hours=1))

    assert done.status == "activated"
    assert done.version == active_served(uow).version == before + 1
    rates = [r.effect.rate_per_yuan for r in active_program(uow).earning_rules]
    assert 6 in rates
    assert audit_actions(engine) == [
        ("program_draft.proposed", "alice"),
        ("program_draft.previewed", "bob"),
        ("program_draft.activated", "bob"),
    ]
    with engine.connect() as connection:
        commands = connection.execute(select(journal.c.command)).scalars().all()
    assert commands.count("program") == 2  # the preset's install, then the draft's
    again = drafts.activate_draft(uow, draft_id="d1", actor="bob", now=T0 + timedelta(hours=2))
    assert again.version == done.version
    assert len(audit_actions(engine)) == 3


def test_a_draft_goes_stale_when_another_version_is_activated_first(uow, live):
    propose(uow, richer(uow), draft_id="first")
    propose(uow, richer(uow).replace("rate_per_yuan: 6\n", "rate_per_yuan: 7\n"), draft_id="other")
    preview(uow, "first")
    preview(uow, "other")
    drafts.activate_draft(uow, draft_id="other", actor="bob", now=T0)

    assert drafts.view_draft(uow, draft_id="first").stale
    with pytest.raises(drafts.DraftStale) as refused:
        drafts.activate_draft(uow, draft_id="first", actor="bob", now=T0)
    assert refused.value.code == "draft_stale"
    assert 7 in [r.effect.rate_per_yuan for r in active_program(uow).earning_rules]


def test_invalid_yaml_changes_nothing(uow, engine, live):
    version = active_served(uow).version
    for text in ("code: [unclosed", richer(uow).replace("timezone:", "time_zone:")):
        with pytest.raises(ProgramInvalid) as refused:
            propose(uow, text)
        assert refused.value.details["errors"]
    with pytest.raises(ProgramInvalid) as renamed:
        propose(uow, richer(uow).replace("code: railway", "code: other", 1))
    assert renamed.value.details["errors"][0]["field"] == "code"

    assert drafts.list_drafts(uow) == []
    assert audit_actions(engine) == []
    assert active_served(uow).version == version


def test_proposing_again_under_the_same_id_is_idempotent(uow, engine, live):
    text = richer(uow)
    first = propose(uow, text)
    assert propose(uow, text, actor="alice") == first
    with pytest.raises(IdempotencyConflict):
        propose(uow, text.replace("rate_per_yuan: 6\n", "rate_per_yuan: 8\n"))
    assert [v.draft.id for v in drafts.list_drafts(uow)] == ["d1"]
    assert audit_actions(engine) == [("program_draft.proposed", "alice")]


def test_the_proposer_withdraws_and_another_admin_rejects_never_to_be_activated(uow, engine, live):
    propose(uow, richer(uow), draft_id="mine")
    propose(uow, richer(uow), draft_id="theirs")

    assert drafts.reject_draft(uow, draft_id="mine", actor="alice", now=T0).status == "withdrawn"
    assert drafts.reject_draft(uow, draft_id="theirs", actor="bob", now=T0).status == "rejected"
    assert drafts.reject_draft(uow, draft_id="theirs", actor="bob", now=T0).status == "rejected"
    with pytest.raises(DraftDecided):
        drafts.activate_draft(uow, draft_id="theirs", actor="bob", now=T0)
    assert [a for a, _ in audit_actions(engine)][-2:] == [
        "program_draft.withdrawn",
        "program_draft.rejected",
    ]


def test_a_preview_reprices_the_period_writes_nothing_but_its_audit_row(
    uow, engine, live, vault, enrol_member
):
    rail = Railway(uow, live, vault)
    member = enrol_member(date(1990, 3, 7))
    rail.trip(member, "A1", at(date(2025, 5, 10)))
    propose(uow, richer(uow))

    report = drafts.preview_draft(
        uow, draft_id="d1", start=date(2025, 5, 1), end=date(2025, 5, 31), actor="bob", now=T0
    )

    assert report.priced == 1
    assert report.draft["ride"] > report.live["ride"] > 0
    assert report.draft_cost_fen > report.live_cost_fen
    assert report.members_affected == 1
    assert audit_actions(engine)[-1] == ("program_draft.previewed", "bob")
    assert drafts.view_draft(uow, draft_id="d1").draft.status == "proposed"


def test_a_preview_period_defaults_to_the_last_30_days_and_refuses_nonsense():
    today = date(2025, 6, 1)
    assert drafts.preview_period(today, None, None) == (date(2025, 5, 2), date(2025, 5, 31))
    with pytest.raises(drafts.InvalidRequest):
        drafts.preview_period(today, date(2025, 5, 2), date(2025, 5, 1))
    with pytest.raises(drafts.InvalidRequest):
        drafts.preview_period(today, date(2023, 1, 1), date(2025, 1, 1))


@pytest.mark.postgres_only
def test_of_two_drafts_activated_at_once_one_wins_and_the_other_is_stale(
    engine: Engine, live: Program
):
    uow = SqlUnitOfWork(engine)
    text = richer(uow)
    for n in range(2):
        propose(
            uow, text.replace("rate_per_yuan: 6\n", f"rate_per_yuan: {6 + n}\n"), draft_id=f"d{n}"
        )
        preview(uow, f"d{n}")
    before = active_served(uow).version

    def activate(n: int) -> object:
        return drafts.activate_draft(SqlUnitOfWork(engine), draft_id=f"d{n}", actor="bob", now=T0)

    results = run_together(2, activate)

    assert sorted(type(r).__name__ for r in results) == ["DraftRecord", "DraftStale"]
    assert active_served(uow).version == before + 1


@pytest.mark.postgres_only
def test_one_draft_id_proposed_at_once_is_stored_once(engine: Engine, live: Program):
    text = richer(SqlUnitOfWork(engine))

    def send(_n: int) -> object:
        return propose(SqlUnitOfWork(engine), text, draft_id="same")

    results = run_together(4, send)

    assert all(getattr(r, "id", None) == "same" for r in results), results
    assert audit_actions(engine) == [("program_draft.proposed", "alice")]
