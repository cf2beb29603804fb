"""Words that reach portal pages as data: statuses and redemption types, for the catalogues."""

from __future__ import annotations

from jifen.web.labels import N_

STATUSES = (
    N_("waiting"),
    N_("effective"),
    N_("removed"),
    N_("held"),
    N_("committed"),
    N_("released"),
    N_("cancelled"),
    N_("paid"),
    N_("fulfilled"),
    N_("refunded"),
    N_("used"),
    N_("expired"),
    N_("active"),
)
REDEMPTION_TYPES = (N_("ticket"), N_("seat_upgrade"))
