"""Reports as columns and rows, written out as a text table, CSV, JSON or Parquet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import IO, Any

from jifen.domain.errors import InvalidRequest
from jifen.programs.schema import Program
from jifen.services.analytics.members import (
    RfmSegment,
    TierMove,
    TierShare,
    cohorts,
    rfm,
    tier_mix,
    tier_movement,
)
from jifen.services.analytics.points import DayFigures, Kpis, daily_series, kpis
from jifen.services.unit_of_work import UnitOfWork

FORMATS = ("table", "csv", "json", "parquet")
Rows = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class ReportTable:
    """A report's rows under named columns (dates as `date`, missing values as None)."""

    name: str
    columns: tuple[str, ...]
    rows: Rows

    def records(self) -> list[dict[str, Any]]:
        """The rows as column → value mappings."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _flat(kind: type, items: Sequence[Any]) -> tuple[tuple[str, ...], Rows]:
    names = tuple(f.name for f in fields(kind))
    return names, [tuple(asdict(item).values()) for item in items]


def _kpis(
    uow: UnitOfWork, program: Program, start: date, end: date
) -> tuple[tuple[str, ...], Rows]:
    return _flat(Kpis, [kpis(uow, program=program, start=start, end=end)])


def _daily(
    uow: UnitOfWork, program: Program, start: date, end: date
) -> tuple[tuple[str, ...], Rows]:
    return _flat(DayFigures, daily_series(uow, program=program, start=start, end=end))


def _tiers(
    uow: UnitOfWork, program: Program, start: date, end: date
) -> tuple[tuple[str, ...], Rows]:
    del start  # the mix is taken at the end of the period
    return _flat(TierShare, tier_mix(uow, program=program, on=end))


def _movement(
    uow: UnitOfWork, program: Program, start: date, end: date
) -> tuple[tuple[str, ...], Rows]:
    return _flat(TierMove, tier_movement(uow, program=program, start=start, end=end).moves)


def _cohorts(
    uow: UnitOfWork, program: Program, start: date, end: date
) -> tuple[tuple[str, ...], Rows]:
    columns = ("cohort", "members", "months_since", "active", "retention")
    rows = [
        (c.month, c.members, k, n, share)
        for c in cohorts(uow, program=program, start=start, end=end)
        for k, (n, share) in enumerate(zip(c.active, c.retention, strict=True))
    ]
    return columns, rows


def _rfm(uow: UnitOfWork, program: Program, start: date, end: date) -> tuple[tuple[str, ...], Rows]:
    return _flat(RfmSegment, rfm(uow, program=program, start=start, end=end))


Builder = Callable[[UnitOfWork, Program, date, date], tuple[tuple[str, ...], Rows]]
REPORTS: dict[str, Builder] = {
    "kpis": _kpis,
    "daily": _daily,
    "tiers": _tiers,
    "tier-movement": _movement,
    "cohorts": _cohorts,
    "rfm": _rfm,
}


def report_table(
    uow: UnitOfWork, *, program: Program, name: str, start: date, end: date
) -> ReportTable:
    """The report `name` (one of `REPORTS`) for `start`..`end` as a table."""
    if name not in REPORTS:
        raise InvalidRequest(
            f"There is no report {name!r}; choose one of: {', '.join(REPORTS)}.", report=name
        )
    columns, rows = REPORTS[name](uow, program, start, end)
    return ReportTable(name, columns, rows)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _as_text_table(table: ReportTable) -> str:
    cells = [list(table.columns), *[[_text(v) for v in row] for row in table.rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def _as_csv(table: ReportTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows([[_text(v) if v is None else v for v in row] for row in table.rows])
    return buffer.getvalue()


def _as_json(table: ReportTable) -> str:
    return json.dumps(table.records(), default=str, ensure_ascii=False) + "\n"


def write_report(
    table: ReportTable, *, fmt: str, text: IO[str] | None, binary: IO[bytes] | None
) -> None:
    """Write the table as `fmt`: table, csv or json to `text`; parquet to `binary`."""
    if fmt not in FORMATS:
        raise InvalidRequest(f"Unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    if fmt == "parquet":
        if binary is None:
            raise InvalidRequest("Parquet is binary: give a file to write it to (--output).")
        _write_parquet(table, binary)
        return
    assert text is not None  # noqa: S101 - the caller gives a text stream for text formats
    render = {"table": _as_text_table, "csv": _as_csv, "json": _as_json}[fmt]
    text.write(render(table))


def _write_parquet(table: ReportTable, out: IO[bytes]) -> None:
    import pyarrow as pa  # noqa: PLC0415 - only parquet needs it, and it is slow to import
    import pyarrow.parquet as pq  # noqa: PLC0415

    data = {name: [row[i] for row in table.rows] for i, name in enumerate(table.columns)}
    pq.write_table(pa.table(data), out)
