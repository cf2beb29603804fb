"""Real-name identity: number rules for every ID type, age, phones and masking."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from jifen.domain.identity import (
    Identity,
    IdType,
    InvalidIdentity,
    UnderAge,
    age_on,
    check_age,
    mask_id_number,
    mask_phone,
    validate_identity,
    validate_phone,
)

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
PROVINCES = (
    [f"{n}" for n in range(11, 16)]
    + [f"{n}" for n in range(21, 24)]
    + [f"{n}" for n in range(31, 38)]
    + [f"{n}" for n in range(41, 47)]
    + [f"{n}" for n in range(50, 55)]
    + [f"{n}" for n in range(61, 66)]
    + ["71", "81", "82", "83", "91"]
)
BORN = date(1990, 3, 7)


def check_char(body: str) -> str:
    """Computed here independently, so the tests do not trust the code they test."""
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


def eighteen(prefix: str, born: date = BORN, sequence: str = "123") -> str:
    body = f"{prefix}{born:%Y%m%d}{sequence}"
    return body + check_char(body)


def with_wrong_check(number: str) -> str:
    wrong = "0" if number[-1] != "0" else "1"
    return number[:-1] + wrong


def identity(id_type: str, id_number: str, *, born: date = BORN, name: str = "张三") -> Identity:
    return validate_identity(name=name, id_type=id_type, id_number=id_number, birth_date=born)


def refusal(
    id_type: str, id_number: str, *, born: date = BORN, name: str = "张三"
) -> InvalidIdentity:
    with pytest.raises(InvalidIdentity) as caught:
        identity(id_type, id_number, born=born, name=name)
    return caught.value


# Resident ID (居民身份证)


def test_accepts_a_published_sample_resident_id() -> None:
    person = identity("resident_id", "11010519491231002X", born=date(1949, 12, 31))

    assert person == Identity(
        id_type=IdType.RESIDENT_ID,
        id_number="11010519491231002X",
        name="张三",
        birth_date=date(1949, 12, 31),
    )


def test_accepts_resident_id_built_from_body_and_computed_check_digit() -> None:
    number = eighteen("110101")

    assert identity("resident_id", number).id_number == number


def test_normalises_surrounding_space_and_lower_case_x() -> None:
    person = identity("resident_id", "  11010519491231002x ", born=date(1949, 12, 31))

    assert person.id_number == "11010519491231002X"


def test_refuses_resident_id_with_wrong_check_digit() -> None:
    number = eighteen("110101")

    error = refusal("resident_id", with_wrong_check(number))

    assert error.code == "invalid_identity"
    assert error.details == {"field": "id_number"}
    assert f"expected {number[-1]}" in error.message
    assert "Check the number on the card" in error.message


def test_refuses_resident_id_whose_birth_date_disagrees() -> None:
    error = refusal("resident_id", eighteen("110101"), born=date(1990, 3, 8))

    assert error.details == {"field": "birth_date"}
    assert "1990-03-07" in error.message
    assert "1990-03-08" in error.message


@pytest.mark.parametrize("province", ["00", "10", "16", "20", "39", "47", "72", "84", "99"])
def test_refuses_resident_id_with_unknown_province(province: str) -> None:
    error = refusal("resident_id", eighteen(f"{province}0101"))

    assert error.details == {"field": "id_number"}
    assert "province" in error.message


@pytest.mark.parametrize("embedded", ["19900230", "19901301", "19900001", "00000101", "20230229"])
def test_refuses_resident_id_whose_embedded_birth_date_is_not_a_real_date(embedded: str) -> None:
    body = f"110101{embedded}123"

    error = refusal("resident_id", body + check_char(body))

    assert error.details == {"field": "id_number"}
    assert "not a real date" in error.message


@pytest.mark.parametrize(
    "number",
    ["", "1101011990030712", "1101011990030712345", "11010119900307123Y", "1101011990O307123X"],
)
def test_refuses_resident_id_of_wrong_length_or_characters(number: str) -> None:
    assert refusal("resident_id", number).details == {"field": "id_number"}


def test_accepts_a_future_embedded_birth_date_that_check_age_then_refuses() -> None:
    born = date(2099, 1, 1)
    person = identity("resident_id", eighteen("110101", born), born=born)

    with pytest.raises(InvalidIdentity) as caught:
        check_age(person.birth_date, on=date(2025, 6, 1), minimum=12)

    assert caught.value.details == {"field": "birth_date"}


def test_keeps_the_id_number_out_of_the_repr() -> None:
    person = identity("resident_id", eighteen("110101"))

    assert person.id_number not in repr(person)
    assert person.masked_number == f"1101**********{person.id_number[-4:]}"


# Residence permit (港澳台居民居住证) and permanent residence ID (外国人永久居留身份证)


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_accepts_residence_permit_of_hong_kong_macau_and_taiwan_residents(prefix: str) -> None:
    number = eighteen(prefix)

    assert identity("residence_permit", number).id_type is IdType.RESIDENCE_PERMIT


def test_refuses_residence_permit_with_a_mainland_prefix() -> None:
    error = refusal("residence_permit", eighteen("110101"))

    assert "810000, 820000 or 830000" in error.message


def test_refuses_residence_permit_with_wrong_check_digit_or_birth_date() -> None:
    number = eighteen("810000")

    assert refusal("residence_permit", with_wrong_check(number)).details["field"] == "id_number"
    assert refusal("residence_permit", number, born=date(1991, 3, 7)).details["field"] == (
        "birth_date"
    )


def test_accepts_permanent_residence_id_of_2023_and_of_the_older_format() -> None:
    assert identity("permanent_residence", eighteen("911840")).id_number.startswith("9")
    assert identity("permanent_residence", "usa110190030711").id_number == "USA110190030711"


@pytest.mark.parametrize(
    "number",
    [
        with_wrong_check(eighteen("911840")),
        eighteen("811840"),
        "US1101900307111",
        "USA11019003071",
        "USA1101900307111",
    ],
)
def test_refuses_malformed_permanent_residence_id(number: str) -> None:
    assert refusal("permanent_residence", number).details == {"field": "id_number"}


def test_refuses_permanent_residence_id_whose_birth_date_disagrees() -> None:
    error = refusal("permanent_residence", eighteen("911840"), born=date(1980, 1, 1))

    assert error.details == {"field": "birth_date"}


# Permits and passports: a format, no check digit


@pytest.mark.parametrize(
    ("id_type", "number", "normalised"),
    [
        ("hk_macau_permit", "H12345678", "H12345678"),
        ("hk_macau_permit", "m1234567890", "M1234567890"),
        ("taiwan_permit", "12345678", "12345678"),
        ("taiwan_permit", "1234567890", "1234567890"),
        ("taiwan_permit", "12345678b1", "12345678B1"),
        ("passport", "E12345678", "E12345678"),
        ("passport", " g1234567 ", "G1234567"),
        ("passport", "AB123", "AB123"),
        ("passport", "A" * 20, "A" * 20),
    ],
)
def test_accepts_permits_and_passports_in_their_formats(
    id_type: str, number: str, normalised: str
) -> None:
    assert identity(id_type, number).id_number == normalised


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        ("hk_macau_permit", "H1234567"),
        ("hk_macau_permit", "H123456789"),
        ("hk_macau_permit", "X12345678"),
        ("hk_macau_permit", "12345678"),
        ("taiwan_permit", "1234567"),
        ("taiwan_permit", "A1234567"),
        ("taiwan_permit", "123456789"),
        ("passport", "E123"),
        ("passport", "E1234-5678"),
        ("passport", "A" * 21),
        ("passport", "   "),
    ],
)
def test_refuses_permits_and_passports_out_of_format(id_type: str, number: str) -> None:
    error = refusal(id_type, number)

    assert error.details == {"field": "id_number"}
    assert "Check the number" in error.message or "give the number" in error.message


# Name and ID type


def test_strips_the_name() -> None:
    assert identity("passport", "E12345678", name="  Anna Müller ").name == "Anna Müller"


@pytest.mark.parametrize("name", ["", "   ", "李" * 51])
def test_refuses_blank_or_overlong_name(name: str) -> None:
    assert refusal("passport", "E12345678", name=name).details == {"field": "name"}


def test_accepts_a_fifty_character_name() -> None:
    assert identity("passport", "E12345678", name="李" * 50).name == "李" * 50


def test_refuses_unknown_id_type_and_lists_the_known_ones() -> None:
    error = refusal("driving_licence", "E12345678")

    assert error.details == {"field": "id_type"}
    assert "resident_id" in error.message


def test_accepts_id_type_given_as_enum() -> None:
    assert identity(IdType.PASSPORT, "E12345678").id_type is IdType.PASSPORT


# Age


def test_age_is_one_less_on_the_day_before_the_birthday() -> None:
    assert age_on(date(2000, 6, 15), date(2012, 6, 14)) == 11


def test_age_goes_up_on_the_birthday() -> None:
    assert age_on(date(2000, 6, 15), date(2012, 6, 15)) == 12


def test_leap_day_birthday_counts_on_first_of_march_in_a_common_year() -> None:
    born = date(2008, 2, 29)

    assert age_on(born, date(2021, 2, 28)) == 12
    assert age_on(born, date(2021, 3, 1)) == 13


def test_leap_day_birthday_counts_on_the_day_in_a_leap_year() -> None:
    born = date(2008, 2, 29)

    assert age_on(born, date(2024, 2, 28)) == 15
    assert age_on(born, date(2024, 2, 29)) == 16


def test_check_age_accepts_on_the_minimum_birthday() -> None:
    check_age(date(2000, 6, 15), on=date(2012, 6, 15), minimum=12)


def test_check_age_refuses_the_day_before_and_says_when_to_come_back() -> None:
    with pytest.raises(UnderAge) as caught:
        check_age(date(2000, 6, 15), on=date(2012, 6, 14), minimum=12)

    assert caught.value.code == "under_age"
    assert caught.value.details == {"minimum": 12, "age": 11}
    assert "2012-06-15" in caught.value.message


def test_check_age_for_a_leap_day_birthday_opens_on_first_of_march() -> None:
    born = date(2008, 2, 29)

    with pytest.raises(UnderAge) as caught:
        check_age(born, on=date(2021, 2, 28), minimum=13)
    check_age(born, on=date(2021, 3, 1), minimum=13)

    assert "2021-03-01" in caught.value.message


def test_check_age_refuses_a_birth_date_in_the_future() -> None:
    with pytest.raises(InvalidIdentity) as caught:
        check_age(date(2030, 1, 1), on=date(2025, 1, 1), minimum=0)

    assert caught.value.details == {"field": "birth_date"}


# Masking


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("110101199003077777", "1101**********7777"),
        ("11010519491231002X", "1101**********002X"),
        ("M1234567890", "M********90"),
        ("H12345678", "H******78"),
        ("12345678", "1******8"),
        ("E1234", "E***4"),
        ("AB", "**"),
        ("", ""),
    ],
)
def test_masks_id_numbers(number: str, masked: str) -> None:
    assert mask_id_number(number) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("+85291234567", "+85*******67"),
        ("+4930123456", "+49****3456"),
        ("12345", "*****"),
    ],
)
def test_masks_phones(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


# Phones


@pytest.mark.parametrize(
    ("phone", "normalised"),
    [
        ("13812345678", "13812345678"),
        ("19912345678", "19912345678"),
        (" 138-1234-5678 ", "13812345678"),
        ("+85291234567", "+85291234567"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("+12345678", "+12345678"),
        ("+123456789012345", "+123456789012345"),
    ],
)
def test_accepts_mainland_mobiles_and_international_numbers(phone: str, normalised: str) -> None:
    assert validate_phone(phone) == normalised


@pytest.mark.parametrize(
    "phone",
    ["", "12812345678", "1381234567", "138123456789", "+1234567", "+1234567890123456", "abc"],
)
def test_refuses_other_phones(phone: str) -> None:
    with pytest.raises(InvalidIdentity) as caught:
        validate_phone(phone)

    assert caught.value.details == {"field": "phone"}


# Properties


resident_bodies = st.builds(
    lambda province, area, born, sequence: (f"{province}{area}{born:%Y%m%d}{sequence}", born),
    st.sampled_from(PROVINCES),
    st.from_regex(r"\d{4}", fullmatch=True),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.from_regex(r"\d{3}", fullmatch=True),
)


@given(resident_bodies)
def test_every_valid_body_with_its_check_digit_validates(body_and_birth: tuple[str, date]) -> None:
    body, born = body_and_birth

    assert identity("resident_id", body + check_char(body), born=born).birth_date == born


@given(resident_bodies, st.sampled_from("0123456789X"))
def test_every_other_check_digit_is_refused(body_and_birth: tuple[str, date], check: str) -> None:
    body, born = body_and_birth
    assume(check != check_char(body))

    error = refusal("resident_id", body + check, born=born)

    assert "check digit" in error.message
