"""The unit of work: one database transaction that rolls back unless a use case commits it."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, overload
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from jifen.domain.errors import Contended
from jifen.storage.accounting_repository import AccountingRepository
from jifen.storage.analytics_member_repository import MemberAnalyticsRepository
from jifen.storage.analytics_repository import AnalyticsRepository
from jifen.storage.audit_repository import AuditRepository
from jifen.storage.batch_repository import BatchRepository
from jifen.storage.books_repository import BooksRepository
from jifen.storage.campaign_repository import CampaignRepository
from jifen.storage.console_repository import ConsoleRepository
from jifen.storage.console_user_repository import ConsoleUserRepository
from jifen.storage.draft_repository import DraftRepository
from jifen.storage.entitlement_repository import EntitlementRepository
from jifen.storage.event_repository import EventRepository
from jifen.storage.housekeeping_repository import HousekeepingRepository
from jifen.storage.job_repository import JobRepository
from jifen.storage.journal_repository import JournalRepository
from jifen.storage.key_repository import KeyRepository
from jifen.storage.ledger_audit import LedgerAudit
from jifen.storage.ledger_repository import LedgerRepository
from jifen.storage.mall_repository import MallRepository
from jifen.storage.member_repository import MemberRepository
from jifen.storage.notification_repository import NotificationRepository
from jifen.storage.partner_repository import PartnerRepository
from jifen.storage.portal_repository import PortalRepository
from jifen.storage.privacy_repository import PrivacyRepository
from jifen.storage.program_repository import ProgramRepository
from jifen.storage.recommendation_repository import RecommendationRepository
from jifen.storage.redemption_repository import RedemptionRepository
from jifen.storage.report_repository import ReportRepository
from jifen.storage.segment_repository import SegmentRepository
from jifen.storage.statement_repository import StatementRepository

R = TypeVar("R")

TRANSIENT = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure: the loser may simply run again."""


class _Repository(Generic[R]):
    """A repository built on its first use in a transaction and kept until the transaction ends.

    Entering a unit of work stays cheap (the online path enters one per request and reads two or
    three repositories): after the first read the repository sits in the instance's `__dict__`,
    which Python consults before this non-data descriptor, until the outermost `with` ends.
    """

    def __init__(self, build: Callable[[Connection], R]) -> None:
        self.build = build
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, uow: None, owner: type) -> _Repository[R]: ...

    @overload
    def __get__(self, uow: SqlUnitOfWork, owner: type) -> R: ...

    def __get__(self, uow: SqlUnitOfWork | None, owner: type) -> Any:
        if uow is None:
            return self
        repository = self.build(uow.connection)
        uow.__dict__[self.name] = repository
        uow.built.append(self.name)
        return repository


class SqlUnitOfWork:
    """A connection and transaction per outermost `with`; `commit()` keeps the work.

    Entering again while open joins the same transaction, so use cases compose: a ledger posting
    made inside an event's unit of work commits or rolls back with the event. Only the outermost
    `commit()` commits; leaving the outermost `with` without it rolls everything back.
    """

    ledger = _Repository(LedgerRepository)
    audit = _Repository(LedgerAudit)
    programs = _Repository(ProgramRepository)
    drafts = _Repository(DraftRepository)
    members = _Repository(MemberRepository)
    events = _Repository(EventRepository)
    jobs = _Repository(JobRepository)
    keys = _Repository(KeyRepository)
    statements = _Repository(StatementRepository)
    reports = _Repository(ReportRepository)
    redemptions = _Repository(RedemptionRepository)
    mall = _Repository(MallRepository)
    audit_log = _Repository(AuditRepository)
    console_users = _Repository(ConsoleUserRepository)
    campaigns = _Repository(CampaignRepository)
    batch = _Repository(BatchRepository)
    segments = _Repository(SegmentRepository)
    housekeeping = _Repository(HousekeepingRepository)
    privacy = _Repository(PrivacyRepository)
    portal = _Repository(PortalRepository)
    notifications = _Repository(NotificationRepository)
    console = _Repository(ConsoleRepository)
    accounting = _Repository(AccountingRepository)
    recommendations = _Repository(RecommendationRepository)
    partners = _Repository(PartnerRepository)
    entitlements = _Repository(EntitlementRepository)
    journal = _Repository(JournalRepository)
    books = _Repository(BooksRepository)

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self.depth = 0
        self.built: list[str] = []  # repositories built in this transaction, dropped at its end

    @property
    def connection(self) -> Connection:
        """The open connection (only inside `with`; storage and tests only, not services)."""
        assert self._connection is not None  # noqa: S101 - only inside `with`
        return self._connection

    def analytics(self, zone: ZoneInfo) -> AnalyticsRepository:
        """The ledger rollups and reads over them, with days local to `zone`."""
        return AnalyticsRepository(self.connection, zone)

    def member_analytics(self, zone: ZoneInfo) -> MemberAnalyticsRepository:
        """The member reports, with days local to `zone`."""
        return MemberAnalyticsRepository(self.connection, zone)

    def __enter__(self) -> Self:
        if self.depth == 0:
            self._connection = self.engine.connect()
            self._connection.begin()
        self.depth += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.depth -= 1
        if self.depth:
            return
        try:
            self.connection.rollback()
        finally:
            self.connection.close()
            self._connection = None
            for name in self.built:
                del self.__dict__[name]
            self.built.clear()
        if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in TRANSIENT:
            raise Contended from exc

    def commit(self) -> None:
        """Keep everything done in this unit of work (deferred to the outermost `with`)."""
        if self.depth == 1:
            self.connection.commit()
