"""Program use cases: install a program version and read the active one."""

from __future__ import annotations

from dataclasses import dataclass

from jifen.domain.errors import JifenError
from jifen.programs.schema import Program
from jifen.services import journal
from jifen.services.unit_of_work import UnitOfWork


class NoProgram(JifenError):
    """The database has no program yet."""

    code = "no_program"
    status = 503

    def __init__(self) -> None:
        super().__init__(
            "No program is set up in this database; run `jifen init --preset railway` "
            "(or `--program FILE`) first."
        )


def install_program(uow: UnitOfWork, *, program: Program, source: str) -> int:
    """Store `program` as the active program; returns its new version number."""
    with uow:
        document = program.model_dump(mode="json")
        version = uow.programs.activate(code=program.code, document=document, source=source)
        journal.record(uow, "program", at=None, document=document, source=source)
        uow.commit()
    return version


def active_program(uow: UnitOfWork) -> Program:
    """The program this database runs; `NoProgram` when none was installed."""
    with uow:
        found = uow.programs.active()
    if found is None:
        raise NoProgram
    return Program.model_validate(found[0])


@dataclass(frozen=True, slots=True)
class ServedProgram:
    """A stored program version: its row `id` (unique across codes), `version` and the program."""

    id: int
    version: int
    program: Program


def active_served(uow: UnitOfWork, *, known: ServedProgram | None = None) -> ServedProgram:
    """The active program with its version; `known` is returned as is while it is still active.

    Checking costs one small read; the document is read and validated only when it changed.
    """
    with uow:
        active = uow.programs.active_version()
        if active is None:
            raise NoProgram
        if known is not None and known.id == active[0]:
            return known
        document = uow.programs.document(active[0])
    return ServedProgram(active[0], active[1], Program.model_validate(document))
