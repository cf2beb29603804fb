"""The program this worker serves: its code, version and rules as validated."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from jifen.api.deps import ServedProgramDep, require
from jifen.api.schemas.program import ProgramOut

router = APIRouter(prefix="/v1", tags=["program"])


@router.get(
    "/program",
    response_model=ProgramOut,
    dependencies=[Depends(require("operator", "integrator", "analyst", "partner"))],
)
def get_program(served: ServedProgramDep) -> ProgramOut:
    """The program version served: every worker serves a new one within seconds of activation."""
    return ProgramOut(
        code=served.program.code,
        version=served.version,
        program=served.program.model_dump(mode="json"),
    )
