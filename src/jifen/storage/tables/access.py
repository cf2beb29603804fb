"""Who may act: API keys, console users and portal sign-in codes."""

from __future__ import annotations

import sqlalchemy as sa

from jifen.storage.tables.base import metadata
from jifen.storage.types import Id, UTCDateTime

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("prefix", sa.String(16), nullable=False, unique=True),
    sa.Column("secret_hash", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("label", sa.String(100), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column(
        "partner_code", sa.String(24), nullable=True
    ),  # a partner key acts for this partner only
)

console_users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),  # scrypt$n$r$p$salt$hash
    sa.Column("role", sa.String(24), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("disabled_at", UTCDateTime, nullable=True),
)

# Portal sign-in: one-time links and SMS codes, both kept only as SHA-256 hashes.
portal_links = sa.Table(
    "portal_links",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("used_at", UTCDateTime, nullable=True),
)

portal_sms_codes = sa.Table(
    "portal_sms_codes",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("phone_hash", sa.String(64), nullable=False),
    # None when no member has the phone: the row still rate-limits and is checked the same way.
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=True),
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Index("ix_portal_sms_codes_phone_created", "phone_hash", "created_at"),
)

# A member's own API (/v1/me): short-lived bearer tokens, kept only as SHA-256 hashes.
member_tokens = sa.Table(
    "member_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("member_id", Id, sa.ForeignKey("members.id"), nullable=False, index=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("last_used_at", UTCDateTime, nullable=True),
)
