"""What a run measured: flat figures for latest.json, and the table of checks it prints."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
if not console.is_terminal:  # a log or a pipe: wide enough for the table
    console.width = 160


@dataclass(frozen=True, slots=True)
class Check:
    """One row of the table: a figure, its reference from the same run, and its target.

    `passed` is None when the run cannot judge the target (a smaller size or rate than the
    target is stated for); `ratio` is figure ÷ reference, shown as a percentage or a multiple.
    """

    figure: str
    value: float
    unit: str
    target: str
    passed: bool | None
    reference: str | None = None
    reference_value: float | None = None
    ratio_style: str = "%"
    shown: str | None = None  # the value as printed, when a number alone would mislead

    @property
    def ratio(self) -> float | None:
        """The figure over its reference, when both are there."""
        if self.reference_value is None or not self.reference_value or self.shown:
            return None
        return self.value / self.reference_value


@dataclass
class Results:
    """Everything one run measured, plus the problems that make its numbers untrustworthy.

    `started_at` is the run's one reading of the wall clock; workloads that must stamp
    something (API keys) take it from here.
    """

    mode: str
    started_at: datetime
    figures: dict[str, float | int] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    sizes: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def record(self, **figures: float) -> None:
        """Keep named figures (rounded for reading, never to fewer than 4 significant digits)."""
        for name, value in figures.items():
            self.figures[name] = _rounded(value)

    def check(self, check: Check) -> None:
        """Add a row to the printed table."""
        self.checks.append(check)

    def problem(self, text: str) -> None:
        """A correctness failure: the run exits 1 and the table says so."""
        self.problems.append(text)
        console.print(f"[red]problem:[/] {text}")


def _rounded(value: float) -> float | int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) or not math.isfinite(value):
        return value
    if value == 0:
        return 0.0
    digits = max(2, 4 - math.floor(math.log10(abs(value))))
    return round(value, digits)


def number(value: float, unit: str) -> str:
    """A figure as a person reads it: `61,234/s`, `12.3 ms`, `1.24 s`."""
    if unit == "/s":
        return f"{value:,.0f}/s" if value >= 100 else f"{value:,.1f}/s"
    if unit == "ms":
        return f"{value:,.1f} ms" if value >= 10 else f"{value:,.2f} ms"
    if unit == "s":
        if value < 1:
            return f"{value * 1000:,.1f} ms"
        return f"{value:,.2f} s" if value < 100 else f"{value:,.0f} s"
    if unit:
        return f"{value:,.0f} {unit}"
    return f"{value:,}"


def _ratio(check: Check) -> str:
    ratio = check.ratio
    if ratio is None:
        return ""
    if check.ratio_style == "%":
        return f"{ratio:.2%}" if ratio < 0.1 else f"{ratio:.1%}"
    return f"{ratio:,.2f}×" if ratio < 1 else f"{ratio:,.1f}×"


def table(results: Results, *, title: str) -> Table:
    """The figures, their same-run references, the ratio and the target."""
    grid = Table(title=title, title_justify="left")
    for name in ("figure", "value", "reference (same run)", "ratio", "target", "pass"):
        grid.add_column(name, justify="right" if name in {"value", "ratio"} else "left")
    verdicts = {True: "[green]pass[/]", False: "[red]FAIL[/]", None: "[yellow]n/a[/]"}
    for check in results.checks:
        reference = ""
        if check.reference is not None and check.reference_value is not None:
            reference = f"{check.reference} {number(check.reference_value, check.unit)}"
        grid.add_row(
            check.figure,
            check.shown or number(check.value, check.unit),
            reference,
            _ratio(check),
            check.target,
            verdicts[check.passed],
        )
    return grid


def write_json(path: Path, results: Results, header: dict[str, Any]) -> None:
    """`latest.json`: a flat object of figures, with the machine, date, sizes and commit.

    Besides the figures (`name: number`) it holds `date`, `git_commit`, `git_dirty`, `machine`,
    `mode`, `sizes`, and the run's `problems` (correctness failures) and `notes`.
    """
    document: dict[str, Any] = {**header, "mode": results.mode, "sizes": results.sizes}
    document["problems"] = results.problems
    document["notes"] = results.notes
    document.update(sorted(results.figures.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of `values` (0 < q ≤ 1); `inf` stands for a failed request."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def median(values: Sequence[float]) -> float:
    """The middle value (the upper one of two)."""
    return percentile(values, 0.5)
