"""The uplift chart: treated and control bars, and the interval drawn on the treated bar."""

from __future__ import annotations

from jifen.web.console.charts import uplift_chart


def test_the_interval_sits_on_the_treated_bar_around_the_control_mean_plus_the_uplift() -> None:
    option = uplift_chart(
        names=["Spring", "Summer"],
        treated=[2.5, 1.0],
        control=[2.0, 1.0],
        intervals=[(2.1, 2.9), None],
        labels=("Treated", "Control", "95%"),
        y_name="Trips",
    )
    treated, control, interval = option["series"]
    assert option["xAxis"]["data"] == ["Spring", "Summer"]
    assert treated["data"] == [2.5, 1.0]
    assert control["data"] == [2.0, 1.0]
    assert interval["data"] == [[0, 2.1, 2.9]], "only the campaign with an interval gets a whisker"
    assert interval["errorShift"] < 0, "the whisker is drawn over the treated (left) bar"
