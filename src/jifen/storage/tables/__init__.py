"""The database schema as SQLAlchemy Core tables, one module per aggregate, all importable here.

Alembic migrations are written against `metadata`.
"""

from __future__ import annotations

from jifen.storage.tables.access import (
    api_keys,
    console_users,
    member_tokens,
    portal_links,
    portal_sms_codes,
)
from jifen.storage.tables.accounting import breakage_estimates
from jifen.storage.tables.analytics import (
    analytics_active_months,
    analytics_member_days,
    analytics_points_daily,
    analytics_state,
)
from jifen.storage.tables.base import metadata
from jifen.storage.tables.campaigns import campaign_trips, campaigns
from jifen.storage.tables.corrections import adjustments, audit_log
from jifen.storage.tables.entitlements import entitlement_uses, entitlements
from jifen.storage.tables.events import earnings, events, tickets
from jifen.storage.tables.journal import journal
from jifen.storage.tables.ledger import (
    balances,
    ledger_entries,
    ledger_transactions,
    lots,
    pending_points,
)
from jifen.storage.tables.mall import (
    coupons,
    mall_orders,
    mall_products,
    stock_adjustments,
    stock_holds,
)
from jifen.storage.tables.members import member_segments, members, tier_history
from jifen.storage.tables.notifications import (
    notification_deliveries,
    notifications,
    webhook_endpoints,
)
from jifen.storage.tables.operations import job_runs, reminders, sandbox_clock
from jifen.storage.tables.partners import partner_months, partner_operations, partners
from jifen.storage.tables.programs import program_drafts, programs, rule_budgets
from jifen.storage.tables.redemptions import (
    beneficiaries,
    beneficiary_requests,
    donations,
    redemption_actions,
    redemptions,
)

__all__ = [
    "adjustments",
    "analytics_active_months",
    "analytics_member_days",
    "analytics_points_daily",
    "analytics_state",
    "api_keys",
    "audit_log",
    "balances",
    "beneficiaries",
    "beneficiary_requests",
    "breakage_estimates",
    "campaign_trips",
    "campaigns",
    "console_users",
    "coupons",
    "donations",
    "earnings",
    "entitlement_uses",
    "entitlements",
    "events",
    "job_runs",
    "journal",
    "ledger_entries",
    "ledger_transactions",
    "lots",
    "mall_orders",
    "mall_products",
    "member_segments",
    "member_tokens",
    "members",
    "metadata",
    "notification_deliveries",
    "notifications",
    "partner_months",
    "partner_operations",
    "partners",
    "pending_points",
    "portal_links",
    "portal_sms_codes",
    "program_drafts",
    "programs",
    "redemption_actions",
    "redemptions",
    "reminders",
    "rule_budgets",
    "sandbox_clock",
    "stock_adjustments",
    "stock_holds",
    "tickets",
    "tier_history",
    "webhook_endpoints",
]
