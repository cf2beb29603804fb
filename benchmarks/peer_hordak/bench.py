"""The django-hordak side of the peer benchmark; runs in the peer's own virtual environment.

`python bench.py --postings N --members M --batch B --warmup W` with `JIFEN_PEER_DATABASE_URL`
set to a fresh, empty PostgreSQL database: migrates it, checks that hordak's triggers are there
and refuse an unbalanced transaction, opens a source account and M member accounts, then times
N two-leg transactions online (one `transaction.atomic()` per posting, `Account.transfer_to`)
and N in bulk (`bulk_create` of the transactions and of their legs, one atomic per batch of B).
It prints one JSON object on stdout; everything else goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from time import perf_counter
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django
from django.db import DatabaseError, connection, transaction

django.setup()

from django.core.management import call_command  # noqa: E402
from djmoney.money import Money  # noqa: E402
from hordak.models import Account, Leg, Transaction  # noqa: E402

CURRENCY = "CNY"
TRIGGERS = ("check_leg_trigger", "check_leg_and_account_currency_match_trigger")


def _args() -> dict[str, int]:
    names = sys.argv[1::2]
    values = sys.argv[2::2]
    return {name.removeprefix("--"): int(value) for name, value in zip(names, values, strict=True)}


def _points(n: int) -> Money:
    """The points of posting `n`: 10 to 1,009, whole units as Jifen's points are."""
    return Money(Decimal(10 + n % 1000), CURRENCY)


def _triggers() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
            " AND tgrelid = 'hordak_leg'::regclass ORDER BY tgname"
        )
        return [row[0] for row in cursor.fetchall()]


def _refuses_unbalanced(source: Account, member: Account) -> bool:
    """Whether the database itself refuses a transaction whose legs do not sum to zero."""
    try:
        with transaction.atomic():
            posted = Transaction.objects.create(description="unbalanced")
            Leg.objects.create(transaction=posted, account=source, credit=_points(1))
            Leg.objects.create(transaction=posted, account=member, debit=_points(2))
    except DatabaseError:
        return True
    return False


def _accounts(members: int) -> tuple[Account, list[Account]]:
    """A source account (points issued) and one liability account per member (points owed)."""
    source = Account.objects.create(name="Points issued", type=Account.TYPES.expense, code="0")
    owed = [
        Account.objects.create(name=f"Member {m}", type=Account.TYPES.liability, code=f"{m}")
        for m in range(1, members + 1)
    ]
    return source, owed


class Counter:
    """Counts the statements Django sends (used only outside the timed parts)."""

    def __init__(self) -> None:
        self.statements = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements += 1
        return execute(sql, params, many, context)


def online(source: Account, owed: list[Account], first: int, count: int) -> float:
    """`count` postings, each in its own `transaction.atomic()`; the seconds they took."""
    began = perf_counter()
    for n in range(first, first + count):
        with transaction.atomic():
            source.transfer_to(owed[n % len(owed)], _points(n), description=f"credit {n}")
    return perf_counter() - began


def bulk(source: Account, owed: list[Account], first: int, count: int, batch: int) -> float:
    """`count` postings in batches of `batch`, one atomic each; the seconds they took."""
    began = perf_counter()
    for start in range(first, first + count, batch):
        numbers = range(start, min(start + batch, first + count))
        with transaction.atomic():
            posted = Transaction.objects.bulk_create(
                [Transaction(description=f"credit {n}") for n in numbers]
            )
            legs = []
            for n, header in zip(numbers, posted, strict=True):
                points = _points(n)
                legs.append(Leg(transaction=header, account=source, credit=points))
                legs.append(Leg(transaction=header, account=owed[n % len(owed)], debit=points))
            Leg.objects.bulk_create(legs)
    return perf_counter() - began


def main() -> None:
    """Set up, time online and bulk, print the figures as JSON."""
    args = _args()
    postings, members = args["postings"], args["members"]
    batch, warmup = args["batch"], args["warmup"]
    began = perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_seconds = perf_counter() - began
    source, owed = _accounts(members)
    refuses = _refuses_unbalanced(source, owed[0])

    counter = Counter()
    with connection.execute_wrapper(counter):  # warm-up, untimed: statements per posting
        online(source, owed, 0, warmup)
    online_statements = counter.statements / max(warmup, 1)
    counter.statements = 0
    with connection.execute_wrapper(counter):
        bulk(source, owed, warmup, batch, batch)
    bulk_statements = counter.statements
    done = warmup + batch

    online_seconds = online(source, owed, done, postings)
    bulk_seconds = bulk(source, owed, done + postings, postings, batch)
    expected = done + 2 * postings
    figures = {
        "django": django.get_version(),
        "hordak": _version("django-hordak"),
        "psycopg": _version("psycopg"),
        "triggers": _triggers(),
        "refuses_unbalanced": refuses,
        "migrate_seconds": migrate_seconds,
        "postings": postings,
        "members": members,
        "batch": batch,
        "online_seconds": online_seconds,
        "bulk_seconds": bulk_seconds,
        "online_statements_per_posting": online_statements,
        "bulk_statements_per_batch": bulk_statements,
        "transactions": Transaction.objects.count(),
        "legs": Leg.objects.count(),
        "expected_transactions": expected,
    }
    print(json.dumps(figures))


def _version(package: str) -> str:
    from importlib.metadata import version  # noqa: PLC0415 - only for the report

    return version(package)


if __name__ == "__main__":
    main()
