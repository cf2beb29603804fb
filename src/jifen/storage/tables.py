"""The database schema as SQLAlchemy Core tables; Alembic migrations are written against it."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)

from jifen.storage.types import Id, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

members = Table(
    "members",
    metadata,
    Column("id", Id, primary_key=True),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("joined_at", UTCDateTime, nullable=False),
    # Real-name identity: the ID number and phone are encrypted; lookups use keyed hashes.
    Column("name", String(100), nullable=True),
    Column("id_type", String(24), nullable=True),
    Column("id_number_enc", Text, nullable=True),
    Column("id_hash", String(64), nullable=True, unique=True),
    # The number alone, whatever type it was claimed under: one member per ID number. Null for
    # members enrolled before 0011 (enrolment also looks them up by `id_hash` under every type).
    Column("number_hash", String(64), nullable=True, unique=True, index=True),
    Column("phone_enc", Text, nullable=True),
    Column("phone_hash", String(64), nullable=True, index=True),
    Column("birth_date", Date, nullable=True),
    Column("tier_code", String(24), nullable=True),
    Column("tier_valid_until", Date, nullable=True),
    Column("tier_in_grace", Boolean, nullable=False, server_default=false()),
    # The day the spendable balance first reached the program's redemption threshold.
    Column("redemption_unlocked_on", Date, nullable=True),
)

programs = Table(
    "programs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("code", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("source", Text, nullable=False),
    Column("active", Boolean, nullable=False),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("type", String(24), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True, index=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    # A transaction is reversed at most once: the unique index makes a second reversal fail.
    Column("reverses_id", Id, ForeignKey("ledger_transactions.id"), nullable=True, unique=True),
    Column("memo", JSON, nullable=False, default=dict),
)

lots = Table(
    "lots",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("credited_on", Date, nullable=False),
    Column("expires_on", Date, nullable=True),
    Column("original", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    CheckConstraint("remaining >= 0 AND remaining <= original", name="remaining_in_range"),
    Index("ix_lots_member_kind_expiry", "member_id", "kind", "expires_on"),
    Index("ix_lots_expires_on", "expires_on"),
)

pending_points = Table(
    "pending_points",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reference", String(200), nullable=True, index=True),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    CheckConstraint("points > 0", name="points_positive"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False, index=True),
    Column("account", String(40), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True),
    Column("kind", String(24), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("lot_id", Id, ForeignKey("lots.id"), nullable=True, index=True),
    Column("pending_id", Id, ForeignKey("pending_points.id"), nullable=True, index=True),
    Index("ix_ledger_entries_member_kind", "member_id", "kind"),
)

balances = Table(
    "balances",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("kind", String(24), primary_key=True),
    Column("available", BigInteger, nullable=False, server_default="0"),
    Column("pending", BigInteger, nullable=False, server_default="0"),
    Column("version", Integer, nullable=False, server_default="0"),
    CheckConstraint("available >= 0", name="available_not_negative"),
    CheckConstraint("pending >= 0", name="pending_not_negative"),
)

events = Table(
    "events",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("type", String(40), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True, index=True),
    # The event as received, with ID numbers masked; `fingerprint` (a keyed hash of the event as
    # sent) tells a resend from a different event under the same id.
    Column("payload", JSON, nullable=False),
    Column("fingerprint", String(64), nullable=False, server_default=""),
    Column("outcome", JSON, nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=True, index=True),
    Column("status", String(16), nullable=False),
    Column("fare_fen", BigInteger, nullable=True),
    Column("departure_at", UTCDateTime, nullable=True),
    Column("data", JSON, nullable=True),
    Column("pending_id", Id, ForeignKey("pending_points.id"), nullable=True),
    Column("travelled_at", UTCDateTime, nullable=True),
    # The daily job finds tickets still awaiting travel whose claim window has closed.
    Index("ix_tickets_status_departure", "status", "departure_at"),
)

earnings = Table(
    "earnings",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("rule_code", String(60), nullable=False),
    Column("day", Date, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("event_id", String(200), nullable=False),
    Index("ix_earnings_member_day", "member_id", "day"),
    Index("ix_earnings_rule", "rule_code"),
)

tier_history = Table(
    "tier_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("decided_on", Date, nullable=False),
    Column("old_code", String(24), nullable=True),
    Column("new_code", String(24), nullable=False),
    Column("valid_until", Date, nullable=True),
    Column("reason", String(24), nullable=False),
    Column("qualifying_points", BigInteger, nullable=False),
    UniqueConstraint("member_id", "decided_on", "reason", name="uq_tier_history_decision"),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("queued_on", Date, nullable=False),
    UniqueConstraint("member_id", "kind", "expires_on", name="uq_reminders_member_kind_date"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("job", String(40), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("step", String(40), nullable=False),
    Column("figures", JSON, nullable=False),
    UniqueConstraint("job", "as_of", "step", name="uq_job_runs_step"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("label", String(100), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("partner_code", String(24), nullable=True),  # a partner key acts for this partner only
)

sandbox_clock = Table(
    "sandbox_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("now", UTCDateTime, nullable=False),
)

# -- spending (issue 5): beneficiaries, redemptions, the points mall, coupons, donations ----------

beneficiaries = Table(
    "beneficiaries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("id_type", String(24), nullable=False),
    Column("id_number_enc", Text, nullable=False),
    Column("id_hash", String(64), nullable=False, index=True),
    Column("added_on", Date, nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("removed_on", Date, nullable=True),
)

# Each request that named a beneficiary, under the caller's id (migration 0015): the same id
# again answers with the beneficiary it named; another request under it is a conflict.
beneficiary_requests = Table(
    "beneficiary_requests",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("beneficiary_id", Id, ForeignKey("beneficiaries.id"), nullable=False),
    Column("request_hash", String(64), nullable=False),
)

redemptions = Table(
    "redemptions",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("type", String(16), nullable=False),  # ticket | seat_upgrade
    Column("passenger_member_id", Id, ForeignKey("members.id"), nullable=True),
    Column("beneficiary_id", Id, ForeignKey("beneficiaries.id"), nullable=True),
    Column("ticket_ref", String(100), nullable=True),
    Column("fare_fen", BigInteger, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # held | committed | released | cancelled
    Column("train", JSON, nullable=False),
    Column("departure_at", UTCDateTime, nullable=False),
    Column("changes", Integer, nullable=False, server_default="0"),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_redemptions_member_created", "member_id", "created_at"),
    # The daily job finds holds whose train has left.
    Index("ix_redemptions_status_departure", "status", "departure_at"),
)

redemption_actions = Table(
    "redemption_actions",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id for the step
    Column("redemption_id", String(200), ForeignKey("redemptions.id"), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("result", JSON, nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

mall_products = Table(
    "mall_products",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False, server_default="goods"),  # goods | coupon
    Column("price_points", BigInteger, nullable=False),
    Column("cash_fen", BigInteger, nullable=False, server_default="0"),
    Column("stock", BigInteger, nullable=False),
    Column("per_member_limit", Integer, nullable=True),
    Column("sale_starts_at", UTCDateTime, nullable=True),
    Column("sale_ends_at", UTCDateTime, nullable=True),
    Column("coupon_valid_days", Integer, nullable=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    CheckConstraint("stock >= 0", name="stock_not_negative"),
    CheckConstraint("price_points >= 0", name="price_not_negative"),
)

mall_orders = Table(
    "mall_orders",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("sku", String(64), ForeignKey("mall_products.sku"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("cash_fen", BigInteger, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False),  # paid | fulfilled | cancelled | refunded
    Column("request_hash", String(64), nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("fulfilment", JSON, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_mall_orders_member_sku", "member_id", "sku"),
)

# Units taken off sale for a mall order whose payment has not settled yet (migration 0016). The
# order's first, short transaction inserts the row as it takes the stock; its payment deletes it
# as it stores the order; a failed payment, or the daily job for a row left behind, returns the
# units. Not a sale: listings, limits and reports read `mall_orders` only.
stock_holds = Table(
    "stock_holds",
    metadata,
    Column("order_id", String(200), primary_key=True),  # the caller's order id
    Column("sku", String(64), ForeignKey("mall_products.sku"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
)

coupons = Table(
    "coupons",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    # The order id or the benefit that issued it (indexed in migration 0015: a grant's id is
    # looked up across members).
    Column("source", String(200), nullable=False, index=True),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("used_by", String(200), nullable=True),  # the integrator's redemption id
)

donations = Table(
    "donations",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("charity", String(40), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("receipt_no", String(40), nullable=False, unique=True),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

# -- corrections and audit --------------------------------------------------------------------

adjustments = Table(
    "adjustments",
    metadata,
    Column("id", String(200), primary_key=True),  # the caller's id
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("kind", String(24), nullable=False),
    Column("point_kind", String(24), nullable=False),
    Column("points", BigInteger, nullable=False),  # signed
    Column("reason", Text, nullable=False),
    Column("status", String(24), nullable=False),  # applied | pending_approval | rejected
    Column("request_hash", String(64), nullable=False),
    Column("requested_by", String(64), nullable=False),
    Column("decided_by", String(64), nullable=True),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("balance_before", BigInteger, nullable=True),
    Column("balance_after", BigInteger, nullable=True),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    # The decider's id for the approval or rejection and its hash (migration 0015).
    Column("decision_id", String(200), nullable=True),
    Column("decision_hash", String(64), nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("details", JSON, nullable=False),
)

# -- analytics (migration 0005) -----------------------------------------------
# Rollups of the ledger up to a watermark (the last ledger transaction folded in); reports add
# what lies beyond the watermark live. Days are program-local.

analytics_points_daily = Table(
    "analytics_points_daily",
    metadata,
    Column("day", Date, primary_key=True),
    Column("account", String(40), primary_key=True),
    Column("kind", String(24), primary_key=True),
    Column("points", BigInteger, nullable=False),  # net of the day's entries on the account
)

analytics_member_days = Table(
    "analytics_member_days",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("earnings", Integer, nullable=False),  # earning transactions of spendable kinds
    Column("points", BigInteger, nullable=False),  # spendable points they put in the member's lots
    Index("ix_analytics_member_days_day", "day"),
)

analytics_active_months = Table(
    "analytics_active_months",
    metadata,
    Column("month", String(7), primary_key=True),  # YYYY-MM, program-local
    # Bit n (little-endian) set: member n earned in the month / earned twice or more in it.
    Column("earners", LargeBinary, nullable=False),
    Column("repeaters", LargeBinary, nullable=False),
)

analytics_state = Table(
    "analytics_state",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# -- accounting (migration 0006) ----------------------------------------------

breakage_estimates = Table(
    "breakage_estimates",
    metadata,
    Column("id", Id, primary_key=True),
    # Append-only: a new estimate is a new version; old versions are never updated.
    Column("version", Integer, nullable=False, unique=True),
    Column("key", String(200), nullable=False, unique=True),  # the idempotency key
    Column("as_of", Date, nullable=False, index=True),
    Column("method", String(32), nullable=False),
    Column("rate_bps", Integer, nullable=False),
    Column("numerator", BigInteger, nullable=False),
    Column("denominator", BigInteger, nullable=False),
    Column("inputs", JSON, nullable=False),
    CheckConstraint("rate_bps >= 0 AND rate_bps <= 10000", name="rate_in_range"),
)

# -- campaigns (migration 0007) -----------------------------------------------

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(64), primary_key=True),  # the operator's id
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # active | stopped | exhausted
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("target", JSON, nullable=False),
    Column("effect", JSON, nullable=False),
    Column("control_percent", Integer, nullable=False),
    Column("budget_points", BigInteger, nullable=False),
    Column("spent_points", BigInteger, nullable=False, server_default="0"),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime, nullable=True),
    # The last line of defence: a campaign never gives more than its budget.
    CheckConstraint("spent_points >= 0 AND spent_points <= budget_points", name="within_budget"),
    Index("ix_campaigns_status_window", "status", "starts_at"),
)

campaign_trips = Table(
    "campaign_trips",
    metadata,
    Column("id", Id, primary_key=True),
    Column("campaign_id", String(64), ForeignKey("campaigns.id"), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("arm", String(8), nullable=False),  # treated | control
    Column("fare_fen", BigInteger, nullable=False),
    Column("base_points", BigInteger, nullable=False),
    Column("bonus_points", BigInteger, nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=True),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("campaign_id", "event_id", name="uq_campaign_trips_event"),
    Index("ix_campaign_trips_campaign_member", "campaign_id", "member_id"),
)

# -- notifications (migration 0008) -------------------------------------------

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", Id, primary_key=True),
    Column("url", String(2000), nullable=False, unique=True),
    Column("topics", JSON, nullable=False),  # a list of topics (domain/webhooks.TOPICS)
    Column("secret_enc", Text, nullable=False),  # encrypted by the vault; needed to sign
    Column("description", String(200), nullable=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("created_at", UTCDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True),
    Column("topic", String(40), nullable=False),
    # What the notification is about (`tier.changed:42:2025-03-20`): a rerun adds nothing.
    Column("dedupe_key", String(300), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("fanned_out", Boolean, nullable=False, server_default=false(), index=True),
)

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("notification_id", Id, ForeignKey("notifications.id"), nullable=False),
    Column("endpoint_id", Id, ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    UniqueConstraint("notification_id", "endpoint_id", name="uq_notification_deliveries_pair"),
    Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
)

# -- partners (migration 0009) ------------------------------------------------

partners = Table(
    "partners",
    metadata,
    Column("code", String(24), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("point_kind", String(24), nullable=False),
    Column("max_points_per_award", BigInteger, nullable=False),
    Column("max_points_per_member_day", BigInteger, nullable=False),
    Column("max_points_per_month", BigInteger, nullable=False),
    # Miles exchange: `exchange_points` points for every `exchange_miles` miles, rounded down.
    Column("exchange_miles", Integer, nullable=True),
    Column("exchange_points", Integer, nullable=True),
    Column("min_miles", BigInteger, nullable=False, server_default="1"),
    Column("price_per_1000_points_fen", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, server_default="active"),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(
        "max_points_per_award > 0 AND max_points_per_member_day > 0 AND max_points_per_month > 0",
        name="limits_positive",
    ),
    CheckConstraint(
        "(exchange_miles IS NULL AND exchange_points IS NULL)"
        " OR (exchange_miles > 0 AND exchange_points > 0)",
        name="rate_positive",
    ),
    CheckConstraint("price_per_1000_points_fen >= 0", name="price_not_negative"),
)

partner_operations = Table(
    "partner_operations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_code", String(24), ForeignKey("partners.code"), nullable=False),
    Column("op_id", String(200), nullable=False),  # the partner's id: idempotency per partner
    Column("type", String(16), nullable=False),  # award | exchange | reversal
    Column("member_id", Id, ForeignKey("members.id"), nullable=False),
    Column("points", BigInteger, nullable=False),  # credited (or taken back, for a reversal)
    Column("miles", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
    Column("reverses_op_id", String(200), nullable=True),
    Column("request_hash", String(64), nullable=False),
    Column("transaction_id", Id, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("day", Date, nullable=False),  # the program-local day: limits and settlement months
    Column("actor", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("partner_code", "op_id", name="uq_partner_operations_partner_op"),
    Index("ix_partner_operations_partner_day", "partner_code", "day"),
    Index("ix_partner_operations_member_day", "member_id", "day"),
)

partner_months = Table(
    "partner_months",
    metadata,
    # The partner's monthly counter row: its conditional update is the monthly cap's lock.
    Column("partner_code", String(24), ForeignKey("partners.code"), primary_key=True),
    Column("month", String(7), primary_key=True),  # YYYY-MM, program-local
    Column("points", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("points >= 0", name="points_not_negative"),
)

# -- web (migration 0010) -----------------------------------------------------

console_users = Table(
    "console_users",
    metadata,
    Column("id", Id, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),  # scrypt$n$r$p$salt$hash
    Column("role", String(24), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
)

# Portal sign-in: one-time links and SMS codes, both kept only as SHA-256 hashes.
portal_links = Table(
    "portal_links",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

portal_sms_codes = Table(
    "portal_sms_codes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("phone_hash", String(64), nullable=False),
    # None when no member has the phone: the row still rate-limits and is checked the same way.
    Column("member_id", Id, ForeignKey("members.id"), nullable=True),
    Column("code_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("used_at", UTCDateTime, nullable=True),
    Index("ix_portal_sms_codes_phone_created", "phone_hash", "created_at"),
)

# Segments a member is in (migration 0014): `operator` ones are set over the API, the `rfm` one is
# the daily job's. Earning rules (`segment_in`) and campaigns (`target.segments`) read them.
member_segments = Table(
    "member_segments",
    metadata,
    Column("member_id", Id, ForeignKey("members.id"), primary_key=True),
    Column("source", String(16), primary_key=True),
    Column("segment", String(64), primary_key=True),
    Index("ix_member_segments_segment", "segment"),
)

# Points each budgeted earning rule has promised or given, all members together (migration 0014);
# the row is locked while an award is taken from it, so concurrent events never overshoot.
rule_budgets = Table(
    "rule_budgets",
    metadata,
    Column("rule_code", String(64), primary_key=True),
    Column("spent_points", BigInteger, nullable=False),
    CheckConstraint("spent_points >= 0", name="spent_not_negative"),
)
