"""Names hold no character that hides or reorders text on a page (issue 19)."""

from __future__ import annotations

from datetime import date

import pytest

from jifen.domain.identity import InvalidIdentity, validate_identity

HIDDEN = [
    *range(0x202A, 0x202F),  # embeddings and overrides: LRE, RLE, PDF, LRO, RLO
    *range(0x2066, 0x206A),  # isolates: LRI, RLI, FSI, PDI
    *range(0x200B, 0x2010),  # zero-width space, joiners, LRM, RLM
    0xFEFF,  # zero-width no-break space (BOM)
    0x2060,  # word joiner
]


def enrol_name(name: str) -> str:
    return validate_identity(
        name=name, id_type="passport", id_number="E12345678", birth_date=date(1990, 3, 7)
    ).name


@pytest.mark.parametrize("code", HIDDEN, ids=[f"U+{c:04X}" for c in HIDDEN])
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_name_with_a_bidi_override_or_invisible_character_is_refused(code: int, where: str):
    name = {"start": "{}张三", "middle": "张{}三", "end": "张三{}"}[where].format(chr(code))

    with pytest.raises(InvalidIdentity) as refused:
        enrol_name(name)

    assert refused.value.code == "invalid_identity"
    assert refused.value.details["field"] == "name"
    assert f"U+{code:04X}" in refused.value.message


@pytest.mark.parametrize(
    "name", ["张三", "阿依古丽·买买提", "Anna Müller-Lüdenscheidt", "O'Brien", "José  García"]
)
def test_names_as_printed_on_documents_are_kept(name: str):
    assert enrol_name(name) == name
