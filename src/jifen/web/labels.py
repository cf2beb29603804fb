"""Words that reach pages as data (roles, ID types), marked for the catalogues."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the name Babel's extractor looks for
    """Mark `message` for translation without translating it here."""
    return message


ROLES = (N_("admin"), N_("operator"), N_("analyst"))
ID_TYPES = (
    N_("resident_id"),
    N_("hk_macau_permit"),
    N_("taiwan_permit"),
    N_("permanent_residence"),
    N_("residence_permit"),
    N_("passport"),
)
