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

coupons = Table(
    "coupons",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("type", String(64), nullable=False),
    Column("member_id", Id, ForeignKey("members.id"), nullable=False, index=True),
    Column("source", String(200), nullable=False),  # the order id or the benefit that issued it
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

# -- accounting (migration 0006) ----------------------------------------------

# -- campaigns (migration 0007) -----------------------------------------------

# -- notifications (migration 0008) -------------------------------------------

# -- partners (migration 0009) ------------------------------------------------

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
