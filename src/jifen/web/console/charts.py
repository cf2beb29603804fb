"""ECharts options as plain data: the console's charts are built here and embedded as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Option = dict[str, Any]
PALETTE = ["#c8102e", "#1f7a4d", "#b7791f", "#3e4c59", "#2b6cb0", "#805ad5"]


def _base() -> Option:
    return {
        "color": PALETTE,
        "animationDuration": 300,
        "grid": {"left": 64, "right": 24, "top": 48, "bottom": 48},
        "tooltip": {"trigger": "axis"},
    }


def line_chart(
    *, days: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], x_name: str, y_name: str
) -> Option:
    """One line per `(name, values)` over `days`, with a legend and named axes."""
    return {
        **_base(),
        "legend": {"top": 0, "data": [name for name, _ in series]},
        "xAxis": {
            "type": "category",
            "data": list(days),
            "name": x_name,
            "nameLocation": "middle",
            "nameGap": 30,
        },
        "yAxis": {"type": "value", "name": y_name},
        "series": [
            {
                "name": name,
                "type": "line",
                "data": list(values),
                "smooth": False,
                "showSymbol": False,
            }
            for name, values in series
        ],
    }


def bar_chart(
    *, days: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], x_name: str, y_name: str
) -> Option:
    """Bars per `(name, values)` over `days`, side by side."""
    option = line_chart(days=days, series=series, x_name=x_name, y_name=y_name)
    for one in option["series"]:
        one["type"] = "bar"
        del one["smooth"], one["showSymbol"]
    return option


def pie_chart(*, name: str, slices: Sequence[tuple[str, int]]) -> Option:
    """A ring of `(label, value)` slices, with labels showing each share."""
    return {
        "color": PALETTE,
        "animationDuration": 300,
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "legend": {"bottom": 0},
        "series": [
            {
                "name": name,
                "type": "pie",
                "radius": ["40%", "68%"],
                "label": {"formatter": "{b}\n{d}%"},
                "data": [{"name": label, "value": value} for label, value in slices],
            }
        ],
    }


def uplift_chart(
    *,
    treated: tuple[str, float],
    control: tuple[str, float],
    ci95: tuple[float, float] | None,
    interval_name: str,
    y_name: str,
) -> Option:
    """Treated and control means as bars; on the treated one, control mean + the uplift's 95% CI.

    The interval is where the treated mean would lie given the control's, so a bar whose interval
    stays clear of the control's height shows an effect that chance alone hardly explains.
    """
    (treated_name, treated_mean), (control_name, control_mean) = treated, control
    option: Option = {
        **_base(),
        "legend": {"top": 0},
        "xAxis": {"type": "category", "data": [treated_name, control_name]},
        "yAxis": {"type": "value", "name": y_name},
        "series": [
            {
                "name": y_name,
                "type": "bar",
                "barMaxWidth": 64,
                "data": [round(treated_mean, 4), round(control_mean, 4)],
            }
        ],
    }
    if ci95 is not None:
        low, high = (round(control_mean + end, 4) for end in ci95)
        option["series"].append(
            {
                "name": interval_name,
                "type": "line",
                "data": [[treated_name, low], [treated_name, high]],
                "symbol": "rect",
                "symbolSize": [16, 2],
                "lineStyle": {"width": 2, "color": PALETTE[3]},
                "itemStyle": {"color": PALETTE[3]},
            }
        )
    return option
