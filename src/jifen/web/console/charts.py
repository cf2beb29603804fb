"""ECharts options as plain data: the console's charts are built here and embedded as JSON."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from jifen.domain.campaigns import Uplift
from jifen.services.campaigns import CampaignReport

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


def heatmap_chart(
    *,
    xs: Sequence[str],
    ys: Sequence[str],
    cells: Sequence[tuple[int, int, float, float]],
    x_name: str,
    y_name: str,
    label: str,
    colour_max: float,
) -> Option:
    """A grid of `(x index, y index, colour value, label value)` cells over `xs` × `ys`.

    The colour scale runs from 0 to `colour_max` on the third value; each cell is labelled by
    the template `label` (`{@[3]}` is the fourth value). Needs the full ECharts build.
    """
    return {
        "animationDuration": 300,
        "tooltip": {"trigger": "item"},
        "grid": {"left": 72, "right": 96, "top": 32, "bottom": 48},
        "xAxis": {
            "type": "category",
            "data": list(xs),
            "name": x_name,
            "nameLocation": "middle",
            "nameGap": 30,
            "splitArea": {"show": True},
        },
        "yAxis": {
            "type": "category",
            "data": list(ys),
            "name": y_name,
            "nameLocation": "start",  # the top, the axis being inverted
            "inverse": True,
            "splitArea": {"show": True},
        },
        "visualMap": {
            "min": 0,
            "max": max(colour_max, 1),
            "dimension": 2,
            "calculable": True,
            "orient": "vertical",
            "right": 0,
            "top": "middle",
            "itemHeight": 120,
            "inRange": {"color": ["#fdecee", PALETTE[0]]},
        },
        "series": [
            {
                "type": "heatmap",
                "data": [list(cell) for cell in cells],
                "label": {"show": True, "formatter": label},
                "emphasis": {"itemStyle": {"borderColor": "#222", "borderWidth": 1}},
            }
        ],
    }


def uplift_chart(
    *,
    names: Sequence[str],
    treated: Sequence[float],
    control: Sequence[float],
    intervals: Sequence[tuple[float, float] | None],
    labels: tuple[str, str, str],
    y_name: str,
) -> Option:
    """A bar pair (treated, control) per name, with an error bar beside the treated bar.

    `intervals` are where the treated mean may lie at 95% (the control mean plus the uplift's
    interval); None draws no error bar. `labels` name the treated, control and interval series.
    The error bar is a custom series whose `renderItem` the page's script supplies.
    """
    bar = {"type": "bar", "barWidth": "30%", "barGap": "0%"}
    whiskers = [[n, *one] for n, one in enumerate(intervals) if one is not None]
    return {
        **_base(),
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0, "data": list(labels)},
        "xAxis": {"type": "category", "data": list(names)},
        "yAxis": {"type": "value", "name": y_name},
        "series": [
            {**bar, "name": labels[0], "data": list(treated)},
            {**bar, "name": labels[1], "data": list(control)},
            {
                "type": "custom",
                "name": labels[2],
                "renderItem": "errorBar",
                "errorShift": -0.15,  # the treated bar's middle, in category widths
                "encode": {"x": 0, "y": [1, 2]},
                "itemStyle": {"color": "#222"},
                "data": whiskers,
                "z": 10,
            },
        ],
    }


def campaign_uplift(
    _: Callable[[str], str], reports: Sequence[CampaignReport], field: str, unit: int, name: str
) -> Option:
    """The reports' `field` (trips or spend_fen, divided by `unit`) as uplift bar pairs.

    The interval is where the treated mean may lie at 95%: the control mean plus the uplift's.
    """
    figures: list[Uplift] = [getattr(r, field) for r in reports]

    def scaled(value: float) -> float:
        return round(value / unit, 2)

    return uplift_chart(
        names=[r.campaign.name for r in reports],
        treated=[scaled(u.treated_mean) for u in figures],
        control=[scaled(u.control_mean) for u in figures],
        intervals=[
            None
            if u.ci95 is None
            else (scaled(u.control_mean + u.ci95[0]), scaled(u.control_mean + u.ci95[1]))
            for u in figures
        ],
        labels=(_("Treated"), _("Control"), _("95% interval")),
        y_name=name,
    )
