"""Streaming readers for event files (JSON Lines and CSV, optionally gzipped) and a rejects writer.

`read_events` turns a file into one `FileRecord` per line or row: the event, or why it could not be
read, so one bad line never stops an import. Nothing is read ahead, so memory stays constant for
files of millions of lines.

JSON Lines (`.jsonl`, `.ndjson`, `.json`): one SPEC §12 event object per line; blank lines are
skipped.

CSV (`.csv`): the header names each column by its dotted path in the event, and every row unflattens
into the nested §12 shape. This file

    id,type,occurred_at,data.ticket_id,data.passenger.member_id,data.fare_fen,data.train.tourist
    e-1,ticket.purchased,2025-11-01T09:30:00+08:00,T100,1001,55350,no

reads as `{"id": "e-1", "type": "ticket.purchased", "occurred_at": "2025-11-01T09:30:00+08:00",
"data": {"ticket_id": "T100", "passenger": {"member_id": 1001}, "fare_fen": 55350,
"train": {"tourist": False}}}`.

- Cells are stripped of surrounding spaces; an empty cell leaves its key out, and so a parent whose
  cells are all empty (no `train` at all when every `data.train.*` cell is empty).
- Integers: columns whose last part ends in `_fen` or `points` (`data.fare_fen`, `data.points`).
- `member_id`: an integer when it is all digits, otherwise text (also text with a leading zero,
  which an integer would lose).
- Booleans, written true/false, 1/0 or yes/no in any case: `real_name`, `train.participating`,
  `train.international`, `train.tourist`.
- Everything else is text. A bad value or the wrong number of cells makes the row an error record.
- Also accepted: a UTF-8 byte-order mark, quoted cells spanning lines, rows made only of commas.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path, PurePath
from typing import IO, Any, Self, TypeVar

from jifen.domain.errors import JifenError

JSON_LINES_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIX = ".csv"
UNREADABLE = "unreadable"  # the rejects code for a FileRecord that carries an error

_BOOLEAN_COLUMNS = ("real_name", "train.participating", "train.international", "train.tourist")
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_INTEGER = re.compile(r"[+-]?[0-9]+")
_MEMBER_NUMBER = re.compile(r"0|[1-9][0-9]*")

T = TypeVar("T")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


# One decoder for the file: json.loads with an argument builds a new one for every line.
_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


class UnsupportedFile(JifenError):
    """A file whose name does not say it holds events in a format Jifen reads."""

    code = "unsupported_file"
    status = 422


class InvalidEventFile(JifenError):
    """A file that cannot be read at all: an unusable CSV header or a corrupt gzip stream."""

    code = "invalid_event_file"
    status = 422


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One line (JSON Lines) or row (CSV): the event it holds, or why it could not be read."""

    line: int
    event: dict[str, Any] | None
    error: str | None


def read_events(path: Path) -> Iterator[FileRecord]:
    """Read the events in `path`, lazily, choosing the format by suffix (`.gz` for gzip).

    Raises `UnsupportedFile` at once for an unknown suffix; opening the file waits for the first
    record. Records with an error say why (`"line 12: not valid JSON: ..."`); a file that cannot
    be read at all raises `InvalidEventFile` while iterating.
    """
    is_csv, compressed = _format_of(path)
    lines = _lines(path, compressed=compressed)
    return _read_csv(lines) if is_csv else _read_json_lines(lines)


def batched(records: Iterable[T], size: int) -> Iterator[list[T]]:
    """Split `records` into lists of `size` (the last may be shorter), like 3.12's `batched`."""
    if size < 1:
        raise ValueError(f"A batch size must be at least 1, not {size}.")
    return _batches(iter(records), size)


def count_lines(path: Path) -> int | None:
    """Count the lines of `path` quickly for a progress bar; None for gzip, slow to count."""
    if path.name.lower().endswith(".gz"):
        return None
    count, last = 0, b"\n"
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


class RejectsWriter:
    """Writes rejected records as JSON Lines; the file is created only when something is rejected.

    Each line is `{"line", "id", "code", "reason", "event"}`, with `id` and `event` null when the
    record could not be parsed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: IO[str] | None = None
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def write(self, line: int, event: Mapping[str, Any] | None, code: str, reason: str) -> None:
        """Record that the event at `line` was rejected with `code` for `reason`."""
        if self._closed:
            raise ValueError(f"The rejects file {self.path} is already closed.")
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8")
        event_id = event.get("id") if isinstance(event, Mapping) else None
        reject = {"line": line, "id": event_id, "code": code, "reason": reason, "event": event}
        self._file.write(json.dumps(reject, ensure_ascii=False, default=str) + "\n")
        self.count += 1

    def close(self) -> None:
        """Close the file, if one was created."""
        self._closed = True
        if self._file is not None:
            self._file.close()
            self._file = None


def _format_of(path: Path) -> tuple[bool, bool]:
    """`(is_csv, compressed)` from the file name, or `UnsupportedFile`."""
    name = path.name.lower()
    compressed = name.endswith(".gz")
    suffix = PurePath(name.removesuffix(".gz")).suffix
    if suffix == CSV_SUFFIX or suffix in JSON_LINES_SUFFIXES:
        return suffix == CSV_SUFFIX, compressed
    supported = [*JSON_LINES_SUFFIXES, CSV_SUFFIX]
    raise UnsupportedFile(
        f"Cannot read events from {path.name}: the name must end in {', '.join(supported)}, "
        "or one of these followed by .gz (events.jsonl.gz).",
        path=str(path),
        supported=supported + [f"{suffix}.gz" for suffix in supported],
    )


def _lines(path: Path, *, compressed: bool) -> Iterator[bytes]:
    if not compressed:
        with path.open("rb") as file:
            yield from file
        return
    try:
        with gzip.open(path, "rb") as file:
            yield from file
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise InvalidEventFile(
            f"{path.name} is not a readable gzip file: {exc}", path=str(path)
        ) from exc


def _batches(iterator: Iterator[T], size: int) -> Iterator[list[T]]:
    while batch := list(islice(iterator, size)):
        yield batch


def _failed(line: int, reason: str) -> FileRecord:
    return FileRecord(line=line, event=None, error=f"line {line}: {reason}")


def _read_json_lines(lines: Iterable[bytes]) -> Iterator[FileRecord]:
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            yield _parse_json_line(number, raw)


def _parse_json_line(number: int, raw: bytes) -> FileRecord:
    try:
        value = _JSON.decode(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return _failed(number, f"not valid JSON: not UTF-8 text (at byte {exc.start + 1})")
    except json.JSONDecodeError as exc:
        return _failed(number, f"not valid JSON: {exc.msg} (column {exc.colno})")
    except ValueError as exc:
        return _failed(number, f"not valid JSON: {exc}")
    except RecursionError:
        return _failed(number, "not valid JSON: nested too deeply")
    if not isinstance(value, dict):
        return _failed(number, f"not a JSON object but {_json_kind(value)}")
    return FileRecord(line=number, event=value, error=None)


def _json_kind(value: object) -> str:
    kinds = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    path: tuple[str, ...]
    convert: Callable[[str], Any]


class _Utf8Lines:
    """Decodes lines for the csv module, noting invalid UTF-8 instead of failing mid-file."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self._lines = iter(lines)
        self._encoding = "utf-8-sig"  # drop a byte-order mark from the first line only
        self.invalid = False

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> str:
        raw = next(self._lines)
        encoding, self._encoding = self._encoding, "utf-8"
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            self.invalid = True
            return raw.decode(encoding, "replace")


def _csv_rows(lines: Iterable[bytes]) -> Iterator[tuple[int, list[str], str | None]]:
    """`(first line, cells, error)` per CSV row; the csv module reads no further than one row."""
    text = _Utf8Lines(lines)
    reader = csv.reader(text)
    done = 0
    while True:
        cells: list[str] = []
        error = None
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            error = f"not valid CSV: {exc}"
        if text.invalid:
            error, text.invalid = "not UTF-8 text (save the file as UTF-8)", False
        yield done + 1, cells, error
        done = reader.line_num


def _read_csv(lines: Iterable[bytes]) -> Iterator[FileRecord]:
    columns: list[_Column] | None = None
    for line, cells, error in _csv_rows(lines):
        if error is not None and columns is None:
            raise InvalidEventFile(f"line {line}: the CSV header is {error}", line=line)
        if error is not None:
            yield _failed(line, error)
        elif not any(cell.strip() for cell in cells):
            continue
        elif columns is None:
            columns = _columns(cells, line)
        else:
            yield _row_record(columns, line, cells)


def _columns(header: list[str], line: int) -> list[_Column]:
    names = [cell.strip() for cell in header]
    problem = _header_problem(names)
    if problem is not None:
        raise InvalidEventFile(f"line {line}: the CSV header is not usable: {problem}", line=line)
    return [_Column(name, tuple(name.split(".")), _converter(name)) for name in names]


def _header_problem(names: list[str]) -> str | None:
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        if not name:
            return f"column {position} has no name"
        if "" in name.split("."):
            return f"column {name!r} has an empty part"
        if name in seen:
            return f"column {name!r} appears twice"
        seen.add(name)
    for name in names:
        parts = name.split(".")
        for end in range(1, len(parts)):
            parent = ".".join(parts[:end])
            if parent in seen:
                return f"column {parent!r} cannot hold a value and also {name!r}"
    return None


def _converter(name: str) -> Callable[[str], Any]:
    leaf = name.rpartition(".")[2]
    if any(name == column or name.endswith("." + column) for column in _BOOLEAN_COLUMNS):
        return _to_boolean
    if leaf == "member_id":
        return _to_member_id
    if leaf.endswith(("_fen", "points")):
        return _to_integer
    return str


def _to_boolean(text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean (true/false, 1/0, yes/no)")


def _to_integer(text: str) -> int:
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"{text!r} is not an integer")
    return int(text)


def _to_member_id(text: str) -> int | str:
    return int(text) if _MEMBER_NUMBER.fullmatch(text) else text


def _row_record(columns: list[_Column], line: int, cells: list[str]) -> FileRecord:
    if len(cells) != len(columns):
        return _failed(line, f"{len(cells)} cells where the header has {len(columns)} columns")
    event: dict[str, Any] = {}
    for column, cell in zip(columns, cells, strict=True):
        text = cell.strip()
        if not text:
            continue
        try:
            value = column.convert(text)
        except ValueError as exc:
            return _failed(line, f"column {column.name!r}: {exc}")
        parent = event
        for key in column.path[:-1]:
            parent = parent.setdefault(key, {})
        parent[column.path[-1]] = value
    return FileRecord(line=line, event=event, error=None)
