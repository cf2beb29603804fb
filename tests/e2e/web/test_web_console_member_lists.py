"""The console member page's entitlements and paged lists, and the paged approval queue.

On both databases; the scene is `Floor`'s (members enrolled on 2025-03-01, the clock at
2025-03-10 noon).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine

from jifen.domain.calendar import period_end
from jifen.domain.tiers import TierChangeReason, TierDecision, TierState
from jifen.programs.loader import load_preset
from jifen.services.entitlements import issue_due, use_entitlement
from jifen.storage.uow import SqlUnitOfWork
from jifen.web.console import members as member_pages
from tests.e2e.web import test_web_console_members as scene
from tests.e2e.web.test_web_console_members import NOW, Floor

floor = scene.floor  # the fixtures, shared with the member page tests
DAY = date(2025, 3, 10)


def upgrade(engine: Engine, member: int) -> int:
    """Move the member to 三星 on DAY and run the day's entitlement step; the lounge visits' id."""
    uow = SqlUnitOfWork(engine)
    with uow:
        old = uow.members.get(member).tier  # type: ignore[union-attr]
        new = TierState("star3", period_end(DAY, 12))
        uow.members.apply_tier(TierDecision(member, old, new, TierChangeReason.UPGRADE, 0, DAY))
        uow.commit()
    issue_due(uow, load_preset("railway"), DAY, lambda _s, _n: None)
    with uow:
        [lounge] = [e for e in uow.entitlements.of_member(member) if e.code == "lounge_visit"]
    return lounge.id


def entitlement_row(html: str, code: str) -> dict[str, str]:
    match = re.search(rf'data-entitlement="{code}".*?</tr>', html, re.DOTALL)
    assert match, f"no {code} entitlement"
    return dict(re.findall(r"data-(issued|used|left)>([^<]*)<", match.group(0)))


def test_the_member_page_shows_entitlements_issued_used_and_left(
    floor: Floor, engine: Engine
) -> None:
    member, _ = floor.enrol(901)
    lounge = upgrade(engine, member)
    at = datetime(2025, 3, 10, 2, tzinfo=UTC)
    use_entitlement(
        SqlUnitOfWork(engine),
        program=load_preset("railway"),
        entitlement_id=lounge,
        use_id="visit-1",
        at=at,
        location="Beijing South",
        actor="test",
        now=at,
    )
    floor.clock(NOW)
    html = floor.console.get(f"/console/members/{member}").text
    assert entitlement_row(html, "lounge_visit") == {"issued": "2", "used": "1", "left": "1"}
    assert "贵宾室" in html
    assert "2026年3月" in html  # valid to the end of the tier period, 12 months on
    english = floor.console.get(f"/console/members/{member}?lang=en").text
    assert "Entitlements" in english
    assert "Lounge visit" in english
    assert "usable" in english


def test_a_member_without_entitlements_says_so(floor: Floor) -> None:
    member, _ = floor.enrol(902)
    assert "尚未发放权益" in floor.console.get(f"/console/members/{member}").text


def test_the_adjustments_list_pages_without_repeating_a_row(
    floor: Floor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(member_pages, "LIST_PAGE", 2)
    member, _ = floor.enrol(903)
    for n in range(5):
        floor.adjust(member, 10 + n, reason=f"reason {n}")
    seen: list[str] = []
    url = f"/console/members/{member}"
    for _page in range(3):
        html = floor.console.get(url).text
        start = html.index('id="adjustments"')
        section = html[start : html.index("</section>", start)]
        seen += re.findall(r"<td>(reason \d)</td>", section)
        more = re.search(r'href="([^"]+)" data-more="adjustments"', html)
        if more is None:
            break
        url = more.group(1).replace("&amp;", "&")
    assert len(seen) == 5  # made at the same moment, so in no set order, but each once
    assert sorted(seen) == [f"reason {n}" for n in range(5)]


def test_a_cursor_from_elsewhere_shows_the_first_pages(floor: Floor) -> None:
    member, _ = floor.enrol(904)
    floor.adjust(member, 10, reason="only one")
    page = floor.console.get(f"/console/members/{member}", params={"orders": "not-a-cursor"})
    assert page.status_code == 200
    assert "only one" in page.text


def test_the_approval_queue_pages(floor: Floor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(member_pages, "QUEUE_PAGE", 2)
    member, _ = floor.enrol(905)
    for n in range(3):
        floor.adjust(member, 20_000 + n, reason=f"large {n}")  # over 10,000: waits for approval
    first = floor.console.get("/console/members").text
    shown = re.findall(r"<td>(large \d)</td>", first)
    assert len(shown) == 2
    more = re.search(r'href="([^"]+)" data-more="queue"', first)
    assert more
    second = floor.console.get(more.group(1).replace("&amp;", "&")).text
    shown += re.findall(r"<td>(large \d)</td>", second)
    assert sorted(shown) == ["large 0", "large 1", "large 2"]
    assert 'data-more="queue"' not in second
    wrong = floor.console.get("/console/members", params={"queue": "nonsense"})
    assert wrong.status_code == 200
    assert re.findall(r"<td>(large \d)</td>", wrong.text) == shown[:2]
