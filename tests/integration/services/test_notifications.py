"""The notification outbox and webhook deliveries, on SQLite and PostgreSQL (SPEC §8)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select

from jifen.domain.errors import InvalidRequest, NotFound
from jifen.domain.webhooks import RetryPolicy, backoff, verify_signature
from jifen.programs.schema import Program
from jifen.services import ledger, mall, notifications
from jifen.services.beneficiaries import add_beneficiary
from jifen.services.daily import run_daily
from jifen.storage.crypto import IdentityVault
from jifen.storage.mall_repository import Product
from jifen.storage.notification_repository import NotificationRepository
from jifen.storage.tables import job_runs, webhook_endpoints
from jifen.storage.tables import notifications as notifications_table
from jifen.storage.uow import SqlUnitOfWork
from tests.conftest import SHANGHAI, T0, resident_id

DAY = date(2025, 3, 20)
"""The scenario's day: the tier upgrade, the reminder, the beneficiary and the shipment."""
NOW = datetime(2025, 3, 20, 12, tzinfo=UTC)
ALL_TOPICS = ["points.expiring", "tier.changed", "beneficiary.effective", "order.shipped"]


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def scenario(uow: SqlUnitOfWork, *, program: Program, vault: IdentityVault, member: int) -> None:
    """Set up one change of each topic for `DAY`, ship the order, then run the daily job."""
    ledger.credit(  # 60,000 upgrade points the day before: 2★ → 3★ on DAY
        uow,
        key="up",
        member_id=member,
        kind="upgrade",
        points=60_000,
        occurred_at=at(DAY - timedelta(days=1)),
        expires_on=None,
    )
    ledger.credit(  # 20,000 activity points expiring 20 days after DAY: a reminder on DAY
        uow,
        key="act",
        member_id=member,
        kind="activity",
        points=20_000,
        occurred_at=T0,
        expires_on=DAY + timedelta(days=20),
    )
    add_beneficiary(  # named 60 days before DAY: effective on DAY
        uow,
        program=program,
        vault=vault,
        member_id=member,
        request_id="b1",
        name="李四",
        id_type="resident_id",
        id_number=resident_id(date(1992, 5, 1), 555),
        birth_date=None,
        now=at(DAY - timedelta(days=60)),
    )
    product = Product("MUG", "Mug", "goods", 1_000, 0, 10, None, None, None, None, True)
    mall.define_product(uow, product=product)
    mall.place_order(  # paid from the activity lot: 19,000 left to expire
        uow,
        program=program,
        warehouse=mall.InProcessWarehouse(),
        order_id="o1",
        member_id=member,
        sku="MUG",
        quantity=1,
        now=at(DAY - timedelta(days=2)),
    )
    mall.record_warehouse_report(
        uow, program=program, order_id="o1", status="shipped", tracking="SF1001", now=at(DAY, 8)
    )
    run_daily(uow, program=program, as_of=DAY)


def outbox(uow: SqlUnitOfWork) -> dict[str, dict[str, Any]]:
    """The outbox by topic: `{topic: payload}` (each topic holds one row in these tests)."""
    with uow:
        rows = uow.connection.execute(
            select(notifications_table.c.topic, notifications_table.c.payload)
        ).all()
    assert len(rows) == len({topic for topic, _ in rows})
    return dict(rows)  # type: ignore[arg-type]


def test_each_change_writes_one_notification_and_reruns_add_nothing(
    uow, railway, vault, enrol_member
):
    member = enrol_member(joined_at=T0)
    scenario(uow, program=railway, vault=vault, member=member)

    assert outbox(uow) == {
        "tier.changed": {
            "member_id": member,
            "old_tier": "star2",
            "new_tier": "star3",
            "valid_until": "2026-03-19",
            "in_grace": False,
            "reason": "upgrade",
            "qualifying_points": 60_000,
            "decided_on": "2025-03-20",
        },
        "entitlement.issued": {  # the 3★ tier's lounge visits, until the tier's last day
            "member_id": member,
            "entitlement_id": 1,
            "code": "lounge_visit",
            "tier": "star3",
            "quantity": 2,
            "issued_on": "2025-03-20",
            "valid_until": "2026-03-19",
        },
        "points.expiring": {
            "member_id": member,
            "kind": "activity",
            "points": 19_000,
            "expires_on": "2025-04-09",
        },
        "beneficiary.effective": {
            "member_id": member,
            "beneficiary_id": 1,
            "name": "李四",
            "effective_from": "2025-03-20",
        },
        "order.shipped": {
            "member_id": member,
            "order_id": "o1",
            "sku": "MUG",
            "quantity": 1,
            "tracking": "SF1001",
            "shipped_at": "2025-03-20T08:00:00+08:00",
        },
    }
    before = outbox(uow)

    # A crash after the steps committed but before they were recorded: the whole day runs again.
    with uow:
        uow.connection.execute(delete(job_runs))
        uow.commit()
    assert run_daily(uow, program=railway, as_of=DAY).skipped == ()
    mall.record_warehouse_report(
        uow, program=railway, order_id="o1", status="shipped", tracking="SF1002", now=NOW
    )
    assert outbox(uow) == before


def test_a_refused_change_leaves_no_notification(uow, railway, enrol_member):
    member = enrol_member()
    ledger.credit(
        uow,
        key="act",
        member_id=member,
        kind="activity",
        points=5_000,
        occurred_at=T0,
        expires_on=None,
    )
    product = Product("MUG", "Mug", "goods", 1_000, 0, 10, None, None, None, None, True)
    mall.define_product(uow, product=product)
    placed = at(DAY - timedelta(days=2))
    mall.place_order(
        uow,
        program=railway,
        warehouse=mall.InProcessWarehouse(),
        order_id="o1",
        member_id=member,
        sku="MUG",
        quantity=1,
        now=placed,
    )
    mall.cancel_order(uow, program=railway, order_id="o1", cancel_id="c1", now=placed)
    with pytest.raises(mall.OrderCancelled):
        mall.record_warehouse_report(
            uow, program=railway, order_id="o1", status="shipped", tracking="SF1", now=NOW
        )
    with pytest.raises(NotFound):
        mall.record_warehouse_report(
            uow, program=railway, order_id="o2", status="shipped", tracking=None, now=NOW
        )
    assert outbox(uow) == {}


@dataclass
class Receiver:
    """A fake sender: answers with scripted statuses (or raises), then 200, and keeps each call."""

    answers: list[int | Exception]
    calls: list[tuple[str, dict[str, Any], dict[str, str], bytes]]

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.calls.append((url, json.loads(body), dict(headers), body))
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, Exception):
            raise answer
        return answer


def receiver(*answers: int | Exception) -> Receiver:
    return Receiver(list(answers), [])


def seed(uow: SqlUnitOfWork, n: int, topic: str = "order.shipped") -> None:
    """Put `n` notifications of `topic` in the outbox."""
    with uow:
        NotificationRepository(uow.connection).add_notifications(
            [
                {
                    "topic": topic,
                    "dedupe_key": f"{topic}:{k}",
                    "payload": {"k": k},
                    "occurred_at": NOW - timedelta(hours=1),
                }
                for k in range(n)
            ]
        )
        uow.commit()


def endpoint(uow, vault, url: str = "http://receiver.test/hook", topics=ALL_TOPICS) -> Any:
    return notifications.add_endpoint(
        uow, vault=vault, url=url, topics=topics, description=None, now=NOW, actor="test"
    )


def test_deliveries_go_only_to_endpoints_that_take_the_topic(uow, vault):
    shipping = endpoint(uow, vault, "http://a.test/h", ["order.shipped"])
    tiers = endpoint(uow, vault, "http://b.test/h", ["tier.changed"])
    seed(uow, 2, "order.shipped")
    seed(uow, 1, "tier.changed")
    send = receiver()
    report = notifications.deliver_due(uow, vault=vault, now=NOW, send=send)
    assert (report.fanned_out, report.delivered, report.retrying, report.dead) == (3, 3, 0, 0)
    sent = sorted((url, body["topic"], body["data"]["k"]) for url, body, _h, _b in send.calls)
    assert sent == [
        ("http://a.test/h", "order.shipped", 0),
        ("http://a.test/h", "order.shipped", 1),
        ("http://b.test/h", "tier.changed", 0),
    ]
    assert shipping.endpoint.topics == ("order.shipped",)
    assert tiers.endpoint.topics == ("tier.changed",)
    again = notifications.deliver_due(uow, vault=vault, now=NOW + timedelta(days=1), send=send)
    assert (again.fanned_out, again.delivered) == (0, 0)
    assert len(send.calls) == 3


def test_the_secret_is_stored_encrypted_and_signs_every_delivery(uow, vault):
    new = endpoint(uow, vault)
    assert new.secret.startswith("whsec_")
    with uow:
        stored = uow.connection.execute(select(webhook_endpoints.c.secret_enc)).scalar_one()
    assert new.secret not in stored
    assert vault.decrypt(stored) == new.secret
    seed(uow, 1)
    send = receiver()
    notifications.deliver_due(uow, vault=vault, now=NOW, send=send)
    [(_url, body, headers, raw)] = send.calls
    assert headers["X-Jifen-Event"] == "order.shipped"
    assert headers["X-Jifen-Delivery"] == str(body["id"])
    assert headers["X-Jifen-Timestamp"] == str(int(NOW.timestamp()))
    signed = headers["X-Jifen-Timestamp"], raw, headers["X-Jifen-Signature"]
    assert verify_signature(new.secret, *signed, NOW)
    assert not verify_signature("whsec_wrong", *signed, NOW)


def test_a_failure_is_retried_on_the_backoff_schedule_until_accepted(uow, vault):
    endpoint(uow, vault)
    seed(uow, 1)
    send = receiver(500, ConnectionResetError("reset by peer"), 204)
    policy = RetryPolicy(max_attempts=5)

    first = notifications.deliver_due(uow, vault=vault, now=NOW, send=send, policy=policy)
    assert (first.delivered, first.retrying) == (0, 1)
    [pending] = notifications.deliveries(uow)
    retry_at = NOW + backoff(policy, delivery_id=pending.id, attempt=1)  # 15 to 30 s later
    assert (pending.status, pending.attempts, pending.last_status) == ("pending", 1, 500)
    assert pending.next_attempt_at == retry_at
    assert timedelta(seconds=15) <= retry_at - NOW <= timedelta(seconds=30)

    early = retry_at - timedelta(seconds=1)
    assert notifications.deliver_due(uow, vault=vault, now=early, send=send, policy=policy) == (
        notifications.DeliveryReport()
    )
    second = notifications.deliver_due(uow, vault=vault, now=retry_at, send=send, policy=policy)
    assert second.retrying == 1
    [pending] = notifications.deliveries(uow)
    assert (pending.attempts, pending.last_status) == (2, None)
    assert pending.last_error == "ConnectionResetError: reset by peer"
    assert pending.next_attempt_at == retry_at + backoff(policy, delivery_id=pending.id, attempt=2)

    third = notifications.deliver_due(
        uow, vault=vault, now=pending.next_attempt_at, send=send, policy=policy
    )
    assert third.delivered == 1
    [done] = notifications.deliveries(uow)
    assert (done.status, done.attempts, done.last_status, done.last_error) == (
        "delivered",
        3,
        204,
        None,
    )
    assert len({headers["X-Jifen-Delivery"] for _u, _b, headers, _r in send.calls}) == 1


def test_a_delivery_is_dead_after_the_last_try_and_replay_sends_it_again(uow, vault):
    hook = endpoint(uow, vault)
    seed(uow, 2)
    send = receiver(*[503] * 4)
    policy = RetryPolicy(max_attempts=2)
    now = NOW
    for _ in range(2):
        notifications.deliver_due(uow, vault=vault, now=now, send=send, policy=policy)
        now += timedelta(hours=1)
    dead = notifications.deliveries(uow, status="dead")
    assert [(d.attempts, d.last_status) for d in dead] == [(2, 503), (2, 503)]
    assert notifications.deliver_due(uow, vault=vault, now=now, send=send, policy=policy).dead == 0

    assert notifications.replay(uow, now=now, actor="test", delivery_id=dead[0].id) == 1
    with pytest.raises(notifications.DeliveryNotDead):
        notifications.replay(uow, now=now, actor="test", delivery_id=dead[0].id)
    with pytest.raises(NotFound):
        notifications.replay(uow, now=now, actor="test", delivery_id=999)
    assert notifications.deliver_due(uow, vault=vault, now=now, send=send, policy=policy).delivered
    replayed = notifications.replay(uow, now=now, actor="test", endpoint_id=hook.endpoint.id)
    assert replayed == 1
    assert notifications.deliver_due(uow, vault=vault, now=now, send=send, policy=policy).delivered
    assert [d.status for d in notifications.deliveries(uow)] == ["delivered", "delivered"]
    assert len(send.calls) == 6  # 2 × 2 failed tries, then one each after replay


def test_bad_endpoints_are_refused_and_nothing_is_stored(engine: Engine, uow, vault):
    endpoint(uow, vault)
    with pytest.raises(notifications.EndpointExists):
        endpoint(uow, vault)
    with pytest.raises(notifications.UnknownTopic):
        endpoint(uow, vault, "http://c.test/h", ["points.expiring", "member.deleted"])
    with pytest.raises(notifications.UnknownTopic):
        endpoint(uow, vault, "http://c.test/h", [])
    bad = ("ftp://c.test/h", "/relative", "http:///nohost", "http://[::1/h", "http://c.test/a b")
    for url in (*bad, "http://c.test/\x00", "http://c.test/" + "x" * 2000):
        with pytest.raises(InvalidRequest):
            endpoint(uow, vault, url)
    assert [e.url for e in notifications.list_endpoints(uow)] == ["http://receiver.test/hook"]


@pytest.mark.postgres_only
def test_two_dispatchers_never_send_the_same_delivery(engine: Engine, vault):
    uow = SqlUnitOfWork(engine)
    endpoint(uow, vault)
    seed(uow, 60)
    notifications.fan_out(uow, now=NOW)
    sent: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def send(_url: str, _body: bytes, headers: Mapping[str, str]) -> int:
        with lock:
            sent.append(headers["X-Jifen-Delivery"])
        return 200

    def dispatch() -> None:
        start.wait()
        notifications.deliver_due(SqlUnitOfWork(engine), vault=vault, now=NOW, send=send, batch=5)

    threads = [threading.Thread(target=dispatch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 60
    assert len(set(sent)) == 60
    assert {d.status for d in notifications.deliveries(uow, limit=100)} == {"delivered"}
