"""The unit of work: one database transaction that rolls back unless a use case commits it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine

from jifen.storage.audit_repository import AuditRepository
from jifen.storage.batch_repository import BatchRepository
from jifen.storage.campaign_repository import CampaignRepository
from jifen.storage.console_user_repository import ConsoleUserRepository
from jifen.storage.event_repository import EventRepository
from jifen.storage.job_repository import JobRepository
from jifen.storage.key_repository import KeyRepository
from jifen.storage.ledger_audit import LedgerAudit
from jifen.storage.ledger_repository import LedgerRepository
from jifen.storage.mall_repository import MallRepository
from jifen.storage.member_repository import MemberRepository
from jifen.storage.program_repository import ProgramRepository
from jifen.storage.redemption_repository import RedemptionRepository
from jifen.storage.report_repository import ReportRepository
from jifen.storage.segment_repository import SegmentRepository
from jifen.storage.statement_repository import StatementRepository


class UnitOfWork:
    """A connection and transaction per outermost `with`; `commit()` keeps the work.

    Entering again while open joins the same transaction, so use cases compose: a ledger posting
    made inside an event's unit of work commits or rolls back with the event. Only the outermost
    `commit()` commits; leaving the outermost `with` without it rolls everything back.
    """

    ledger: LedgerRepository
    audit: LedgerAudit
    programs: ProgramRepository
    members: MemberRepository
    events: EventRepository
    jobs: JobRepository
    keys: KeyRepository
    statements: StatementRepository
    reports: ReportRepository
    redemptions: RedemptionRepository
    mall: MallRepository
    audit_log: AuditRepository
    console_users: ConsoleUserRepository
    campaigns: CampaignRepository
    batch: BatchRepository
    segments: SegmentRepository

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        self.depth = 0

    @property
    def connection(self) -> Connection:
        """The open connection (only inside `with`)."""
        assert self._connection is not None  # noqa: S101 - only inside `with`
        return self._connection

    def __enter__(self) -> Self:
        if self.depth == 0:
            self._connection = self.engine.connect()
            self._connection.begin()
            self.ledger = LedgerRepository(self._connection)
            self.audit = LedgerAudit(self._connection)
            self.programs = ProgramRepository(self._connection)
            self.members = MemberRepository(self._connection)
            self.events = EventRepository(self._connection)
            self.jobs = JobRepository(self._connection)
            self.keys = KeyRepository(self._connection)
            self.statements = StatementRepository(self._connection)
            self.reports = ReportRepository(self._connection)
            self.redemptions = RedemptionRepository(self._connection)
            self.mall = MallRepository(self._connection)
            self.audit_log = AuditRepository(self._connection)
            self.console_users = ConsoleUserRepository(self._connection)
            self.campaigns = CampaignRepository(self._connection)
            self.batch = BatchRepository(self._connection)
            self.segments = SegmentRepository(self._connection)
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

    def commit(self) -> None:
        """Keep everything done in this unit of work (deferred to the outermost `with`)."""
        if self.depth == 1:
            self.connection.commit()
