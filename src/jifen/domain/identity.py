"""Real-name identity: ID types, the rules of each number, age, phones and masking."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from jifen.domain.errors import JifenError

MAX_NAME_LENGTH = 50

# ISO 7064 MOD 11-2, as used by the resident ID card (GB 11643) and the documents modelled on it.
_CHECK_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"

# Provinces, Taiwan (71), Hong Kong (81), Macau (82), Taiwan residents (83), and 91 for the
# few resident numbers issued abroad.
PROVINCE_CODES = frozenset(
    f"{code:02d}"
    for code in (
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
        83,
        91,
    )
)
RESIDENCE_PERMIT_PREFIXES = frozenset({"810000", "820000", "830000"})

_EIGHTEEN = re.compile(r"\d{17}[\dX]")
_OLD_PERMANENT_RESIDENCE = re.compile(r"[A-Z]{3}\d{12}")
_HK_MACAU_PERMIT = re.compile(r"[HM](\d{8}|\d{10})")
_TAIWAN_PERMIT = re.compile(r"\d{8}([\dA-Z]{2})?")
_PASSPORT = re.compile(r"[A-Z\d]{5,20}")
_MAINLAND_MOBILE = re.compile(r"1[3-9]\d{9}")
_INTERNATIONAL_PHONE = re.compile(r"\+\d{8,15}")
_PHONE_SEPARATORS = re.compile(r"[\s-]")
# Characters a name never holds and a page does not show as they are: controls, and the format
# characters among which are the bidirectional overrides and isolates (U+202A-U+202E,
# U+2066-U+2069), zero-width characters and direction marks (U+200B-U+200F) and the BOM; with one
# of them a name shows on the console or the portal as something other than what is stored.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


class IdType(StrEnum):
    """The identity documents a member may join with."""

    RESIDENT_ID = "resident_id"
    HK_MACAU_PERMIT = "hk_macau_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    PERMANENT_RESIDENCE = "permanent_residence"
    RESIDENCE_PERMIT = "residence_permit"
    PASSPORT = "passport"


class InvalidIdentity(JifenError):
    """A name, ID number, birth date or phone that cannot be right; `field` says which."""

    code = "invalid_identity"
    status = 422

    def __init__(self, message: str, *, field: str, **details: Any) -> None:
        super().__init__(message, field=field, **details)
        self.field = field


class UnderAge(JifenError):
    """A person younger than the program's minimum age."""

    code = "under_age"
    status = 422

    def __init__(self, *, minimum: int, age: int, eligible_from: date) -> None:
        super().__init__(
            f"Members must be {minimum} or older to join; this person is {age}. "
            f"They can enrol from {eligible_from.isoformat()}.",
            minimum=minimum,
            age=age,
        )


@dataclass(frozen=True, slots=True)
class Identity:
    """A validated real-name identity; the number is kept out of the repr so logs never hold it."""

    id_type: IdType
    id_number: str = field(repr=False)
    name: str
    birth_date: date

    @property
    def masked_number(self) -> str:
        """The ID number as it may be shown on a page or in a response."""
        return mask_id_number(self.id_number)


def validate_identity(*, name: str, id_type: str, id_number: str, birth_date: date) -> Identity:
    """Normalise and check a real-name identity; raise `InvalidIdentity` naming the bad field."""
    kind = _parse_id_type(id_type)
    clean_name = _validate_name(name)
    number = normalise_id_number(id_number)
    if not number:
        msg = "The ID number is empty; give the number printed on the ID document."
        raise InvalidIdentity(msg, field="id_number")
    _VALIDATORS[kind](number, birth_date)
    return Identity(id_type=kind, id_number=number, name=clean_name, birth_date=birth_date)


def normalise_id_number(number: str) -> str:
    """The canonical form of an ID number: stripped, letters (a final x too) in upper case."""
    return number.strip().upper()


def check_character(body: str) -> str:
    """The ISO 7064 MOD 11-2 check character ("0"-"9" or "X") for a 17-digit body."""
    total = sum(int(digit) * weight for digit, weight in zip(body, _CHECK_WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def _parse_id_type(id_type: str) -> IdType:
    try:
        return IdType(id_type.strip().lower())
    except ValueError:
        known = ", ".join(kind.value for kind in IdType)
        msg = f"{id_type!r} is not an ID type Jifen accepts; use one of: {known}."
        raise InvalidIdentity(msg, field="id_type") from None


def _validate_name(name: str) -> str:
    name = name.strip()
    if not name:
        msg = "The name is blank; give the name exactly as printed on the ID document."
        raise InvalidIdentity(msg, field="name")
    hidden = next((c for c in name if unicodedata.category(c) in _HIDDEN_CATEGORIES), None)
    if hidden is not None:
        code = f"U+{ord(hidden):04X}"
        msg = (
            f"The name holds an invisible or text-direction character ({code}); give the name "
            "exactly as printed on the ID document, without it."
        )
        raise InvalidIdentity(msg, field="name", character=code)
    if len(name) > MAX_NAME_LENGTH:
        msg = (
            f"The name has {len(name)} characters; at most {MAX_NAME_LENGTH} are allowed. "
            "Give the name exactly as printed on the ID document."
        )
        raise InvalidIdentity(msg, field="name")
    return name


def _require_eighteen(number: str, *, label: str) -> None:
    if not _EIGHTEEN.fullmatch(number):
        found = (
            f"{len(number)} characters"
            if len(number) != 18
            else "a letter or symbol where a digit belongs"
        )
        msg = (
            f"The {label} number must be 18 characters, 17 digits then a digit or X; "
            f"it has {found}. Check the number on the card."
        )
        raise InvalidIdentity(msg, field="id_number")


def _check_digit_and_birth_date(number: str, birth_date: date, *, label: str) -> None:
    """The checks shared by every 18-character number with a MOD 11-2 check and a birth date."""
    expected = check_character(number[:17])
    if number[17] != expected:
        msg = (
            f"The {label} number's check digit is wrong: expected {expected}, got {number[17]}. "
            "Check the number on the card."
        )
        raise InvalidIdentity(msg, field="id_number")
    embedded = _embedded_birth_date(number[6:14], label=label)
    if embedded != birth_date:
        msg = (
            f"The {label} number gives the birth date {embedded.isoformat()}, but the birth date "
            f"given is {birth_date.isoformat()}. Check both against the card."
        )
        raise InvalidIdentity(msg, field="birth_date")


def _embedded_birth_date(digits: str, *, label: str) -> date:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        msg = (
            f"The {label} number holds {digits} where the birth date (YYYYMMDD) belongs, "
            "which is not a real date. Check the number on the card."
        )
        raise InvalidIdentity(msg, field="id_number") from None


def _validate_resident_id(number: str, birth_date: date) -> None:
    _require_eighteen(number, label="resident ID")
    if number[:2] not in PROVINCE_CODES:
        msg = (
            f"The resident ID number starts with {number[:2]}, which is not a province code. "
            "Check the number on the card."
        )
        raise InvalidIdentity(msg, field="id_number")
    _check_digit_and_birth_date(number, birth_date, label="resident ID")


def _validate_residence_permit(number: str, birth_date: date) -> None:
    _require_eighteen(number, label="residence permit")
    if number[:6] not in RESIDENCE_PERMIT_PREFIXES:
        msg = (
            f"The residence permit number starts with {number[:6]}; a permit for residents of "
            "Hong Kong, Macau or Taiwan starts with 810000, 820000 or 830000. "
            "Check the number on the permit."
        )
        raise InvalidIdentity(msg, field="id_number")
    _check_digit_and_birth_date(number, birth_date, label="residence permit")


def _validate_permanent_residence(number: str, birth_date: date) -> None:
    if _OLD_PERMANENT_RESIDENCE.fullmatch(number):
        return
    if len(number) == 18 and number.startswith("9"):
        _require_eighteen(number, label="permanent residence ID")
        _check_digit_and_birth_date(number, birth_date, label="permanent residence ID")
        return
    msg = (
        "The permanent residence ID number must be 18 characters starting with 9 (the 2023 card) "
        "or 3 letters then 12 digits (the older card). Check the number on the card."
    )
    raise InvalidIdentity(msg, field="id_number")


def _pattern_validator(pattern: re.Pattern[str], rule: str) -> Callable[[str, date], None]:
    """A validator for documents whose number has a format but no check digit or birth date."""

    def validate(number: str, _birth_date: date) -> None:
        if not pattern.fullmatch(number):
            msg = f"{rule} Check the number on the document."
            raise InvalidIdentity(msg, field="id_number")

    return validate


_VALIDATORS: dict[IdType, Callable[[str, date], None]] = {
    IdType.RESIDENT_ID: _validate_resident_id,
    IdType.RESIDENCE_PERMIT: _validate_residence_permit,
    IdType.PERMANENT_RESIDENCE: _validate_permanent_residence,
    IdType.HK_MACAU_PERMIT: _pattern_validator(
        _HK_MACAU_PERMIT,
        "A Hong Kong and Macau residents' permit number is H or M followed by 8 or 10 digits.",
    ),
    IdType.TAIWAN_PERMIT: _pattern_validator(
        _TAIWAN_PERMIT,
        "A Taiwan residents' permit number is 8 digits, or 10 characters on older permits.",
    ),
    IdType.PASSPORT: _pattern_validator(
        _PASSPORT, "A passport number is 5 to 20 letters and digits, without spaces or dashes."
    ),
}


def age_on(birth_date: date, day: date) -> int:
    """Whole years of age on `day`; someone born on 29 February gains a year on 1 March."""
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def birthday_in(birth_date: date, year: int) -> date:
    """The day in `year` on which a person born on `birth_date` gains a year."""
    if (birth_date.month, birth_date.day) == (2, 29):
        try:
            return date(year, 2, 29)
        except ValueError:
            return date(year, 3, 1)
    return birth_date.replace(year=year)


def check_age(birth_date: date, *, on: date, minimum: int) -> None:
    """Refuse a birth date after `on` (`InvalidIdentity`) or anyone under `minimum` (`UnderAge`)."""
    if birth_date > on:
        msg = (
            f"The birth date {birth_date.isoformat()} is after {on.isoformat()}. "
            "Check the birth date on the ID document."
        )
        raise InvalidIdentity(msg, field="birth_date")
    age = age_on(birth_date, on)
    if age < minimum:
        eligible_from = birthday_in(birth_date, birth_date.year + minimum)
        raise UnderAge(minimum=minimum, age=age, eligible_from=eligible_from)


def mask_id_number(number: str) -> str:
    """Star all but a few characters of an ID number.

    Resident IDs (15 or more) keep their first and last 4, passports and permits (9 to 14) their
    first 1 and last 2, shorter numbers their first and last 1.
    """
    if len(number) <= 2:
        return "*" * len(number)
    head, tail = (4, 4) if len(number) >= 15 else (1, 2) if len(number) >= 9 else (1, 1)
    return number[:head] + "*" * (len(number) - head - tail) + number[-tail:]


def mask_phone(phone: str) -> str:
    """An 11-digit phone keeps its first 3 and last 4 digits; others keep first 3 and last 2."""
    head, tail = (3, 4) if len(phone) == 11 else (3, 2)
    if len(phone) <= head + tail:
        return "*" * len(phone)
    return phone[:head] + "*" * (len(phone) - head - tail) + phone[-tail:]


def normalise_phone(phone: str) -> str:
    """The canonical form of a phone: no spaces or dashes."""
    return _PHONE_SEPARATORS.sub("", phone)


def validate_phone(phone: str) -> str:
    """A mainland mobile (11 digits, 13x-19x) or a `+` number of 8-15 digits, normalised."""
    number = normalise_phone(phone)
    if _MAINLAND_MOBILE.fullmatch(number) or _INTERNATIONAL_PHONE.fullmatch(number):
        return number
    msg = (
        "The phone must be a mainland mobile number (11 digits starting 13 to 19) or an "
        "international number written with + and 8 to 15 digits, e.g. +85291234567."
    )
    raise InvalidIdentity(msg, field="phone")
