"""Words that reach console pages as data (statuses, kinds, steps, actions), for the catalogues."""

from __future__ import annotations

from jifen.web.labels import N_

# A member's status as shown: "active" alone means something else on the portal's pages.
MEMBER_STATUS = {
    "active": N_("status: active"),
    "frozen": N_("status: frozen"),
    "closed": N_("status: closed"),
}
ADJUSTMENT_KINDS = (N_("goodwill"), N_("correction"), N_("compensation"), N_("clawback"))
ADJUSTMENT_STATUSES = (N_("applied"), N_("pending_approval"), N_("rejected"))
TRANSACTION_TYPES = (
    N_("credit"),
    N_("pending"),
    N_("confirm"),
    N_("void"),
    N_("spend"),
    N_("reversal"),
    N_("expiry"),
    N_("transfer"),
)
ACCOUNTS = (N_("available"),)
TIER_REASONS = (N_("upgrade"), N_("requalified"), N_("grace"), N_("downgrade"))
BENEFICIARY_STATUSES = (N_("waiting"), N_("effective"), N_("removed"))
REDEMPTION_STATUSES = (N_("held"), N_("committed"), N_("released"), N_("cancelled"))
REDEMPTION_TYPES = (N_("ticket"), N_("seat_upgrade"))
ORDER_STATUSES = (N_("paid"), N_("fulfilled"), N_("refunded"))
PRODUCT_KINDS = (N_("goods"), N_("coupon"))
SALE_STATES = (N_("on sale"), N_("upcoming"), N_("ended"), N_("sold out"))
# Campaign and partner statuses as shown: "active" alone is a coupon's status on the portal.
CAMPAIGN_STATUS = {
    "active": N_("campaign: active"),
    "paused": N_("campaign: paused"),
    "stopped": N_("stopped"),
    "exhausted": N_("exhausted"),
}
PARTNER_STATUS = {"active": N_("partner: active"), "suspended": N_("partner: suspended")}
LOT_STATES = (N_("open"), N_("used"), N_("expired"))
JOB_STEPS = (
    N_("no_shows"),
    N_("stale_holds"),
    N_("expire"),
    N_("tiers"),
    N_("entitlements"),
    N_("reminders"),
    N_("beneficiaries"),
    N_("analytics"),
    N_("stock_holds"),
)
JOB_FIGURES = (
    N_("tickets_not_travelled"),
    N_("points_voided"),
    N_("holds_released"),
    N_("points_released"),
    N_("units_released"),
    N_("lots_expired"),
    N_("points_expired"),
    N_("window_start"),
    N_("changes"),
    N_("lapsed"),
    N_("issued"),
    N_("reminders_queued"),
    N_("beneficiaries_effective"),
    N_("transactions_folded"),
)
AUDIT_ACTIONS = (
    N_("adjustment.requested"),
    N_("adjustment.applied"),
    N_("adjustment.approved"),
    N_("adjustment.rejected"),
    N_("member.frozen"),
    N_("member.unfrozen"),
    N_("member.closed"),
    N_("member.erased"),
    N_("member.exported"),
    N_("key.created"),
    N_("key.revoked"),
    N_("vault.rotated"),
    N_("console_user.created"),
    N_("console_user.reset"),
    N_("partner.created"),
    N_("partner.suspended"),
    N_("partner.activated"),
    N_("campaign.created"),
    N_("campaign.paused"),
    N_("campaign.resumed"),
    N_("campaign.stopped"),
    N_("product.created"),
    N_("product.changed"),
    N_("product.stock_adjusted"),
    N_("webhook.added"),
    N_("webhook.replayed"),
    N_("entitlement.used"),
)
EVENT_TYPES = (N_("ticket.travelled"), N_("ticket.purchased"), N_("activity.completed"))
