"""Input is taken as sent: no integer, boolean or date in a body or an event is coerced (issue 19).

The first test walks the app's OpenAPI schema, so an endpoint added later is checked too: every
integer, boolean, date and date-time property of every JSON request body gets a value of the wrong
type (a JSON `true` for an integer, `"10"` for an integer, `1` for a boolean, a number for a date)
in an otherwise valid body, and must be refused with 422 `validation_error` naming that field,
leaving every table as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from jifen.services.portal_sign_in import create_link
from jifen.storage.tables import metadata
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import Api
from tests.e2e.api.test_api_contract import enrolment
from tests.integration.services.test_events import at, ticket

WRONG: dict[str, list[Any]] = {
    "integer": [True, "10", 10.0],
    "boolean": [1, "true"],
    "date": [0, 1735689600],
    "date-time": [1735689600, "1735689600"],
}
TEXT_CANDIDATES = ("abc1", "ab", "a")
Path = tuple[str, ...]


class Schema:
    """The OpenAPI request bodies: valid values, and the typed leaves found by walking them."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.components = spec["components"]["schemas"]

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def branches(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """The alternatives of a schema (a union's non-null members), each resolved."""
        schema = self.resolve(schema)
        options = schema.get("oneOf") or schema.get("anyOf")
        if not options:
            return [schema]
        return [b for o in options for b in self.branches(o) if b.get("type") != "null"]

    def valid(self, schema: dict[str, Any]) -> Any:
        """A value that validates against `schema`: objects get their required properties only."""
        schema = self.branches(schema)[0]
        if "const" in schema or "enum" in schema:
            return schema.get("const", (schema.get("enum") or [None])[0])
        kind = schema.get("type")
        if kind == "object":
            required = schema.get("required", [])
            return {name: self.valid(schema["properties"][name]) for name in required}
        if kind == "array":
            return [self.valid(schema.get("items", {}))] * max(1, schema.get("minItems", 1))
        if kind in ("integer", "number"):
            low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
            return min(max(1, low), schema.get("maximum", 10**9))
        if kind == "boolean":
            return True
        return self.text(schema)

    def text(self, schema: dict[str, Any]) -> str:
        if schema.get("format") == "date":
            return "2025-06-30"
        if schema.get("format") == "date-time":
            return "2025-06-30T09:00:00+08:00"
        pattern = schema.get("pattern")
        for candidate in TEXT_CANDIDATES:
            if len(candidate) >= schema.get("minLength", 0) and (
                pattern is None or re.search(pattern, candidate)
            ):
                return candidate
        raise AssertionError(f"no test text fits {schema}")  # teach TEXT_CANDIDATES a new one

    def leaves(self, schema: dict[str, Any], path: Path = ()) -> Iterator[tuple[Path, str]]:
        """Every integer, boolean, date and date-time reachable from `schema`, with its path."""
        for branch in self.branches(schema):
            kind = branch.get("type")
            if kind in ("integer", "boolean"):
                yield path, kind
            elif kind == "string" and branch.get("format") in ("date", "date-time"):
                yield path, branch["format"]
            elif kind == "array":
                yield from self.leaves(branch.get("items", {}), (*path, "0"))
            elif kind == "object":
                for name, prop in branch.get("properties", {}).items():
                    yield from self.leaves(prop, (*path, name))

    def with_value(self, schema: dict[str, Any], path: Path, value: Any) -> Any:
        """A valid value of `schema` with `value` placed at `path` (optional parents made)."""
        if not path:
            return value
        head, rest = path[0], path[1:]
        for branch in self.branches(schema):
            if branch.get("type") == "array":
                return [self.with_value(branch.get("items", {}), rest, value)]
            if head in branch.get("properties", {}):
                body = self.valid(branch)
                body[head] = self.with_value(branch["properties"][head], rest, value)
                return body
        raise AssertionError(f"{path} is not in {schema}")

    def cases(self) -> Iterator[tuple[str, str, Any, str]]:
        """`(method, url, body, field)` for every wrong-typed value of every body."""
        for route, operations in self.spec["paths"].items():
            for method, operation in operations.items():
                content = operation.get("requestBody", {}).get("content", {})
                if "application/json" not in content:
                    continue
                url = self.url(route, operation)
                for body_schema in self.branches(content["application/json"]["schema"]):
                    for path, kind in self.leaves(body_schema):
                        for wrong in WRONG[kind]:
                            body = self.with_value(body_schema, path, wrong)
                            yield method.upper(), url, body, ".".join(path)

    def url(self, route: str, operation: dict[str, Any]) -> str:
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                value = self.valid(parameter["schema"])
                route = route.replace("{" + parameter["name"] + "}", str(value))
        return route


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def test_every_request_body_refuses_integers_booleans_and_dates_of_the_wrong_type(
    api: Api, engine: Engine
):
    api.post("/v1/members", enrolment(date(1990, 3, 7), 1))  # member 1, whom `true` would name
    # A member's own routes (/v1/me) take member 1's token, the others the admin's key.
    now = datetime.fromisoformat(api.get("/v1/clock").json()["now"])
    link = create_link(SqlUnitOfWork(engine), member_id=1, now=now)
    api.keys["me"] = api.post("/v1/me/sign-in", {"link_token": link}).json()["token"]
    schema = Schema(api.client.app.openapi())
    cases = list(schema.cases())
    assert len({(method, url) for method, url, _, _ in cases}) >= 15  # every body, not a few
    before = row_counts(engine)

    taken = []
    for method, url, body, field in cases:
        role = "me" if url.startswith("/v1/me/") else "admin"
        response = api.client.request(method, url, json=body, headers=api.headers(role))
        error = response.json().get("error") or {}
        named = [e["field"] for e in error.get("details", {}).get("errors", [])]
        refused = response.status_code == 422 and error.get("code") == "validation_error"
        if not (refused and any(f.endswith(field) for f in named)):
            taken.append(f"{method} {url} {field}={body!r}: {response.status_code} {error}")

    assert taken == []
    assert row_counts(engine) == before


def activity(event_id: str, **data: Any) -> dict[str, Any]:
    fields = {"member_id": 1, "activity": "survey", "points": 10, **data}
    moment = at(DAY).isoformat()
    return {"id": event_id, "type": "activity.completed", "occurred_at": moment, "data": fields}


def purchase(event_id: str, **data: Any) -> dict[str, Any]:
    fields = ticket(f"T-{event_id}", departure=at(DAY + timedelta(days=3)), passenger={})
    fields |= {"passenger": {"member_id": 1}, **data}
    moment = at(DAY).isoformat()
    return {"id": event_id, "type": "ticket.purchased", "occurred_at": moment, "data": fields}


DAY = date(2025, 5, 10)
TRAIN = {"number": "G1", "participating": True, "international": False, "tourist": False}
WRONG_EVENTS = {
    "member_id true": activity("e", member_id=True),
    "points as text": activity("e", points="10"),
    "points as float": activity("e", points=10.0),
    "passenger member_id true": purchase("e", passenger={"member_id": True}),
    "fare as text": purchase("e", fare_fen="10000"),
    "fare as float": purchase("e", fare_fen=10000.0),
    "real_name as 1": purchase("e", real_name=1),
    "tourist as text": purchase("e", train={**TRAIN, "tourist": "false"}),
    "participating as 1": purchase("e", train={**TRAIN, "participating": 1}),
    "departure as a number": purchase("e", departure_at=1746900000),
    "occurred_at as digits": {**activity("e"), "occurred_at": "1746864000"},
    "change fare as text": {
        "id": "e",
        "type": "ticket.changed",
        "occurred_at": at(DAY).isoformat(),
        "data": {
            "ticket_id": "T-x",
            "new_ticket_id": "T-y",
            "fare_fen": "100",
            "departure_at": at(DAY + timedelta(days=1)).isoformat(),
            "arrival_at": at(DAY + timedelta(days=1), 14).isoformat(),
        },
    },
}


@pytest.mark.parametrize("batch", [False, True], ids=["one event", "a batch"])
@pytest.mark.parametrize("wrong", list(WRONG_EVENTS), ids=list(WRONG_EVENTS))
def test_an_event_with_a_value_of_the_wrong_type_is_rejected_as_invalid(
    api: Api, engine: Engine, wrong: str, batch: bool
):
    api.post("/v1/clock", {"now": at(DAY, 12).isoformat()})
    assert api.post("/v1/members", enrolment(date(1990, 3, 7), 1)).status_code == 201
    events = [WRONG_EVENTS[wrong], activity("fine", points=5)] if batch else [WRONG_EVENTS[wrong]]
    before = row_counts(engine)["ledger_transactions"]

    results = api.post("/v1/events", {"events": events}, role="integrator").json()["results"]

    assert results[0]["status"] == "rejected", results
    assert results[0]["error"]["code"] == "invalid_event", results
    credited = 5 if batch else 0
    assert api.get("/v1/members/1").json()["balances"]["activity"] == credited
    assert row_counts(engine)["ledger_transactions"] == before + (1 if batch else 0)
