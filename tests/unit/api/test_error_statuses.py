"""Every error code in Jifen answers with a status someone chose, and the docs say the same."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from http import HTTPStatus
from pathlib import Path

import pytest

import jifen
from jifen.api.errors import error_response
from jifen.domain.errors import JifenError, NotFound

ROOT = Path(__file__).resolve().parents[3]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
API_DOC = ROOT / "docs" / "api.md"

# Codes answered for Starlette's own refusals: the status is the one Starlette raised.
FRAMEWORK_CODES = {"method_not_allowed"}


def _every_error_class() -> list[type[JifenError]]:
    """Every subclass of the error base in the code base (all modules imported first)."""
    for module in pkgutil.walk_packages(jifen.__path__, "jifen."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: list[type[JifenError]] = []
    waiting = [JifenError]
    while waiting:
        for sub in waiting.pop().__subclasses__():
            found.append(sub)
            waiting.append(sub)
    return found


ERRORS = _every_error_class()
STATUS_OF = {error.code: error.status for error in ERRORS if hasattr(error, "status")}


def _documented() -> list[tuple[str, int, str]]:
    """`(file:line, status, code)` for each status the docs give a code, inline or in a table."""
    inline = re.compile(r"`([45]\d\d) ([a-z_]+)`|\b([45]\d\d) `([a-z_]+)`")
    row = re.compile(r"^\| *([45]\d\d) *\| *([^|]*)\|")
    found = []
    for path in DOCS:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            where = f"{path.name}:{number}"
            for m in inline.finditer(line):
                status, code = (m[1], m[2]) if m[1] else (m[3], m[4])
                found.append((where, int(status), code))
            if m := row.match(line):
                found += [(where, int(m[1]), code) for code in re.findall(r"`([a-z_]+)`", m[2])]
    return found


def test_the_code_base_has_its_errors_collected() -> None:
    # A guard on the walk itself: errors from the domain, services, api and web are all seen.
    modules = {error.__module__.split(".")[1] for error in ERRORS}
    assert {"domain", "services", "api", "web", "programs"} <= modules
    assert NotFound in ERRORS


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: f"{e.__module__}.{e.__name__}")
def test_each_error_class_names_its_own_http_status_beside_its_code(
    error: type[JifenError],
) -> None:
    # A class that names a new code names its status in the same place: no status is inherited
    # or defaulted by accident.
    if "code" in vars(error):
        assert "status" in vars(error), f"{error.__name__} ({error.code!r}) names no status"
    status = getattr(error, "status", None)
    assert isinstance(status, int), f"{error.__name__} ({error.code!r}) has no status"
    assert status in {s.value for s in HTTPStatus}
    assert 400 <= status < 600  # a refusal, never a success


def test_no_two_error_classes_share_a_code() -> None:
    owners: dict[str, list[str]] = {}
    for error in ERRORS:
        if "code" in vars(error):
            owners.setdefault(error.code, []).append(error.__name__)
    assert {code: names for code, names in owners.items() if len(names) > 1} == {}


def test_every_status_the_docs_give_a_code_is_the_one_it_answers_with() -> None:
    wrong = [
        f"{where}: docs say {status} {code}, the code says {STATUS_OF.get(code, 'nothing')}"
        for where, status, code in _documented()
        if code not in FRAMEWORK_CODES and STATUS_OF.get(code) != status
    ]
    assert wrong == []


def test_the_api_error_table_lists_every_code_that_is_not_a_422() -> None:
    # docs/api.md promises: "every code not listed in this table is a 422".
    text = API_DOC.read_text()
    table = text[text.index("| HTTP | codes | what it means |") :].split("\n\n", 1)[0]
    assert "every code not listed in this table is a 422" in table
    listed = set(re.findall(r"`([a-z_]+)`", table))
    unlisted = {code: s for code, s in STATUS_OF.items() if s != 422 and code not in listed}
    assert unlisted == {}


def test_the_contract_statuses_of_spec_section_12_hold() -> None:
    # SPEC §12 fixes these; they are stated here, not read from the code.
    contract = {
        "member_exists": 409,
        "invalid_identity": 422,
        "under_age": 422,
        "beneficiary_limit": 409,
        "redemption_locked": 403,
        "insufficient_points": 409,
        "beneficiary_not_effective": 409,
        "train_not_redeemable": 422,
        "change_not_allowed": 409,
        "departure_passed": 409,
        "cancel_window_closed": 409,
        "out_of_stock": 409,
        "limit_reached": 409,
        "sale_not_open": 409,
        "unauthorized": 401,
        "forbidden": 403,
        "not_found": 404,
    }
    assert {code: STATUS_OF.get(code) for code in contract} == contract


def test_an_error_answers_with_its_class_status_and_the_one_body() -> None:
    response = error_response(NotFound("No member 9.", member_id=9))

    assert response.status_code == 404
    assert json.loads(response.body) == {
        "error": {"code": "not_found", "message": "No member 9.", "details": {"member_id": 9}}
    }


def test_an_error_without_a_status_is_answered_as_the_bug_it_is() -> None:
    # The bare base names no status; whatever reaches the edge without one is a 500, not a guess.
    response = error_response(JifenError("Something nobody mapped."))

    assert response.status_code == 500
    assert json.loads(response.body)["error"]["code"] == "internal_error"
