"""Partners (SPEC §8): operator-set terms, awards, miles exchanges, reversals, settlement."""

from __future__ import annotations

from jifen.services.partners.operations import (
    ExchangeNotOffered,
    MilesBelowMinimum,
    PartnerLimitExceeded,
    award,
    exchange,
)
from jifen.services.partners.reversals import reverse
from jifen.services.partners.settlement import Settlement, settlement
from jifen.services.partners.terms import (
    PartnerExists,
    PartnerInactive,
    PartnerTerms,
    add_partner,
    get_partner,
    list_partners,
    set_partner_status,
)

__all__ = [
    "ExchangeNotOffered",
    "MilesBelowMinimum",
    "PartnerExists",
    "PartnerInactive",
    "PartnerLimitExceeded",
    "PartnerTerms",
    "Settlement",
    "add_partner",
    "award",
    "exchange",
    "get_partner",
    "list_partners",
    "reverse",
    "set_partner_status",
    "settlement",
]
