"""SQL for the member portal: one-time sign-in links, SMS codes, a member's orders and tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, func, insert, select, update

from jifen.storage.console_repository import ConsoleRepository
from jifen.storage.mall_repository import MallOrder
from jifen.storage.mall_repository import _order as order_record
from jifen.storage.redemption_repository import RedemptionRecord
from jifen.storage.tables import (
    mall_orders,
    mall_products,
    member_tokens,
    portal_links,
    portal_sms_codes,
)


@dataclass(frozen=True, slots=True)
class SmsCode:
    """A sign-in code as stored (hashed), with its member (None when no member has the phone)."""

    id: int
    phone_hash: str
    member_id: int | None
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class MemberToken:
    """A member API token as stored (hashed)."""

    id: int
    token_hash: str
    member_id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrderLine:
    """A member's mall order with the product's name."""

    order: MallOrder
    product_name: str


class PortalRepository:
    """Sign-in links and codes, and the member's own orders and redemptions."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # -- one-time links ------------------------------------------------------------------------
    def add_link(
        self, *, token_hash: str, member_id: int, created_at: datetime, expires_at: datetime
    ) -> None:
        """Store a link's hash."""
        self.connection.execute(
            insert(portal_links).values(
                token_hash=token_hash,
                member_id=member_id,
                created_at=created_at,
                expires_at=expires_at,
            )
        )

    def use_link(self, token_hash: str, *, now: datetime) -> int | None:
        """Mark the link used if it is unused and unexpired; its member, else None (atomic)."""
        c = portal_links.c
        done = self.connection.execute(
            update(portal_links)
            .where(and_(c.token_hash == token_hash, c.used_at.is_(None), c.expires_at > now))
            .values(used_at=now)
        )
        if done.rowcount != 1:
            return None
        query = select(c.member_id).where(c.token_hash == token_hash)
        return self.connection.execute(query).scalar_one()

    # -- SMS codes -----------------------------------------------------------------------------
    def add_code(
        self,
        *,
        phone_hash: str,
        member_id: int | None,
        code_hash: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> int:
        """Store a code's hash; its id (the challenge the portal keeps in the session)."""
        result = self.connection.execute(
            insert(portal_sms_codes)
            .values(
                phone_hash=phone_hash,
                member_id=member_id,
                code_hash=code_hash,
                created_at=created_at,
                expires_at=expires_at,
                attempts=0,
            )
            .returning(portal_sms_codes.c.id)
        )
        return int(result.scalar_one())

    def latest_code(self, phone_hash: str) -> SmsCode | None:
        """The newest code sent to a phone."""
        c = portal_sms_codes.c
        query = (
            select(portal_sms_codes)
            .where(c.phone_hash == phone_hash)
            .order_by(c.created_at.desc(), c.id.desc())
            .limit(1)
        )
        row = self.connection.execute(query).first()
        return None if row is None else SmsCode(*row)

    def codes_since(self, phone_hash: str, since: datetime) -> int:
        """How many codes a phone has been sent since `since`."""
        c = portal_sms_codes.c
        query = select(func.count()).where(c.phone_hash == phone_hash, c.created_at >= since)
        return int(self.connection.execute(query).scalar_one())

    def code(self, code_id: int) -> SmsCode | None:
        """A code by its id."""
        row = self.connection.execute(
            select(portal_sms_codes).where(portal_sms_codes.c.id == code_id)
        ).first()
        return None if row is None else SmsCode(*row)

    def count_attempt(self, code_id: int, *, most: int) -> bool:
        """Count one try at a code; False when it already had `most` tries (atomic)."""
        c = portal_sms_codes.c
        done = self.connection.execute(
            update(portal_sms_codes)
            .where(and_(c.id == code_id, c.attempts < most))
            .values(attempts=c.attempts + 1)
        )
        return done.rowcount == 1

    def use_code(self, code_id: int, *, now: datetime) -> bool:
        """Mark a code used; False if it was used already (atomic)."""
        c = portal_sms_codes.c
        done = self.connection.execute(
            update(portal_sms_codes)
            .where(and_(c.id == code_id, c.used_at.is_(None)))
            .values(used_at=now)
        )
        return done.rowcount == 1

    # -- member API tokens -------------------------------------------------------------------
    def add_token(
        self, *, token_hash: str, member_id: int, created_at: datetime, expires_at: datetime
    ) -> None:
        """Store a member token's hash."""
        self.connection.execute(
            insert(member_tokens).values(
                token_hash=token_hash,
                member_id=member_id,
                created_at=created_at,
                expires_at=expires_at,
            )
        )

    def token(self, token_hash: str) -> MemberToken | None:
        """A member token by its hash."""
        row = self.connection.execute(
            select(member_tokens).where(member_tokens.c.token_hash == token_hash)
        ).first()
        return None if row is None else MemberToken(*row)

    def touch_token(self, token_id: int, *, now: datetime, expires_at: datetime) -> bool:
        """Record a use and slide the expiry; False if revoked or expired meanwhile (atomic)."""
        c = member_tokens.c
        done = self.connection.execute(
            update(member_tokens)
            .where(and_(c.id == token_id, c.revoked_at.is_(None), c.expires_at > now))
            .values(last_used_at=now, expires_at=expires_at)
        )
        return done.rowcount == 1

    def revoke_token(self, token_id: int, *, now: datetime) -> None:
        """Revoke a member token (a revoked one stays revoked at its first moment)."""
        c = member_tokens.c
        self.connection.execute(
            update(member_tokens)
            .where(and_(c.id == token_id, c.revoked_at.is_(None)))
            .values(revoked_at=now)
        )

    # -- the member's own spending -------------------------------------------------------------
    def orders_of(self, member_id: int, *, limit: int) -> list[OrderLine]:
        """The member's mall orders, newest first, with product names."""
        o, p = mall_orders.c, mall_products.c
        query = (
            select(mall_orders, p.name)
            .select_from(mall_orders.outerjoin(mall_products, o.sku == p.sku))
            .where(o.member_id == member_id)
            .order_by(o.created_at.desc(), o.id.desc())
            .limit(limit)
        )
        rows = self.connection.execute(query)
        return [OrderLine(order_record(row), row.name or row.sku) for row in rows]

    def redemptions_of(self, member_id: int, *, limit: int) -> list[RedemptionRecord]:
        """The member's ticket redemptions and seat upgrades, newest first."""
        return ConsoleRepository(self.connection).redemptions_of(member_id, limit=limit)
