"""What a use case needs from storage: one transaction and every repository, reached through it."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self
from zoneinfo import ZoneInfo

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


class UnitOfWork(Protocol):
    """One transaction: `with uow:` opens it (or joins the open one), `commit()` keeps the work.

    Leaving the outermost `with` without `commit()` rolls everything back; `depth` is how many
    `with`s are open, so a use case can tell whether it owns the transaction. Repositories are
    used only inside `with`.
    """

    depth: int

    ledger: LedgerRepository
    audit: LedgerAudit
    programs: ProgramRepository
    drafts: DraftRepository
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
    housekeeping: HousekeepingRepository
    privacy: PrivacyRepository
    portal: PortalRepository
    notifications: NotificationRepository
    console: ConsoleRepository
    accounting: AccountingRepository
    recommendations: RecommendationRepository
    partners: PartnerRepository
    entitlements: EntitlementRepository
    journal: JournalRepository
    books: BooksRepository

    def analytics(self, zone: ZoneInfo) -> AnalyticsRepository:
        """The ledger rollups and reads over them, with days local to `zone`."""
        ...

    def member_analytics(self, zone: ZoneInfo) -> MemberAnalyticsRepository:
        """The member reports, with days local to `zone`."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Keep everything done in this unit of work (deferred to the outermost `with`)."""
        ...
