"""Campaigns (积分加成) on travelled trips, on both databases: bonus, budget, control, report."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import count

import pytest

from jifen.domain.campaigns import CONTROL, TREATED, arm
from jifen.domain.errors import IdempotencyConflict
from jifen.services.campaigns import (
    CampaignDraft,
    campaign_report,
    create_campaign,
    get_campaign,
    pause_campaign,
    resume_campaign,
    stop_campaign,
)
from jifen.services.campaigns.definitions import repository
from jifen.services.ledger_check import check_ledger
from jifen.services.programs import install_program
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, T0
from tests.e2e.cli.test_cli_program import jifen
from tests.integration.services.test_events import Railway, at, ticket

SATURDAY = date(2025, 6, 7)
BASE = 2768  # ¥553.50 × 5, half-up
HALF = 1384


@pytest.fixture
def rail(uow, railway, vault) -> Railway:
    return Railway(uow, railway, vault)


def draft(campaign_id: str = "summer", **changes) -> CampaignDraft:
    fields = {
        "id": campaign_id,
        "name": "Summer weekends",
        "starts_at": datetime(2025, 6, 1, tzinfo=SHANGHAI),
        "ends_at": datetime(2025, 7, 1, tzinfo=SHANGHAI),
        "budget_points": 100_000,
        "effect": {"kind": "ride", "percent": 50},
        "target": {"trains": ["G"]},
        "control_percent": 0,
    }
    fields.update(changes)
    return CampaignDraft(**fields)


def launch(uow, railway, **changes):
    campaign, created = create_campaign(
        uow, program=railway, draft=draft(**changes), actor="test", now=T0
    )
    assert created
    return campaign


def id_putting(members: dict[int, str], percent: int) -> str:
    """A campaign id whose hash puts each member in the arm asked for."""
    for n in count():
        campaign_id = f"c{n}"
        if all(arm(campaign_id, m, percent) == side for m, side in members.items()):
            return campaign_id
    raise AssertionError  # pragma: no cover


def ride(rail: Railway, member: int) -> int:
    return rail.balances(member)["ride"][0]


def test_a_treated_trip_earns_half_again_as_its_own_posting(rail, uow, railway, enrol_member):
    member = enrol_member()
    launch(uow, railway)
    rail.send(
        "ticket.purchased",
        at(SATURDAY, 7),
        ticket("T1", departure=at(SATURDAY), passenger={"member_id": member}),
    )
    travelled = rail.send("ticket.travelled", at(SATURDAY, 15), {"ticket_id": "T1"}, "ride-1")
    assert travelled.outcome["campaigns"] == [{"campaign_id": "summer", "bonus": HALF}]
    assert rail.balances(member) == {"ride": (BASE + HALF, 0), "upgrade": (BASE, 0)}
    with uow:
        bonus = uow.ledger.find_by_key("ride-1:campaign:summer")
    assert bonus is not None
    assert bonus.memo["campaign_id"] == "summer"
    assert "Summer weekends" in bonus.memo["rules"][0]["explanation"]
    assert get_campaign(uow, "summer").spent_points == HALF
    assert check_ledger(uow).ok


def test_a_resent_travel_never_doubles_the_bonus(rail, uow, railway, enrol_member):
    member = enrol_member()
    launch(uow, railway)
    data = ticket("T1", departure=at(SATURDAY), passenger={"member_id": member})
    rail.send("ticket.purchased", at(SATURDAY, 7), data)
    rail.send("ticket.travelled", at(SATURDAY, 15), {"ticket_id": "T1"}, "ride-1")
    again = rail.send("ticket.travelled", at(SATURDAY, 15), {"ticket_id": "T1"}, "ride-1")
    assert again.status == "duplicate"
    assert ride(rail, member) == BASE + HALF
    assert get_campaign(uow, "summer").spent_points == HALF


def test_the_last_bonus_is_cut_to_the_budget_and_the_campaign_is_exhausted(
    rail, uow, railway, enrol_member
):
    member = enrol_member()
    launch(uow, railway, budget_points=2_000)
    for n in range(3):
        rail.trip(member, f"T{n}", at(SATURDAY + timedelta(days=n)))
    # 1,384 then 616 (what was left of 2,000), then nothing
    assert ride(rail, member) == 3 * BASE + 2_000
    campaign = get_campaign(uow, "summer")
    assert (campaign.spent_points, campaign.status) == (2_000, "exhausted")
    with uow:
        trips = repository(uow).trips_of("summer")
        assert repository(uow).ledger_bonus_total("summer") == 2_000
    assert [t.bonus_points for t in trips] == [HALF, 2_000 - HALF]
    assert check_ledger(uow).ok


def test_off_peak_days_and_hours_and_the_train_decide(rail, uow, railway, enrol_member):
    member = enrol_member()
    target = {"trains": ["G"], "weekdays": [6, 7], "hours": {"from": 10, "to": 16}}
    launch(uow, railway, target=target, effect={"kind": "ride", "points": 500})
    rail.trip(member, "sat-11", at(SATURDAY, 11))  # yes
    rail.trip(member, "sat-17", at(SATURDAY, 17))  # after hours
    rail.trip(member, "mon-11", at(SATURDAY + timedelta(days=2), 11))  # a weekday
    rail.trip(member, "k-sat", at(SATURDAY, 12), train={"number": "K1234"})  # not a G train
    rail.trip(member, "may", at(date(2025, 5, 31), 11))  # before the window
    assert ride(rail, member) == 5 * BASE + 500


def test_a_control_member_gets_nothing_but_the_trip_is_recorded(rail, uow, railway, enrol_member):
    treated, control = enrol_member(), enrol_member()
    campaign_id = id_putting({treated: TREATED, control: CONTROL}, 50)
    launch(uow, railway, id=campaign_id, control_percent=50)
    rail.trip(treated, "T1", at(SATURDAY))
    rail.trip(control, "T2", at(SATURDAY))
    assert (ride(rail, treated), ride(rail, control)) == (BASE + HALF, BASE)
    with uow:
        trips = repository(uow).trips_of(campaign_id)
    assert [(t.member_id, t.arm, t.bonus_points) for t in trips] == [
        (treated, TREATED, HALF),
        (control, CONTROL, 0),
    ]


def test_a_stopped_campaign_gives_nothing_more(rail, uow, railway, enrol_member):
    member = enrol_member()
    launch(uow, railway)
    rail.trip(member, "T1", at(SATURDAY))
    stopped = stop_campaign(uow, campaign_id="summer", actor="test", now=at(SATURDAY, 20))
    assert stop_campaign(uow, campaign_id="summer", actor="test", now=at(SATURDAY, 21)) == stopped
    assert (stopped.status, stopped.stopped_at) == ("stopped", at(SATURDAY, 20))
    rail.trip(member, "T2", at(SATURDAY + timedelta(days=1)))
    assert ride(rail, member) == 2 * BASE + HALF


def test_a_paused_campaign_gives_nothing_until_it_is_resumed(rail, uow, railway, enrol_member):
    member = enrol_member()
    launch(uow, railway)
    paused = pause_campaign(uow, campaign_id="summer", actor="ops", now=at(SATURDAY, 5))
    assert pause_campaign(uow, campaign_id="summer", actor="ops", now=at(SATURDAY, 6)) == paused
    assert (paused.status, paused.stopped_at) == ("paused", None)
    rail.trip(member, "T1", at(SATURDAY))
    assert ride(rail, member) == BASE
    resumed = resume_campaign(uow, campaign_id="summer", actor="ops", now=at(SATURDAY, 20))
    assert resume_campaign(uow, campaign_id="summer", actor="ops", now=at(SATURDAY, 21)) == resumed
    assert resumed.status == "active"
    rail.trip(member, "T2", at(SATURDAY + timedelta(days=1)))
    assert ride(rail, member) == 2 * BASE + HALF
    assert get_campaign(uow, "summer").spent_points == HALF
    with uow:
        audited = uow.audit_log.entries(
            since=None, until=None, subject="campaign:summer", newest_first=False, limit=10
        )
    assert [(e.action, e.actor) for e in audited] == [
        ("campaign.created", "test"),
        ("campaign.paused", "ops"),
        ("campaign.resumed", "ops"),
    ]


def test_a_paused_campaign_can_be_stopped_but_a_stopped_one_never_resumes(uow, railway):
    launch(uow, railway)
    pause_campaign(uow, campaign_id="summer", actor="ops", now=T0)
    stopped = stop_campaign(uow, campaign_id="summer", actor="ops", now=T0)
    assert stopped.status == "stopped"
    assert resume_campaign(uow, campaign_id="summer", actor="ops", now=T0) == stopped
    assert pause_campaign(uow, campaign_id="summer", actor="ops", now=T0) == stopped


def test_a_claim_and_a_travel_before_its_purchase_earn_the_bonus_too(
    rail, uow, railway, enrol_member
):
    member = enrol_member()
    launch(uow, railway)
    claim = ticket("C1", departure=at(SATURDAY), passenger={"member_id": member})
    assert rail.send("ticket.travelled", at(SATURDAY, 20), claim).outcome["campaigns"]
    early = ticket("E1", departure=at(SATURDAY), passenger={"member_id": member})
    rail.send("ticket.travelled", at(SATURDAY, 15), {"ticket_id": "E1"})
    assert rail.send("ticket.purchased", at(SATURDAY, 16), early).outcome["campaigns"]
    assert ride(rail, member) == 2 * (BASE + HALF)
    assert get_campaign(uow, "summer").spent_points == 2 * HALF


def test_creating_is_idempotent_by_id(uow, railway):
    first, created = create_campaign(uow, program=railway, draft=draft(), actor="test", now=T0)
    same_instants = draft(starts_at=first.starts_at, ends_at=first.ends_at)  # in UTC now
    again, created_again = create_campaign(
        uow, program=railway, draft=same_instants, actor="test", now=T0
    )
    assert (created, created_again, again) == (True, False, first)
    with pytest.raises(IdempotencyConflict):
        create_campaign(uow, program=railway, draft=draft(budget_points=5), actor="test", now=T0)


def test_a_campaign_must_fit_the_program(uow, railway):
    from jifen.domain.campaigns import InvalidCampaign  # noqa: PLC0415

    with pytest.raises(InvalidCampaign) as error:
        create_campaign(
            uow,
            program=railway,
            draft=draft(effect={"kind": "upgrade", "percent": 50}, target={"tiers": ["gold"]}),
            actor="test",
            now=T0,
        )
    assert len(error.value.details["problems"]) == 2


def test_the_report_compares_trips_and_spend_per_member_by_hand(rail, uow, railway, enrol_member):
    a, b, c, d = (enrol_member() for _ in range(4))
    campaign_id = id_putting({a: TREATED, b: TREATED, c: CONTROL, d: CONTROL}, 50)
    launch(uow, railway, id=campaign_id, control_percent=50, target={"member_ids": [a, b, c, d]})
    other = enrol_member()  # not in the member list: earns nothing, not counted
    rail.trip(a, "A1", at(SATURDAY))
    rail.trip(a, "A2", at(SATURDAY + timedelta(days=1)))
    rail.trip(c, "C1", at(SATURDAY))
    rail.trip(other, "O1", at(SATURDAY))

    report = campaign_report(uow, program=railway, campaign_id=campaign_id)

    assert (report.cost_points, report.cost_fen, report.ledger_points) == (2 * HALF,) * 3
    assert report.members == {TREATED: 2, CONTROL: 2}
    assert report.recorded[TREATED].trips == 2
    assert report.recorded[CONTROL].trips == 1
    # trips per member: treated (2, 0) mean 1, var 2; control (1, 0) mean 0.5, var 0.5
    # se = sqrt(2/2 + 0.5/2) = 1.118034; 1.959964 × se = 2.191306
    assert (report.trips.treated_mean, report.trips.control_mean) == (1.0, 0.5)
    assert report.trips.difference == 0.5
    assert report.trips.ci95 == pytest.approx((-1.6913, 2.6913), abs=1e-4)
    assert (report.spend_fen.treated_mean, report.spend_fen.control_mean) == (55_350.0, 27_675.0)
    assert report.spend_fen.relative == 1.0


# -- over HTTP ----------------------------------------------------------------------------------

BODY = {
    "id": "weekend-g",
    "name": "高铁周末加成",
    "starts_at": "2025-06-01T00:00:00+08:00",
    "ends_at": "2025-07-01T00:00:00+08:00",
    "budget_points": 2_000,
    "effect": {"kind": "ride", "percent": 50},
    "target": {"trains": ["G"], "weekdays": [6, 7], "hours": {"from": 6, "to": 12}},
    "control_percent": 0,
}


def send_trip(api, member: int, ticket_id: str, day: date, hour: int = 9) -> dict:
    departure = at(day, hour)
    data = ticket(ticket_id, departure=departure, passenger={"member_id": member})
    events = [
        {
            "id": f"buy-{ticket_id}",
            "type": "ticket.purchased",
            "occurred_at": departure.isoformat(),
            "data": data,
        },
        {
            "id": f"ride-{ticket_id}",
            "type": "ticket.travelled",
            "occurred_at": (departure + timedelta(hours=6)).isoformat(),
            "data": {"ticket_id": ticket_id},
        },
    ]
    response = api.post("/v1/events", {"events": events}, role="integrator")
    assert [r["status"] for r in response.json()["results"]] == ["applied", "applied"]
    return response.json()


class TestOverHttp:
    def test_an_operator_creates_a_campaign_once(self, api):
        created = api.post("/v1/campaigns", BODY, role="operator")
        assert created.status_code == 201, created.json()
        assert created.json()["status"] == "active"
        assert created.json()["target"]["hours"] == {"from": 6, "to": 12}
        assert created.json()["remaining_points"] == 2_000
        again = api.post("/v1/campaigns", BODY, role="operator")
        assert (again.status_code, again.json()) == (201, created.json())
        changed = api.post("/v1/campaigns", {**BODY, "budget_points": 5}, role="operator")
        assert changed.status_code == 409
        assert changed.json()["error"]["code"] == "idempotency_conflict"

    def test_roles(self, api):
        assert api.post("/v1/campaigns", BODY, role="integrator").status_code == 403
        assert api.post("/v1/campaigns", BODY, role="analyst").status_code == 403
        api.post("/v1/campaigns", BODY, role="operator")
        assert api.get("/v1/campaigns", role="analyst").status_code == 200
        assert api.get("/v1/campaigns/weekend-g/report", role="analyst").status_code == 200
        assert api.get("/v1/campaigns", role="integrator").status_code == 403
        assert api.post("/v1/campaigns/weekend-g/stop", role="analyst").status_code == 403

    def test_nonsense_is_refused_with_every_problem_named(self, api):
        body = {
            **BODY,
            "ends_at": "2025-05-01T00:00:00+08:00",
            "effect": {"kind": "ride", "percent": 50, "points": 100},
        }
        refused = api.post("/v1/campaigns", body, role="operator")
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "invalid_campaign"
        assert len(refused.json()["error"]["details"]["problems"]) == 2
        bad_hours = {**BODY, "target": {"hours": {"from": 25, "to": 3}}}
        assert api.post("/v1/campaigns", bad_hours, role="operator").status_code == 422
        assert api.get("/v1/campaigns/nope").json()["error"]["code"] == "not_found"

    def test_trips_earn_until_the_budget_is_spent_then_the_report_shows_the_cost(
        self, api, enrol_member
    ):
        member = enrol_member()
        api.post("/v1/campaigns", BODY, role="operator")
        first = send_trip(api, member, "T1", SATURDAY)
        assert first["results"][1]["status"] == "applied"
        send_trip(api, member, "T2", SATURDAY + timedelta(days=1))  # Sunday: 616 of 1,384
        send_trip(api, member, "T3", SATURDAY + timedelta(days=7))  # exhausted: nothing
        send_trip(api, member, "T4", SATURDAY + timedelta(days=2))  # Monday: not targeted
        api.post("/v1/clock", {"now": "2025-07-02T09:00:00+08:00"})
        balances = api.get(f"/v1/members/{member}").json()["balances"]
        assert balances["ride"] == 4 * BASE + 2_000

        listed = api.get("/v1/campaigns", role="operator").json()["items"]
        assert [(c["campaign_id"], c["status"], c["spent_points"]) for c in listed] == [
            ("weekend-g", "exhausted", 2_000)
        ]
        report = api.get("/v1/campaigns/weekend-g/report", role="analyst").json()
        assert (report["cost_points"], report["cost_fen"]) == (2_000, 2_000)
        assert report["treated"]["trips"] == 2
        assert report["treated"]["bonus_points"] == 2_000
        assert report["control"]["members"] == 0
        assert report["trips"]["ci95"] is None  # no control group to compare with

    def test_stop(self, api, enrol_member):
        member = enrol_member()
        api.post("/v1/campaigns", BODY, role="operator")
        stopped = api.post("/v1/campaigns/weekend-g/stop", role="operator")
        assert stopped.status_code == 200
        assert stopped.json()["status"] == "stopped"
        assert api.post("/v1/campaigns/weekend-g/stop", role="operator").json() == stopped.json()
        send_trip(api, member, "T1", SATURDAY)
        api.post("/v1/clock", {"now": "2025-07-02T09:00:00+08:00"})
        assert api.get(f"/v1/members/{member}").json()["balances"]["ride"] == BASE
        assert api.post("/v1/campaigns/nope/stop", role="operator").status_code == 404
        operator = api.keys["operator"].split("_")[1]
        with SqlUnitOfWork(api.client.app.state.jifen.engine) as uow:
            audited = uow.audit_log.entries(
                since=None, until=None, subject="campaign:weekend-g", newest_first=False, limit=10
            )
        assert [(e.action, e.actor) for e in audited] == [
            ("campaign.created", operator),
            ("campaign.stopped", operator),
        ]

    def test_pause_and_resume(self, api, enrol_member):
        member = enrol_member()
        api.post("/v1/campaigns", BODY, role="operator")
        assert api.post("/v1/campaigns/weekend-g/pause", role="analyst").status_code == 403
        paused = api.post("/v1/campaigns/weekend-g/pause", role="operator")
        assert (paused.status_code, paused.json()["status"]) == (200, "paused")
        assert api.post("/v1/campaigns/weekend-g/pause", role="operator").json() == paused.json()
        send_trip(api, member, "T1", SATURDAY)
        resumed = api.post("/v1/campaigns/weekend-g/resume", role="operator")
        assert (resumed.status_code, resumed.json()["status"]) == (200, "active")
        send_trip(api, member, "T2", SATURDAY + timedelta(days=1))
        api.post("/v1/clock", {"now": "2025-07-02T09:00:00+08:00"})
        campaign = api.get("/v1/campaigns/weekend-g", role="analyst").json()
        assert campaign["spent_points"] == HALF
        assert api.get(f"/v1/members/{member}").json()["balances"]["ride"] == 2 * BASE + HALF
        assert api.post("/v1/campaigns/nope/resume", role="operator").status_code == 404


def test_the_cli_lists_and_reports(engine, rail, enrol_member, tmp_path):
    uow, railway = rail.uow, rail.program
    install_program(uow, program=railway, source="preset:railway")
    member = enrol_member()
    launch(uow, railway, budget_points=2_000)
    rail.trip(member, "T1", at(SATURDAY))
    url = engine.url.render_as_string(hide_password=False)
    listed = jifen(tmp_path, url, "campaigns", "list")
    assert listed.returncode == 0, listed.stderr
    assert "summer" in listed.stdout
    assert "1,384" in listed.stdout
    reported = jifen(tmp_path, url, "campaigns", "report", "summer")
    assert reported.returncode == 0, reported.stderr
    assert "cost 1,384 of 2,000 points (¥13.84)" in reported.stdout
    missing = jifen(tmp_path, url, "campaigns", "report", "nope")
    assert (missing.returncode, "not_found" in missing.stdout) == (1, True)
