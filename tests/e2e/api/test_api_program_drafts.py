"""Program drafts over HTTP: one admin proposes, a second activates, and the server serves it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from jifen.services.keys import create_key
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import T0, Api


@pytest.fixture
def second_admin(api: Api, engine: Engine) -> str:
    token = create_key(SqlUnitOfWork(engine), role="admin", label="second", now=T0).token
    api.keys["admin2"] = token
    return "admin2"


def active_rate(api: Api) -> int:
    program = api.get("/v1/program", role="operator").json()["program"]
    return program["earning_rules"][0]["effect"]["rate_per_yuan"]


def raised(api: Api) -> str:
    """The active program as the console's editor shows it, with the first rule's rate + 1."""
    program = api.get("/v1/program").json()["program"]
    program["earning_rules"][0]["effect"]["rate_per_yuan"] += 1
    return json.dumps(program)  # JSON is YAML


def test_a_draft_is_activated_by_a_second_admin_and_served_at_once(api: Api, second_admin: str):
    rate = active_rate(api)
    proposed = api.post("/v1/program/drafts", {"id": "d1", "yaml": raised(api)})
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["status"] == "proposed"
    assert f"-    rate_per_yuan: {rate}\n" in proposed.json()["diff"]
    assert f"+    rate_per_yuan: {rate + 1}\n" in proposed.json()["diff"]

    preview = api.post("/v1/program/drafts/d1/what-if", {})
    assert preview.status_code == 200, preview.text
    assert preview.json()["cost_change_fen"] == 0  # no trips in the last 30 days
    backwards = api.post(
        "/v1/program/drafts/d1/what-if", {"start": "2025-05-02", "end": "2025-05-01"}
    )
    assert backwards.status_code == 422
    assert backwards.json()["error"]["code"] == "invalid_request"

    refused = api.post("/v1/program/drafts/d1/activate")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "draft_same_admin"
    assert active_rate(api) == rate

    done = api.post("/v1/program/drafts/d1/activate", role=second_admin)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "activated"
    assert active_rate(api) == rate + 1
    listed = api.get("/v1/program/drafts").json()["items"]
    assert [(d["id"], d["status"]) for d in listed] == [("d1", "activated")]


def test_a_stale_draft_is_refused_and_a_withdrawn_one_stays_withdrawn(api: Api, second_admin: str):
    text = raised(api)
    assert api.post("/v1/program/drafts", {"id": "a", "yaml": text}).status_code == 201
    assert api.post("/v1/program/drafts", {"id": "b", "yaml": text}).status_code == 201
    unseen = api.post("/v1/program/drafts/a/activate", role=second_admin)
    assert unseen.status_code == 409
    assert unseen.json()["error"]["code"] == "draft_not_previewed"
    assert api.get("/v1/program/drafts/a").json()["previewed_at"] is None
    assert api.post("/v1/program/drafts/a/what-if", {}, role=second_admin).status_code == 200
    assert api.get("/v1/program/drafts/a").json()["previewed_at"] is not None
    assert api.post("/v1/program/drafts/a/activate", role=second_admin).status_code == 200

    stale = api.post("/v1/program/drafts/b/activate", role=second_admin)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "draft_stale"
    withdrawn = api.post("/v1/program/drafts/b/reject")
    assert withdrawn.json()["status"] == "withdrawn"
    decided = api.post("/v1/program/drafts/b/activate", role=second_admin)
    assert decided.json()["error"]["code"] == "draft_decided"


def test_an_invalid_program_is_refused_with_its_problems_and_nothing_is_stored(api: Api):
    refused = api.post("/v1/program/drafts", {"id": "bad", "yaml": "code: railway\nname: 1\n"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "program_invalid"
    assert refused.json()["error"]["details"]["errors"]
    assert api.get("/v1/program/drafts").json()["items"] == []
    assert api.get("/v1/program/drafts/bad").status_code == 404


def test_only_admins_see_drafts(api: Api):
    for role in ("operator", "analyst", "integrator"):
        assert api.get("/v1/program/drafts", role=role).status_code == 403
