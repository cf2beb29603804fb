"""Beneficiaries in the member portal: add (effective date shown), limits, remove, masking."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import Engine

from tests.conftest import Api, resident_id
from tests.e2e.web.test_web_portal_pages import Portal, make_portal, text_of

LIST = "/portal/beneficiaries"


@pytest.fixture
def portal(api: Api, engine: Engine, vault_keys: tuple[str, str]) -> Portal:
    """A portal client whose sandbox clock stands at NOW."""
    return make_portal(api, engine, vault_keys)


def add(portal: Portal, name: str, id_number: str, id_type: str = "resident_id") -> str:
    """Submit the add form as the page gave it (with its request id); the page answered."""
    page = portal.page(LIST).text
    request_id = re.search(r'name="request_id" value="([^"]+)"', page)
    assert request_id
    response = portal.form(
        LIST,
        {"name": name, "id_type": id_type, "id_number": id_number, "request_id": request_id[1]},
        page_path=LIST,
    )
    return f"{response.status_code} {response.text}"


def test_adding_shows_the_effective_date_and_a_masked_id(portal: Portal) -> None:
    portal.sign_in(portal.member())
    number = resident_id(date(1985, 5, 5), 238)
    answer = add(portal, "李四", number)
    assert answer.startswith("200 ")
    # Added on 2025-02-01, effective 60 days later.
    assert "已添加 李四，将于 2025年4月2日 生效。" in answer
    assert number not in answer
    assert f"{number[:4]}**********{number[-4:]}" in answer
    listing = text_of(portal.page(f"{LIST}?lang=en").text)
    assert "李四 Resident ID card" in listing
    assert "Apr 2, 2025 waiting" in listing
    assert "1 of 8 places used." in listing


def test_a_bad_id_number_or_the_ninth_person_gets_a_friendly_message(portal: Portal) -> None:
    portal.sign_in(portal.member())
    valid = resident_id(date(1985, 5, 5), 238)
    bad = valid[:-1] + ("1" if valid[-1] != "1" else "2")  # a wrong check character
    refused = add(portal, "李四", bad)
    assert refused.startswith("400 ")
    assert "姓名或证件号码无效，请核对。" in refused
    assert bad not in refused
    for serial in range(8):
        assert add(portal, f"受让人{serial}", resident_id(date(1980, 1, 1), 300 + serial))[:3] == (
            "200"
        )
    ninth = add(portal, "王九", resident_id(date(1980, 1, 1), 399))
    assert ninth.startswith("400 ")
    assert "受让人已达上限，请先删除一位再添加。" in ninth
    assert "王九" not in portal.page(LIST).text


def test_removing_asks_first_then_frees_the_place(portal: Portal) -> None:
    portal.sign_in(portal.member())
    add(portal, "李四", resident_id(date(1985, 5, 5), 238))
    listing = portal.page(LIST).text
    confirm_path = re.search(r'href="(/portal/beneficiaries/\d+/remove)"', listing)
    assert confirm_path
    confirm = portal.page(f"{confirm_path[1]}?lang=en").text
    assert "Remove 李四 (1101**********" in confirm
    assert "a new wait of 60 days" in confirm
    assert "李四" in portal.page(LIST).text  # asking removed nothing
    done = portal.form(confirm_path[1], {}, page_path=confirm_path[1])
    assert done.status_code == 200
    assert "The beneficiary is removed." in done.text
    assert "李四" not in done.text
    assert "0 of 8 places used." in text_of(done.text)


def test_the_forms_need_the_session_token(portal: Portal) -> None:
    portal.sign_in(portal.member())
    response = portal.api.client.post(
        LIST,
        data={
            "name": "李四",
            "id_type": "resident_id",
            "id_number": resident_id(date(1985, 5, 5), 238),
            "request_id": "r1",
            "csrf_token": "forged",
        },
    )
    assert response.status_code == 403
    assert "李四" not in portal.page(LIST).text
    removal = portal.api.client.post(f"{LIST}/1/remove", data={"csrf_token": "forged"})
    assert removal.status_code == 403


def test_another_members_beneficiary_cannot_be_removed(portal: Portal) -> None:
    owner = portal.member()
    other = portal.member()
    portal.sign_in(owner)
    add(portal, "李四", resident_id(date(1985, 5, 5), 238))
    beneficiary = re.search(r"/portal/beneficiaries/(\d+)/remove", portal.page(LIST).text)
    assert beneficiary
    portal.sign_in(other)
    path = f"{LIST}/{beneficiary[1]}/remove"
    portal.form(path, {}, page_path=LIST)
    portal.sign_in(owner)
    assert "李四" in portal.page(LIST).text
