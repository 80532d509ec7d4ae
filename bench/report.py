"""Figures and how they are printed: one line per figure, `name ours baseline ratio`, then the
targets and whether each is met.

`ratio` always reads "how we compare with the baseline, higher is better": ours / baseline for
rates (requests or orders per second), baseline / ours for times and counts (milliseconds,
seconds, queries). A ratio of 0.6 on a rate means 60% of the baseline's throughput.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """What a figure must reach: `ours` against a limit, or `ratio` against a minimum."""

    description: str  # e.g. "ratio >= 0.6", "p95 <= 50 ms"
    limit: float
    on: str = "ours"  # "ours" or "ratio"

    def met(self, figure: "Figure") -> bool:
        value = figure.ratio if self.on == "ratio" else figure.ours
        if self.on == "ratio" or figure.higher_is_better:
            return value >= self.limit
        return value <= self.limit


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str  # "req/s", "orders/s", "ms", "s", "queries"
    ours: float
    baseline: float
    higher_is_better: bool
    target: Target | None = None
    note: str = ""  # what the baseline is, printed under the table

    @property
    def ratio(self) -> float:
        if self.higher_is_better:
            return self.ours / self.baseline if self.baseline else math.inf
        return self.baseline / self.ours if self.ours else math.inf

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self)


def _value(value: float, unit: str) -> str:
    if unit in ("queries",):
        return f"{value:.0f}"
    if unit == "s":
        return f"{value:.2f}"
    if unit == "ms":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def table(figures: list[Figure]) -> str:
    """The aligned `name ours baseline ratio` lines, with a header."""
    rows = [("figure", "ours", "baseline", "ratio")]
    for figure in figures:
        rows.append(
            (
                f"{figure.name} ({figure.unit})",
                _value(figure.ours, figure.unit),
                _value(figure.baseline, figure.unit),
                f"{figure.ratio:.2f}",
            )
        )
    width = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for name, *numbers in rows:
        cells = [f"{name:<{width[0]}}"]
        cells += [f"{number:>{width[i + 1]}}" for i, number in enumerate(numbers)]
        lines.append("  ".join(cells))
    return "\n".join(lines)


def summary(figures: list[Figure]) -> str:
    """Which targets are met, and what each baseline was."""
    targeted = [figure for figure in figures if figure.target is not None]
    lines = ["targets:"]
    for figure in targeted:
        mark = "PASS" if figure.met else "FAIL"
        got = (
            f"{figure.ratio:.2f}"
            if figure.target.on == "ratio"
            else f"{_value(figure.ours, figure.unit)} {figure.unit}"
        )
        lines.append(f"  {mark}  {figure.name}: {figure.target.description} (measured {got})")
    met = sum(1 for figure in targeted if figure.met)
    lines.append(f"{met} of {len(targeted)} targets met")
    notes = [f"  {figure.name}: {figure.note}" for figure in figures if figure.note]
    if notes:
        lines += ["baselines:", *notes]
    return "\n".join(lines)


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p95: the value 95% of the samples are at or below)."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
