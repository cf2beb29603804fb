"""Program-local days in SQL, including a zone with daylight saving (SQLite has no zone data)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select

from jifen.storage.analytics_sql import local_day, offsets
from jifen.storage.types import UTCDateTime

BERLIN = ZoneInfo("Europe/Berlin")


def test_offsets_change_where_the_clocks_do() -> None:
    segments = offsets(BERLIN, datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 12, 31, tzinfo=UTC))
    assert [(at, offset.total_seconds() / 3600) for at, offset in segments] == [
        (datetime(2025, 1, 1, tzinfo=UTC), 1.0),
        (datetime(2025, 3, 30, 1, tzinfo=UTC), 2.0),
        (datetime(2025, 10, 26, 1, tzinfo=UTC), 1.0),
    ]
    shanghai = offsets(
        ZoneInfo("Asia/Shanghai"),
        datetime(2025, 1, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert len(shanghai) == 1


def test_local_days_on_either_side_of_midnight_and_of_a_clock_change(engine: Engine) -> None:
    stamps = Table(
        "kpi_day_stamps",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime, nullable=False),
    )
    utc = [
        datetime(2025, 3, 29, 22, 30, tzinfo=UTC),  # 23:30 CET: still the 29th
        datetime(2025, 3, 29, 23, 30, tzinfo=UTC),  # 00:30 CET: the 30th
        datetime(2025, 6, 30, 22, 30, tzinfo=UTC),  # 00:30 CEST: 1 July
        datetime(2025, 6, 30, 21, 30, tzinfo=UTC),  # 23:30 CEST: 30 June
    ]
    stamps.create(engine)
    try:
        with engine.begin() as connection:
            connection.execute(insert(stamps), [{"id": n, "at": at} for n, at in enumerate(utc)])
            day = local_day(
                engine.dialect.name,
                stamps.c.at,
                BERLIN,
                (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 7, 2, tzinfo=UTC)),
            )
            found = connection.execute(select(day).order_by(stamps.c.id)).scalars().all()
    finally:
        stamps.drop(engine)
    assert found == [date(2025, 3, 29), date(2025, 3, 30), date(2025, 7, 1), date(2025, 6, 30)]
