"""Bodies of the beneficiary routes: the people a member may redeem tickets for."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from jifen.api.schemas.common import SANE_DATE
from jifen.services.event_schema import PRINTABLE, IdTypeField, IsoDate


class BeneficiaryIn(BaseModel):
    """A person the member may redeem tickets for, under their real-name identity.

    `birth_date` is optional: for ID numbers that carry it (resident ID, residence permit, the
    2023 permanent residence ID) it is read from the number when left out.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "ben-0001",
                    "name": "李四",
                    "id_type": "resident_id",
                    "id_number": "110101198505051238",
                }
            ]
        },
    )

    id: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=PRINTABLE),
    ] = Field(description="The caller's id for this request (the idempotency key).")
    name: Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=PRINTABLE)]
    id_type: IdTypeField
    id_number: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    birth_date: Annotated[IsoDate, Field(**SANE_DATE)] | None = None


class BeneficiaryOut(BaseModel):
    """A beneficiary, ID number masked; `status` is waiting, effective or removed today."""

    beneficiary_id: int
    effective_from: date
    name: str
    id_type: str
    id_number: str = Field(description="Masked, e.g. 1101**********1238.")
    added_on: date
    removed_on: date | None
    status: str


class BeneficiaryList(BaseModel):
    """The member's beneficiaries, oldest first, and how many the program allows."""

    member_id: int
    max_count: int
    items: list[BeneficiaryOut]
