"""The pure accounting maths: rounding, apportioning, breakage estimates and journal days."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from jifen.domain.accounting import (
    BREAKAGE_IN_ADVANCE,
    BREAKAGE_REVENUE,
    CLOSED_COHORTS,
    CONTRACT_LIABILITY,
    HISTORY_TO_DATE,
    NO_HISTORY,
    REVENUE,
    Carry,
    Cohort,
    DayFigures,
    apportion,
    breakage_exact,
    estimate_breakage,
    flow_of,
    journal_day,
    measure_liability,
    rate_bps,
    round_half_up,
)

D1 = date(2025, 1, 6)


def day(flows: dict[str, int], *, opening: int = 0, bps: int = 2000, opening_bps: int = 2000):
    return DayFigures(D1, flows, opening, opening_bps, bps)


def pairs(journal_day_) -> list[tuple[str, str, int]]:
    return [(li.debit.code, li.credit.code, li.amount_fen) for li in journal_day_.lines]


class TestRounding:
    def test_rounds_halves_up_including_negatives(self) -> None:
        assert [round_half_up(Fraction(n, 2)) for n in (-3, -1, 1, 3, 5)] == [-1, 0, 1, 2, 3]

    def test_rate_in_basis_points_half_up(self) -> None:
        assert rate_bps(1500, 10500) == 1429  # 14.2857…%
        assert rate_bps(1, 20000) == 1  # 0.5 bp rounds up
        assert rate_bps(5, 0) == 0
        assert (rate_bps(7, 5), rate_bps(-1, 5)) == (10_000, 0)  # refunds can skew a cohort

    def test_apportion_keeps_the_total_and_follows_largest_remainders(self) -> None:
        parts = [Fraction(1, 3)] * 3
        assert apportion(1, parts) == [1, 0, 0]
        assert sum(apportion(7, [Fraction(10, 3), Fraction(10, 3), Fraction(1, 3)])) == 7

    def test_apportion_rounds_signed_parts_by_their_remainders(self) -> None:
        # floors 1 and -2; the one unit left goes to -5/4 (remainder 3/4 beats 1/2)
        assert apportion(0, [Fraction(3, 2), Fraction(-5, 4)]) == [1, -1]
        assert apportion(-1, [Fraction(1, 2), Fraction(1, 2)]) == [0, -1]

    def test_carry_never_drifts_from_the_rounded_exact_total(self) -> None:
        carry = Carry()
        shares = [carry.add(Fraction(1, 3)) for _ in range(10)]
        assert shares == [0, 1, 0, 0, 1, 0, 0, 1, 0, 0]  # running totals 1/3 … 10/3, rounded
        assert sum(shares) == round_half_up(Fraction(10, 3))


class TestLiability:
    def test_values_points_at_redemption_value_less_expected_breakage(self) -> None:
        figures = measure_liability(12_345, points_per_yuan=100, bps=2000)
        assert (figures.value_fen, figures.liability_fen, figures.expected_breakage_fen) == (
            12_345,
            9_876,  # 12,345 × 0.8 = 9,876
            2_469,
        )

    def test_points_worth_less_than_a_fen_are_valued_exactly_then_rounded(self) -> None:
        figures = measure_liability(1_001, points_per_yuan=200, bps=0)
        assert figures.value_fen == 501  # 500.5 fen rounds up


class TestFlows:
    def test_names_the_flow_behind_each_system_account(self) -> None:
        assert [
            flow_of(a)
            for a in (
                "program:issued",
                "member:pending",
                "partner:hotel",
                "program:redeemed",
                "charity:cfpa",
                "program:expired",
                "program:forfeited",
                "program:adjusted",
            )
        ] == [
            "issued",
            "issued",
            "issued",
            "redeemed",
            "redeemed",
            "expired",
            "forfeited",
            "adjusted",
        ]


class TestJournalDay:
    def test_issuing_defers_revenue_at_the_price_net_of_breakage(self) -> None:
        result = journal_day(day({"issued": 1000}), points_per_yuan=100, breakage_fen=0)
        assert pairs(result) == [(REVENUE.code, CONTRACT_LIABILITY.code, 800)]
        assert (result.opening_liability_fen, result.closing_liability_fen) == (0, 800)

    def test_redeeming_releases_the_liability_and_recognises_proportional_breakage(
        self,
    ) -> None:
        breakage = round_half_up(breakage_exact(300, points_per_yuan=100, bps=2000))
        result = journal_day(
            day({"redeemed": 300}, opening=1000), points_per_yuan=100, breakage_fen=breakage
        )
        assert pairs(result) == [
            (CONTRACT_LIABILITY.code, REVENUE.code, 240),
            (BREAKAGE_IN_ADVANCE.code, BREAKAGE_REVENUE.code, 60),
        ]
        assert result.closing_liability_fen == 560

    def test_expiry_clears_breakage_recognised_in_advance(self) -> None:
        result = journal_day(
            day({"expired": 200}, opening=700), points_per_yuan=100, breakage_fen=0
        )
        assert pairs(result) == [(CONTRACT_LIABILITY.code, BREAKAGE_IN_ADVANCE.code, 160)]

    def test_without_expected_breakage_a_lapse_is_revenue_when_it_happens(self) -> None:
        figures = day({"expired": 200}, opening=700, bps=0, opening_bps=0)
        result = journal_day(figures, points_per_yuan=100, breakage_fen=0)
        assert pairs(result) == [(CONTRACT_LIABILITY.code, BREAKAGE_REVENUE.code, 200)]

    def test_a_new_estimate_remeasures_what_members_already_hold(self) -> None:
        result = journal_day(
            day({}, opening=1000, opening_bps=2000, bps=2500), points_per_yuan=100, breakage_fen=0
        )
        assert pairs(result) == [(CONTRACT_LIABILITY.code, BREAKAGE_REVENUE.code, 50)]
        assert result.closing_liability_fen == 750

    def test_the_lines_move_the_liability_exactly_to_its_rounded_closing_value(self) -> None:
        flows = {"issued": 333, "redeemed": 111, "expired": 7, "forfeited": 5, "adjusted": -3}
        result = journal_day(
            day(flows, opening=1001, opening_bps=1234, bps=1111),
            points_per_yuan=30,
            breakage_fen=4,
        )
        liability = 0
        for li in result.lines:
            sign = (li.credit == CONTRACT_LIABILITY) - (li.debit == CONTRACT_LIABILITY)
            liability += sign * li.amount_fen
        assert liability == result.closing_liability_fen - result.opening_liability_fen
        assert (
            result.closing_liability_fen
            == measure_liability(
                1001 + 333 - 111 - 7 - 5 - 3, points_per_yuan=30, bps=1111
            ).liability_fen
        )
        assert all(li.amount_fen > 0 for li in result.lines)


def cohort(month: int, *, used: int, broken: int, open_lots: int = 0) -> Cohort:
    return Cohort(date(2024, month, 1), 1, open_lots, used, broken)


class TestEstimate:
    def test_uses_closed_cohorts_when_they_hold_enough_points(self) -> None:
        cohorts = [cohort(1, used=9000, broken=3000), cohort(6, used=0, broken=0, open_lots=1)]
        figures = estimate_breakage(
            cohorts, as_of=date(2024, 8, 1), lookback_months=36, min_points=10_000
        )
        assert (figures.method, figures.rate_bps) == (CLOSED_COHORTS, 2500)
        assert [c.month.month for c in figures.cohorts] == [1]

    def test_falls_back_to_all_history_when_closed_cohorts_are_thin(self) -> None:
        cohorts = [cohort(1, used=9000, broken=1500, open_lots=1)]
        figures = estimate_breakage(
            cohorts, as_of=date(2024, 7, 12), lookback_months=36, min_points=10_000
        )
        assert (figures.method, figures.numerator, figures.denominator) == (
            HISTORY_TO_DATE,
            1500,
            10500,
        )
        assert figures.rate_bps == 1429

    def test_leaves_out_cohorts_older_than_the_lookback_and_the_current_month(self) -> None:
        cohorts = [
            Cohort(date(2020, 1, 1), 1, 0, 0, 50_000),
            cohort(3, used=20_000, broken=0),
            Cohort(date(2024, 8, 1), 1, 0, 0, 20_000),
        ]
        figures = estimate_breakage(
            cohorts, as_of=date(2024, 8, 20), lookback_months=36, min_points=10_000
        )
        assert (figures.method, figures.rate_bps) == (CLOSED_COHORTS, 0)

    def test_without_any_history_the_whole_value_is_a_liability(self) -> None:
        figures = estimate_breakage([], as_of=D1, lookback_months=36, min_points=10_000)
        assert (figures.method, figures.rate_bps) == (NO_HISTORY, 0)
