"""Who may act: API keys, console users and portal sign-in codes."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

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
