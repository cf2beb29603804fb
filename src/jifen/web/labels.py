"""Words that reach pages as data (roles, statuses, kinds), marked for the catalogues."""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the name Babel's extractor looks for
    """Mark `message` for translation without translating it here."""
    return message


ROLES = (N_("admin"), N_("operator"), N_("analyst"))
