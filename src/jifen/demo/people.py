"""Seeded demo members for the railway preset: made-up people with valid identities, in order."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from jifen.domain.calendar import add_months
from jifen.domain.identity import check_character

SHANGHAI = ZoneInfo("Asia/Shanghai")

_AREAS = (
    "110101", "110105", "110108", "120101", "130102", "210102", "310101", "310104", "310115",
    "320102", "320506", "330106", "340104", "350203", "370102", "410105", "420106", "430104",
    "440106", "440304", "450103", "500103", "510104", "510107", "530102", "610113", "620102",
)  # fmt: skip
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭"
    "曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢钟"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂英华建国玉兰"
    "志红文斌辉鹏宇浩然子涵欣怡梓轩思雨晨阳佳琪雪梅海燕俊峰"
)
_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152",
    "153", "155", "156", "157", "158", "159", "166", "173", "175", "176", "177", "178", "180",
    "181", "182", "183", "184", "185", "186", "187", "188", "189", "191", "198", "199",
)  # fmt: skip
_PROFILES = ("commuter", "occasional", "senior", "student")
_PROFILE_SHARES = (10, 70, 85, 100)  # cumulative: 10% commuters, 60% occasional, 15% each other
_AGES = {"commuter": (22, 55), "occasional": (18, 75), "senior": (60, 85), "student": (14, 24)}


@dataclass(frozen=True, slots=True)
class DemoMember:
    """A made-up person who joins the railway program; `key` is stable for a seed and position."""

    key: str
    name: str
    id_type: str
    id_number: str
    birth_date: date
    phone: str
    joined_at: datetime
    profile: str

    def enrolment(self) -> dict[str, str]:
        """The body of `POST /v1/members` that enrols this person."""
        return {
            "name": self.name,
            "id_type": self.id_type,
            "id_number": self.id_number,
            "birth_date": self.birth_date.isoformat(),
            "phone": self.phone,
        }


def members(*, count: int, seed: int, joined_from: date, joined_to: date) -> Iterator[DemoMember]:
    """`count` members joining between the two dates (both included), yielded in joining order.

    Lazy and in constant memory (apart from one counter per birth date); ID numbers and phones
    never repeat for up to 100 million members.
    """
    if count < 0:
        msg = f"A member count cannot be negative ({count})."
        raise ValueError(msg)
    if joined_to < joined_from:
        msg = f"Members cannot join between {joined_from} and an earlier {joined_to}."
        raise ValueError(msg)
    return _generate_members(count=count, seed=seed, joined_from=joined_from, joined_to=joined_to)


def _generate_members(
    *, count: int, seed: int, joined_from: date, joined_to: date
) -> Iterator[DemoMember]:
    rng = random.Random(f"jifen-demo-members:{seed}")  # noqa: S311 - demo data, not secrets
    ids = _ResidentIds(rng)
    phone_offset, passport_offset = rng.randrange(10**8), rng.randrange(10**8)
    first = datetime(joined_from.year, joined_from.month, joined_from.day, tzinfo=SHANGHAI)
    span = ((joined_to - joined_from).days + 1) * 86400
    position = 0.0
    for index in range(count):
        # The next of `count` sorted uniform draws, made one at a time, so joins come in order.
        position += (1.0 - position) * (1.0 - rng.random() ** (1.0 / (count - index)))
        joined_at = first + timedelta(seconds=min(int(position * span), span - 1))
        profile = _PROFILES[_pick(rng, _PROFILE_SHARES)]
        birth_date = _birth_date(rng, joined_on=joined_at.date(), ages=_AGES[profile])
        if rng.random() < 0.03:
            id_type, id_number = "passport", f"E{(index * 7919 + passport_offset) % 10**8:08d}"
        else:
            id_type = "resident_id"
            id_number, birth_date = ids.issue(birth_date)
        suffix = (index * 48271 + phone_offset) % 10**8  # a bijection: phones never repeat
        yield DemoMember(
            key=f"demo-{index + 1:06d}",
            name=_name(rng),
            id_type=id_type,
            id_number=id_number,
            birth_date=birth_date,
            phone=f"{rng.choice(_MOBILE_PREFIXES)}{suffix:08d}",
            joined_at=joined_at,
            profile=profile,
        )


class _ResidentIds:
    """Resident ID numbers that never repeat: one sequence counter per birth date."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._issued: dict[int, int] = {}

    def issue(self, birth_date: date) -> tuple[str, date]:
        """A number for someone born on `birth_date`, or a day earlier if that day is full."""
        while (issued := self._issued.get(birth_date.toordinal(), 0)) >= 1000:
            birth_date -= timedelta(days=1)  # earlier, so the person is never younger
        day = birth_date.toordinal()
        self._issued[day] = issued + 1
        sequence = (issued * 337 + day * 7) % 1000  # a permutation of 0..999 for each day
        body = f"{self._rng.choice(_AREAS)}{birth_date:%Y%m%d}{sequence:03d}"
        return body + check_character(body), birth_date


def _pick(rng: random.Random, cumulative: tuple[int, ...]) -> int:
    roll = rng.random() * cumulative[-1]
    return next(i for i, bound in enumerate(cumulative) if roll < bound)


def _birth_date(rng: random.Random, *, joined_on: date, ages: tuple[int, int]) -> date:
    """A birth date that makes the person an age in `ages` on the day they join."""
    age = rng.randint(*ages)
    latest = add_months(joined_on, -12 * age)
    earliest = add_months(joined_on, -12 * (age + 1)) + timedelta(days=1)
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


def _name(rng: random.Random) -> str:
    surname = rng.choice(_COMPOUND_SURNAMES) if rng.random() < 0.01 else rng.choice(_SURNAMES)
    length = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(_GIVEN) for _ in range(length))
