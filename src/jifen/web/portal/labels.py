"""Words that reach portal pages as data: statuses, redemption and ID types, for the catalogues."""

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
ID_TYPES = (
    N_("resident_id"),
    N_("hk_macau_permit"),
    N_("taiwan_permit"),
    N_("permanent_residence"),
    N_("residence_permit"),
    N_("passport"),
)
