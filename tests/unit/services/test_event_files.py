"""Event files: JSON Lines and CSV read as a stream of records, bad lines as errors, and rejects."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jifen.services.event_files import (
    FileRecord,
    InvalidEventFile,
    RejectsWriter,
    UnsupportedFile,
    batched,
    count_lines,
    read_events,
)

TICKET_PURCHASED: dict[str, Any] = {
    "id": "evt-0001",
    "type": "ticket.purchased",
    "occurred_at": "2025-11-01T09:30:00+08:00",
    "data": {
        "ticket_id": "E123456789",
        "passenger": {"member_id": 1001},
        "fare_fen": 55350,
        "ticket_type": "adult",
        "real_name": True,
        "payment": "cash",
        "issue": "normal",
        "train": {
            "number": "G1234",
            "participating": True,
            "international": False,
            "tourist": False,
        },
        "departure_at": "2025-11-03T08:00:00+08:00",
        "arrival_at": "2025-11-03T12:28:00+08:00",
    },
}
ACTIVITY: dict[str, Any] = {
    "id": "evt-0002",
    "type": "activity.completed",
    "occurred_at": "2025-11-02T10:00:00+08:00",
    "data": {"member_id": 1001, "activity": "survey", "points": 50},
}
CSV_COLUMNS = [
    "id",
    "type",
    "occurred_at",
    "data.ticket_id",
    "data.passenger.id_type",
    "data.passenger.id_number",
    "data.passenger.member_id",
    "data.fare_fen",
    "data.ticket_type",
    "data.real_name",
    "data.payment",
    "data.issue",
    "data.train.number",
    "data.train.participating",
    "data.train.international",
    "data.train.tourist",
    "data.departure_at",
    "data.arrival_at",
]
CSV_HEADER = ",".join(CSV_COLUMNS)
TICKET_ROW = (
    "evt-0001,ticket.purchased,2025-11-01T09:30:00+08:00,E123456789,,,1001,55350,adult,TRUE,cash,"
    "normal,G1234,yes,0,false,2025-11-03T08:00:00+08:00,2025-11-03T12:28:00+08:00"
)


def write_jsonl(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def as_json(event: dict[str, Any]) -> str:
    return json.dumps(event, ensure_ascii=False)


def errors(records: list[FileRecord]) -> list[str | None]:
    return [record.error for record in records]


class TestJsonLines:
    def test_reads_one_event_per_line_with_its_line_number(self, tmp_path: Path) -> None:
        path = write_jsonl(tmp_path / "events.jsonl", as_json(TICKET_PURCHASED), as_json(ACTIVITY))

        assert list(read_events(path)) == [
            FileRecord(line=1, event=TICKET_PURCHASED, error=None),
            FileRecord(line=2, event=ACTIVITY, error=None),
        ]

    @pytest.mark.parametrize("suffix", [".jsonl", ".ndjson", ".json", ".JSONL"])
    def test_accepts_every_json_lines_suffix(self, tmp_path: Path, suffix: str) -> None:
        path = write_jsonl(tmp_path / f"events{suffix}", as_json(ACTIVITY))

        assert [record.event for record in read_events(path)] == [ACTIVITY]

    def test_skips_blank_lines_but_keeps_counting_them(self, tmp_path: Path) -> None:
        path = write_jsonl(tmp_path / "events.jsonl", "", as_json(ACTIVITY), "   ", "\t", "{}")

        assert [record.line for record in read_events(path)] == [2, 5]

    def test_a_malformed_line_does_not_stop_the_lines_after_it(self, tmp_path: Path) -> None:
        path = write_jsonl(
            tmp_path / "events.jsonl", as_json(ACTIVITY), '{"id": "x", "type":', as_json(ACTIVITY)
        )

        records = list(read_events(path))

        assert [record.event for record in records] == [ACTIVITY, None, ACTIVITY]
        assert records[1].error is not None
        assert records[1].error.startswith("line 2: not valid JSON: ")

    @pytest.mark.parametrize(
        ("line", "reason"),
        [
            ("[1, 2]", "line 1: not a JSON object but an array"),
            ('"evt"', "line 1: not a JSON object but a string"),
            ("42", "line 1: not a JSON object but a number"),
            ("null", "line 1: not a JSON object but null"),
            ('{"points": NaN}', "line 1: not valid JSON: NaN is not a JSON value"),
        ],
    )
    def test_a_line_that_is_not_a_json_object_is_an_error(
        self, tmp_path: Path, line: str, reason: str
    ) -> None:
        path = write_jsonl(tmp_path / "events.jsonl", line)

        assert list(read_events(path)) == [FileRecord(line=1, event=None, error=reason)]

    def test_invalid_utf8_is_an_error_for_that_line_only(self, tmp_path: Path) -> None:
        path = tmp_path / "events.jsonl"
        path.write_bytes(b'{"id": "\xff"}\n' + as_json(ACTIVITY).encode() + b"\n")

        records = list(read_events(path))

        assert errors(records)[0] == "line 1: not valid JSON: not UTF-8 text (at byte 9)"
        assert records[1].event == ACTIVITY

    def test_reads_windows_line_endings_and_a_byte_order_mark(self, tmp_path: Path) -> None:
        path = tmp_path / "events.jsonl"
        path.write_bytes(b"\xef\xbb\xbf" + f"{as_json(ACTIVITY)}\r\n{as_json(ACTIVITY)}".encode())

        assert [record.event for record in read_events(path)] == [ACTIVITY, ACTIVITY]


class TestGzip:
    def test_reads_gzipped_json_lines(self, tmp_path: Path) -> None:
        path = tmp_path / "events.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as file:
            file.write(f"{as_json(TICKET_PURCHASED)}\n\nnot json\n")

        records = list(read_events(path))

        assert [record.line for record in records] == [1, 3]
        assert records[0].event == TICKET_PURCHASED
        assert errors(records)[1] is not None

    def test_reads_gzipped_csv(self, tmp_path: Path) -> None:
        path = tmp_path / "events.csv.gz"
        with gzip.open(path, "wt", encoding="utf-8") as file:
            file.write(f"{CSV_HEADER}\n{TICKET_ROW}\n")

        assert [record.event for record in read_events(path)] == [TICKET_PURCHASED]

    def test_a_corrupt_gzip_file_cannot_be_read(self, tmp_path: Path) -> None:
        path = tmp_path / "events.jsonl.gz"
        path.write_bytes(gzip.compress(as_json(ACTIVITY).encode() * 100)[:40])

        with pytest.raises(InvalidEventFile, match="not a readable gzip file"):
            list(read_events(path))


class TestCsv:
    def test_unflattens_columns_into_a_ticket_purchased_event(self, tmp_path: Path) -> None:
        path = tmp_path / "events.csv"
        path.write_text(f"{CSV_HEADER}\n{TICKET_ROW}\n", encoding="utf-8")

        assert list(read_events(path)) == [FileRecord(line=2, event=TICKET_PURCHASED, error=None)]

    def test_leaves_out_empty_cells_and_parents_with_only_empty_cells(self, tmp_path: Path) -> None:
        path = tmp_path / "events.csv"
        path.write_text(
            "id,type,data.passenger.id_type,data.passenger.id_number,data.passenger.member_id,"
            "data.train.number,data.train.tourist\n"
            "e-1,ticket.travelled, resident_id ,11010519491231002X,,,\n",
            encoding="utf-8",
        )

        assert [record.event for record in read_events(path)] == [
            {
                "id": "e-1",
                "type": "ticket.travelled",
                "data": {
                    "passenger": {"id_type": "resident_id", "id_number": "11010519491231002X"}
                },
            }
        ]

    @pytest.mark.parametrize(
        ("cell", "member_id"),
        [("1001", 1001), ("0", 0), ("M-1001", "M-1001"), ("007", "007"), ("-5", "-5")],
    )
    def test_a_member_id_is_an_integer_only_when_it_is_a_plain_number(
        self, tmp_path: Path, cell: str, member_id: int | str
    ) -> None:
        path = tmp_path / "events.csv"
        path.write_text(f"data.member_id,data.points\n{cell},-20\n", encoding="utf-8")

        assert [record.event for record in read_events(path)] == [
            {"data": {"member_id": member_id, "points": -20}}
        ]

    def test_a_bad_boolean_is_a_row_error_naming_the_column(self, tmp_path: Path) -> None:
        row = TICKET_ROW.replace(",yes,", ",maybe,")
        path = tmp_path / "events.csv"
        path.write_text(f"{CSV_HEADER}\n{row}\n{TICKET_ROW}\n", encoding="utf-8")

        records = list(read_events(path))

        assert errors(records) == [
            (
                "line 2: column 'data.train.participating': 'maybe' is not a boolean "
                "(true/false, 1/0, yes/no)"
            ),
            None,
        ]
        assert records[1].event == TICKET_PURCHASED

    def test_a_bad_integer_is_a_row_error_naming_the_column(self, tmp_path: Path) -> None:
        path = tmp_path / "events.csv"
        path.write_text(f"{CSV_HEADER}\n{TICKET_ROW.replace(',55350,', ',553.50,')}\n")

        assert errors(list(read_events(path))) == [
            "line 2: column 'data.fare_fen': '553.50' is not an integer"
        ]

    @pytest.mark.parametrize(("cut", "found"), [(TICKET_ROW.rpartition(",")[0], 17), ("x", 1)])
    def test_a_short_row_is_an_error(self, tmp_path: Path, cut: str, found: int) -> None:
        path = tmp_path / "events.csv"
        path.write_text(f"{CSV_HEADER}\n{cut}\n{TICKET_ROW}\n", encoding="utf-8")

        records = list(read_events(path))

        assert errors(records) == [
            f"line 2: {found} cells where the header has {len(CSV_COLUMNS)} columns",
            None,
        ]

    def test_a_long_row_is_an_error(self, tmp_path: Path) -> None:
        path = tmp_path / "events.csv"
        path.write_text(f"{CSV_HEADER}\n{TICKET_ROW},extra\n", encoding="utf-8")

        assert errors(list(read_events(path))) == [
            f"line 2: {len(CSV_COLUMNS) + 1} cells where the header has {len(CSV_COLUMNS)} columns"
        ]

    def test_counts_lines_across_quoted_cells_and_skips_blank_rows(self, tmp_path: Path) -> None:
        path = tmp_path / "events.csv"
        path.write_bytes(
            b'\xef\xbb\xbfid,type,data.activity\r\n\r\n,,\r\ne-1,x,"two\r\nlines"\r\ne-2,x,one\r\n'
        )

        assert list(read_events(path)) == [
            FileRecord(
                line=4,
                event={"id": "e-1", "type": "x", "data": {"activity": "two\r\nlines"}},
                error=None,
            ),
            FileRecord(
                line=6, event={"id": "e-2", "type": "x", "data": {"activity": "one"}}, error=None
            ),
        ]

    def test_a_row_that_is_not_utf8_is_an_error_for_that_row_only(self, tmp_path: Path) -> None:
        path = tmp_path / "events.csv"
        path.write_bytes("id,type\ne-1,积分\n".encode("gb18030") + b"e-2,x\n")

        assert errors(list(read_events(path))) == [
            "line 2: not UTF-8 text (save the file as UTF-8)",
            None,
        ]

    @pytest.mark.parametrize(
        ("header", "problem"),
        [
            ("id,type,id", "column 'id' appears twice"),
            ("id,,type", "column 2 has no name"),
            ("id,data..x", "column 'data..x' has an empty part"),
            ("data.train,data.train.number", "column 'data.train' cannot hold a value and also"),
        ],
    )
    def test_an_unusable_header_stops_the_file(
        self, tmp_path: Path, header: str, problem: str
    ) -> None:
        path = tmp_path / "events.csv"
        path.write_text(f"\n{header}\n", encoding="utf-8")

        with pytest.raises(InvalidEventFile, match=f"line 2: .*{problem}"):
            list(read_events(path))

    def test_a_file_without_rows_has_no_records(self, tmp_path: Path) -> None:
        (tmp_path / "empty.csv").write_text("", encoding="utf-8")
        (tmp_path / "header.csv").write_text(f"{CSV_HEADER}\n", encoding="utf-8")

        assert list(read_events(tmp_path / "empty.csv")) == []
        assert list(read_events(tmp_path / "header.csv")) == []


@pytest.mark.parametrize(
    "name", ["events.xlsx", "events.parquet", "events.gz", "events", "a.csv.zip"]
)
def test_an_unknown_suffix_is_unsupported(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsupportedFile, match=r"\.jsonl, \.ndjson, \.json, \.csv") as raised:
        read_events(tmp_path / name)

    assert raised.value.code == "unsupported_file"
    assert ".jsonl.gz" in raised.value.details["supported"]


@pytest.mark.parametrize(
    ("total", "size", "sizes"),
    [(0, 3, []), (1, 3, [1]), (3, 3, [3]), (7, 3, [3, 3, 1]), (5, 1, [1, 1, 1, 1, 1])],
)
def test_batches_keep_order_and_the_last_may_be_short(
    total: int, size: int, sizes: list[int]
) -> None:
    batches = list(batched(iter(range(total)), size))

    assert [len(batch) for batch in batches] == sizes
    assert [item for batch in batches for item in batch] == list(range(total))


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        batched([], 0)


class TestRejectsWriter:
    def test_creates_no_file_when_nothing_is_rejected(self, tmp_path: Path) -> None:
        with RejectsWriter(tmp_path / "rejects.jsonl") as rejects:
            pass

        assert rejects.count == 0
        assert not rejects.path.exists()

    def test_writes_one_parseable_line_per_reject(self, tmp_path: Path) -> None:
        with RejectsWriter(tmp_path / "rejects.jsonl") as rejects:
            rejects.write(3, ACTIVITY, "insufficient_points", "Member 1001 has 0 ride points.")
            rejects.write(4, None, "unreadable", "line 4: not valid JSON: Expecting value")

        lines = rejects.path.read_text(encoding="utf-8").splitlines()
        assert rejects.count == 2
        assert [json.loads(line) for line in lines] == [
            {
                "line": 3,
                "id": "evt-0002",
                "code": "insufficient_points",
                "reason": "Member 1001 has 0 ride points.",
                "event": ACTIVITY,
            },
            {
                "line": 4,
                "id": None,
                "code": "unreadable",
                "reason": "line 4: not valid JSON: Expecting value",
                "event": None,
            },
        ]

    def test_refuses_to_write_once_closed(self, tmp_path: Path) -> None:
        with RejectsWriter(tmp_path / "rejects.jsonl") as rejects:
            rejects.write(1, None, "unreadable", "bad")

        with pytest.raises(ValueError, match="closed"):
            rejects.write(2, None, "unreadable", "bad")
        assert rejects.count == 1


@pytest.mark.parametrize(
    ("content", "lines"), [(b"", 0), (b"a\n", 1), (b"a\nb", 2), (b"a\n\nb\n", 3)]
)
def test_counts_lines_with_or_without_a_final_newline(
    tmp_path: Path, content: bytes, lines: int
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)

    assert count_lines(path) == lines


def test_does_not_count_lines_of_a_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(b"a\n"))

    assert count_lines(path) is None


# §12 event shapes, for the round trips.
texts = st.text(max_size=12)
cell_texts = st.text(min_size=1, max_size=12).filter(lambda text: text == text.strip())
timestamps = st.builds(
    lambda moment, hours: moment.replace(tzinfo=timezone(timedelta(hours=hours))).isoformat(),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),  # noqa: DTZ001
    st.integers(min_value=-12, max_value=14),
)
member_ids = st.one_of(
    st.integers(min_value=0, max_value=10**15), st.from_regex(r"M-[0-9]{1,10}", fullmatch=True)
)
fen = st.integers(min_value=0, max_value=10**10)


def ticket_data(text: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    passenger = st.one_of(
        st.fixed_dictionaries({"member_id": member_ids}),
        st.fixed_dictionaries(
            {"id_type": st.sampled_from(["resident_id", "passport"]), "id_number": text}
        ),
    )
    train = st.fixed_dictionaries(
        {
            "number": text,
            "participating": st.booleans(),
            "international": st.booleans(),
            "tourist": st.booleans(),
        }
    )
    return st.fixed_dictionaries(
        {
            "ticket_id": text,
            "passenger": passenger,
            "fare_fen": fen,
            "ticket_type": st.sampled_from(["adult", "child", "student"]),
            "real_name": st.booleans(),
            "payment": st.sampled_from(["cash", "points"]),
            "issue": st.sampled_from(["normal", "substitute", "on_board"]),
            "train": train,
            "departure_at": timestamps,
            "arrival_at": timestamps,
        }
    )


def events(
    type_: str, data: st.SearchStrategy[dict[str, Any]], text: st.SearchStrategy[str]
) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"id": text, "type": st.just(type_), "occurred_at": timestamps, "data": data}
    )


any_events = st.one_of(
    events("ticket.purchased", ticket_data(texts), texts),
    events("ticket.travelled", st.fixed_dictionaries({"ticket_id": texts}), texts),
    events("ticket.travelled", ticket_data(texts), texts),
    events("ticket.refunded", st.fixed_dictionaries({"ticket_id": texts}), texts),
    events(
        "ticket.changed",
        st.fixed_dictionaries(
            {
                "ticket_id": texts,
                "new_ticket_id": texts,
                "fare_fen": fen,
                "departure_at": timestamps,
                "arrival_at": timestamps,
            }
        ),
        texts,
    ),
    events(
        "activity.completed",
        st.fixed_dictionaries(
            {"member_id": member_ids, "activity": texts, "points": st.integers()}
        ),
        texts,
    ),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(any_events, max_size=5), ascii_only=st.booleans())
def test_json_lines_round_trip(
    tmp_path: Path, batch: list[dict[str, Any]], ascii_only: bool
) -> None:
    path = tmp_path / "round-trip.jsonl"
    path.write_text(
        "".join(json.dumps(event, ensure_ascii=ascii_only) + "\n" for event in batch),
        encoding="utf-8",
    )

    assert [record.event for record in read_events(path)] == batch


def flatten(value: dict[str, Any], prefix: str = "") -> dict[str, str]:
    cells: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, dict):
            cells.update(flatten(item, f"{prefix}{key}."))
        else:
            cells[f"{prefix}{key}"] = str(item).lower() if isinstance(item, bool) else str(item)
    return cells


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(events("ticket.purchased", ticket_data(cell_texts), cell_texts), max_size=5))
def test_csv_round_trip_of_purchases(tmp_path: Path, batch: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(flatten(event) for event in batch)
    path = tmp_path / "round-trip.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")

    assert [record.event for record in read_events(path)] == batch
