"""Use case: import an event file, streaming, with a summary and a rejects file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from jifen.programs.schema import Program
from jifen.services.bulk import chunked
from jifen.services.event_files import UNREADABLE, RejectsWriter, read_events
from jifen.services.events import FUTURE_TOLERANCE
from jifen.services.events.batch import BATCH_SIZE, apply_batch
from jifen.services.unit_of_work import UnitOfWork
from jifen.storage.crypto import IdentityVault


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """How many events were applied, were duplicates, or were rejected (and where those went)."""

    applied: int
    duplicate: int
    rejected: int
    rejects_path: Path | None


def import_events(
    uow: UnitOfWork,
    *,
    program: Program,
    vault: IdentityVault,
    path: Path,
    rejects_path: Path,
    received_at: datetime,
    future_tolerance: timedelta = FUTURE_TOLERANCE,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Apply every event in `path` (JSON Lines or CSV) in file order, `batch_size` at a time.

    Batches take the bulk path (`events.batch`): the results are those of applying the events
    one at a time. Memory stays constant whatever the file's size. Rejected lines go to
    `rejects_path` with the reason; importing the same file again applies nothing new (every
    event is a duplicate). The file's events reach Jifen at `received_at` (when the import
    began): later than that, by more than `future_tolerance`, they are rejected.
    """
    counts = {"applied": 0, "duplicate": 0, "rejected": 0}
    rejects_path.unlink(missing_ok=True)  # a stale file from an earlier run would mislead
    with RejectsWriter(rejects_path) as rejects:
        for chunk in chunked(read_events(path), batch_size):
            readable = [record for record in chunk if record.event is not None]
            results = iter(
                apply_batch(
                    uow,
                    program=program,
                    vault=vault,
                    raw_events=[r.event for r in readable],
                    received_at=received_at,
                    future_tolerance=future_tolerance,
                )
            )
            for record in chunk:
                if record.event is None:
                    rejects.write(record.line, None, UNREADABLE, record.error or "unreadable")
                    counts["rejected"] += 1
                    continue
                result = next(results)
                counts[result.status] += 1
                if result.error is not None:
                    reason = result.error["message"]
                    rejects.write(record.line, record.event, result.error["code"], reason)
            if progress is not None:
                progress(chunk[-1].line)
        written = rejects.path if rejects.count else None
    return ImportSummary(counts["applied"], counts["duplicate"], counts["rejected"], written)
