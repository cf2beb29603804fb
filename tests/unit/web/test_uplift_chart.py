"""The campaign report's uplift chart: treated and control bars, the interval on the treated bar."""

from __future__ import annotations

from jifen.web.console.charts import uplift_chart


def test_the_interval_sits_on_the_treated_bar_around_the_control_mean_plus_the_uplift() -> None:
    option = uplift_chart(
        treated=("Treated", 2.5),
        control=("Control", 2.0),
        ci95=(0.1, 0.9),
        interval_name="95%",
        y_name="Trips",
    )
    bars, interval = option["series"]
    assert option["xAxis"]["data"] == ["Treated", "Control"]
    assert bars["data"] == [2.5, 2.0]
    assert interval["data"] == [["Treated", 2.1], ["Treated", 2.9]]


def test_without_an_interval_only_the_bars_are_drawn() -> None:
    option = uplift_chart(
        treated=("Treated", 1.0),
        control=("Control", 0.0),
        ci95=None,
        interval_name="95%",
        y_name="Trips",
    )
    assert [s["type"] for s in option["series"]] == ["bar"]
