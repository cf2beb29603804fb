"""An in-memory unit of work for service tests: the staged ledger with every row held in memory.

`FakeUnitOfWork` is the bulk path's `StagedUnitOfWork` (`storage/staged.py`) with nothing left
to load: the ledger is the door's own in-memory storage (`StagedLedger`), and the members,
events, statements, redemptions and mall are small dictionaries. Every write goes through the
staged undo log, so the fake keeps the real unit of work's promise: nothing survives leaving the
outermost `with` unless a use case called `commit()` inside it. Each repository implements only
what the core use cases call (earning, spending, redemption, a mall order), and behaves as its
SQL twin does there: ids and keys are unique, lots come back in the order credited (the domain
spends oldest expiry first, not the fake), a missing member is `NotFound` when its balance is
locked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from jifen.domain.ledger import Lot
from jifen.programs.schema import Program
from jifen.storage.ledger_repository import Balance, StoredTransaction
from jifen.storage.mall_repository import Coupon, MallOrder, MallRowTaken, Product, StockHold
from jifen.storage.member_repository import MemberRecord
from jifen.storage.program_repository import RedemptionUnlock
from jifen.storage.redemption_repository import (
    BeneficiaryRecord,
    RedemptionRecord,
    RedemptionTaken,
    StoredAction,
)
from jifen.storage.staged import (
    ID_TABLES,
    Loaded,
    Staged,
    StagedLedger,
    StagedMembers,
    StagedStatements,
    StagedUnitOfWork,
)

LIVE_ORDER_STATUSES = ("paid", "fulfilled")


class _Everything(frozenset[Any]):
    """The keys the fake "loaded": all of them, so a row it lacks is a row that does not exist."""

    def __contains__(self, key: object) -> bool:
        return True


class FakeLedger(StagedLedger):
    """The door's in-memory storage, also answering the reads a live posting makes.

    Lots are the rows the staged writes opened (`reserved.lots`) with their remainders as the
    postings moved them (`staged.lots`); transactions are the staged headers with their entries.
    """

    def members_known(self, member_ids: Sequence[int]) -> set[int]:
        return {m for m in member_ids if m in self.loaded.members}

    def _lot(self, row: dict[str, Any]) -> Lot:
        remaining, _original = self.staged.lots[row["id"]]
        fields = ("member_id", "kind", "credited_on", "expires_on", "original")
        return Lot(row["id"], *(row[f] for f in fields), remaining)

    def lots_of(self, member_id: int) -> list[Lot]:
        """Every lot of a member, oldest first (as the repository orders them)."""
        return [self._lot(r) for r in self.staged.reserved.lots if r["member_id"] == member_id]

    def open_lots(self, member_id: int, kind: str) -> list[Lot]:
        # In the order credited, as a table scan would give them: the domain orders the spend.
        lots = self.lots_of(member_id)
        return [lot for lot in lots if lot.kind == kind and lot.remaining > 0]

    def lots_by_id(self, lot_ids: Sequence[int]) -> dict[int, Lot]:
        wanted = set(lot_ids)
        return {r["id"]: self._lot(r) for r in self.staged.reserved.lots if r["id"] in wanted}

    def get_lot(self, lot_id: int) -> Lot | None:
        return self.lots_by_id([lot_id]).get(lot_id)

    def get_transaction(self, transaction_id: int) -> StoredTransaction | None:
        for header in self.staged.reserved.headers:
            if header["id"] == transaction_id:
                return self.find_by_key(header["idempotency_key"])
        return None

    def is_reversed(self, transaction_id: int) -> bool:
        return any(h["reverses_id"] == transaction_id for h in self.staged.reserved.headers)

    def balances_of(self, member_id: int) -> list[Balance]:
        found = [b for (m, _k), b in self.loaded.balances.items() if m == member_id]
        return sorted(found, key=lambda b: b.kind)


class FakeStatements(StagedStatements):
    """The day a member's redemption opened, and the unlocking the door does."""

    def unlocked_on(self, member_id: int) -> date | None:
        return self.loaded.unlocked_on.get(member_id)


class FakeMembers(StagedMembers):
    """Members by id or identity hash; an operator can change one's status."""

    def __init__(self, staged: Staged) -> None:
        super().__init__(staged)
        self.staged = staged

    def set_status(self, member_id: int, status: str) -> None:
        """Freeze, close or reactivate a member (an operator's doing, not a use case tested)."""
        member = replace(self.loaded.members[member_id], status=status)
        self.staged.put(self.loaded.members, member_id, member)


class FakePrograms:
    """The active program: here, only its redemption threshold."""

    def __init__(self, program: Program) -> None:
        spendable = frozenset(k.code for k in program.point_kinds if k.spendable)
        self.unlock = RedemptionUnlock(program.redemption.eligibility_threshold, spendable)

    def redemption_unlock(self) -> RedemptionUnlock | None:
        return self.unlock


class FakeCampaigns:
    """No campaign is running."""

    def running_at(self, moment: datetime) -> list[tuple[str, str]]:
        return []


class FakeSegments:
    """No member is in a segment."""

    def names(self, member_id: int) -> frozenset[str]:
        return frozenset()


class FakeRedemptions:
    """Redemptions, their idempotent steps, and beneficiaries, keyed as their tables are."""

    def __init__(self, staged: Staged) -> None:
        self.staged = staged
        self.redemptions: dict[str, RedemptionRecord] = {}
        self.actions: dict[str, StoredAction] = {}
        self.beneficiaries: dict[int, BeneficiaryRecord] = {}

    def add(self, record: RedemptionRecord) -> None:
        if record.id in self.redemptions:
            raise RedemptionTaken(record.id)
        self.staged.put(self.redemptions, record.id, record)

    def get(self, redemption_id: str, *, lock: bool = False) -> RedemptionRecord | None:
        return self.redemptions.get(redemption_id)

    def update(self, redemption_id: str, **values: Any) -> None:
        record = self.redemptions[redemption_id]
        self.staged.put(self.redemptions, redemption_id, replace(record, **values))

    def started_between(self, member_id: int, *, since: datetime, until: datetime) -> int:
        return sum(
            1
            for r in self.redemptions.values()
            if r.member_id == member_id and since <= r.created_at < until
        )

    def action(self, action_id: str) -> StoredAction | None:
        return self.actions.get(action_id)

    def actions_of(self, redemption_id: str) -> list[StoredAction]:
        mine = [a for a in self.actions.values() if a.redemption_id == redemption_id]
        return sorted(mine, key=lambda a: (a.at, a.id))

    def add_action(self, action: StoredAction) -> None:
        if action.id in self.actions:
            raise RedemptionTaken(action.id)
        self.staged.put(self.actions, action.id, action)

    def beneficiary(self, beneficiary_id: int) -> BeneficiaryRecord | None:
        return self.beneficiaries.get(beneficiary_id)


class FakeMall:
    """Products, stock holds, orders and coupons; a product's stock never goes below zero."""

    def __init__(self, staged: Staged) -> None:
        self.staged = staged
        self.products: dict[str, Product] = {}
        self.holds: dict[str, StockHold | None] = {}  # None: the row was deleted
        self.orders: dict[str, MallOrder] = {}
        self.coupons: dict[str, Coupon] = {}

    def get_product(self, sku: str) -> Product | None:
        return self.products.get(sku)

    def put_product(self, product: Product) -> None:
        self.staged.put(self.products, product.sku, product)

    def take_stock(self, sku: str, quantity: int) -> bool:
        product = self.products.get(sku)
        if product is None or product.stock < quantity:
            return False
        self.put_product(replace(product, stock=product.stock - quantity))
        return True

    def return_stock(self, sku: str, quantity: int) -> None:
        product = self.products[sku]
        self.put_product(replace(product, stock=product.stock + quantity))

    def hold_stock(self, hold: StockHold) -> bool:
        if self.holds.get(hold.order_id) is not None:
            raise MallRowTaken("stock_holds")
        if not self.take_stock(hold.sku, hold.quantity):
            return False
        self.staged.put(self.holds, hold.order_id, hold)
        return True

    def get_hold(self, order_id: str, *, lock: bool = False) -> StockHold | None:
        return self.holds.get(order_id)

    def delete_hold(self, order_id: str) -> None:
        if self.holds.get(order_id) is not None:
            self.staged.put(self.holds, order_id, None)

    def release_hold(self, hold: StockHold) -> None:
        self.return_stock(hold.sku, hold.quantity)
        self.delete_hold(hold.order_id)

    def get_order(self, order_id: str, *, lock: bool = False) -> MallOrder | None:
        return self.orders.get(order_id)

    def units_bought(self, member_id: int, sku: str) -> int:
        return sum(
            o.quantity
            for o in self.orders.values()
            if o.member_id == member_id and o.sku == sku and o.status in LIVE_ORDER_STATUSES
        )

    def insert_order(self, order: MallOrder) -> None:
        if order.id in self.orders:
            raise MallRowTaken("mall_orders")
        self.staged.put(self.orders, order.id, order)

    def update_order(
        self, order_id: str, *, status: str, fulfilment: dict[str, Any], at: datetime
    ) -> None:
        order = replace(self.orders[order_id], status=status, fulfilment=fulfilment, updated_at=at)
        self.staged.put(self.orders, order_id, order)

    def taken_codes(self, codes: list[str]) -> set[str]:
        return {c for c in codes if c in self.coupons}

    def insert_coupons(self, issued: list[Coupon]) -> None:
        for coupon in issued:
            if coupon.code in self.coupons:
                raise MallRowTaken("coupons")
            self.staged.put(self.coupons, coupon.code, coupon)

    def coupons_of(self, member_id: int, *, source: str | None = None) -> list[Coupon]:
        mine = [
            c
            for c in self.coupons.values()
            if c.member_id == member_id and (source is None or c.source == source)
        ]
        mine.sort(key=lambda c: c.code)
        return sorted(mine, key=lambda c: c.issued_at, reverse=True)


def _empty() -> Loaded:
    return Loaded(
        events={},
        tickets={},
        members={},
        member_by_hash={},
        unlocked_on={},
        balances={},
        pending={},
        earnings={},
        earnings_since=date.min,
        campaign_windows=[],
        asked_events=_Everything(),
        asked_tickets=_Everything(),
        asked_members=_Everything(),
        asked_hashes=_Everything(),
    )


class FakeUnitOfWork(StagedUnitOfWork):
    """The unit of work of the core use cases, in memory; `commits` counts outermost commits.

    As `storage.uow.SqlUnitOfWork`: entering again joins the open transaction, only the outermost
    `commit()` keeps the work, and leaving the outermost `with` without it undoes everything.
    """

    def __init__(self, program: Program) -> None:
        ids = {table: deque(range(1, 100_000)) for table in ID_TABLES}
        super().__init__(Staged(_empty(), ids))
        self.ledger = FakeLedger(self.staged)
        self.statements = FakeStatements(self.staged)
        self.members = FakeMembers(self.staged)
        self.programs = FakePrograms(program)  # type: ignore[assignment]
        self.campaigns = FakeCampaigns()  # type: ignore[assignment]
        self.segments = FakeSegments()  # type: ignore[assignment]
        self.redemptions = FakeRedemptions(self.staged)
        self.mall = FakeMall(self.staged)
        self.commits = 0

    def commit(self) -> None:
        if self.depth == 1:
            self.commits += 1
        super().commit()

    def add_member(
        self,
        *,
        joined_at: datetime,
        birth_date: date = date(1990, 3, 7),
        id_type: str = "resident_id",
        id_hash: str | None = None,
        status: str = "active",
    ) -> int:
        """A member as enrolment leaves one (no tier, redemption locked); returns the id."""
        loaded = self.staged.loaded
        member_id = len(loaded.members) + 1
        loaded.members[member_id] = MemberRecord(
            member_id, status, joined_at, "张三", id_type, None, None, birth_date, None
        )
        loaded.unlocked_on[member_id] = None
        if id_hash is not None:
            loaded.member_by_hash[id_hash] = member_id
        return member_id
