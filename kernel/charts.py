"""Charts drawn on the server as inline SVG: no JavaScript, nothing the CSP has to allow.

An SVG carries its own <title> and <desc> (read by screen readers through `aria-labelledby`);
the page shows the same figures as a table beside it. Colours are presentation attributes
(`stroke=`, `fill=`), never `style=""`, so a strict style-src holds; a stylesheet may still
override them through the classes. Coordinates are floats (they are pixels); the values and the
tick labels are whatever integers the caller gives, formatted by the caller's `format_value`.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import count

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Colour-blind-safe pair (Okabe-Ito blue and vermilion) and a third for a third series.
PALETTE = ("#0072b2", "#d55e00", "#009e73")
_ids = count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[int]


def _join(parts: Sequence[SafeString]) -> SafeString:
    """Markup already built by format_html, joined without escaping it again."""
    return format_html_join("", "{}", ((part,) for part in parts))


def _px(value: float) -> str:
    return f"{value:.1f}"


def nice_step(largest: int, ticks: int = 4) -> int:
    """A round step (1, 2, 2.5 or 5 times a power of ten, at least 1) so that `ticks` steps
    reach `largest`."""
    raw = max(largest, 1) / ticks
    magnitude = 1
    while magnitude * 10 <= raw:
        magnitude *= 10
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * magnitude
        if step >= raw:
            return max(int(step), 1)
    return magnitude * 10  # pragma: no cover (factor 10 always reaches raw)


def line_chart(
    *,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    format_value: Callable[[int], str] = str,
    width: int = 720,
    height: int = 260,
) -> SafeString:
    """One line per series over the labelled buckets, y from zero, with a legend."""
    uid = next(_ids)
    left, right, top, bottom = 84, 16, 34, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max((v for s in series for v in s.values), default=0)
    step = nice_step(largest)
    ticks = [step * n for n in range(5)]
    top_value = ticks[-1]
    buckets = max(len(labels), 1)

    def x(index: int) -> str:
        return _px(left + (plot_w * index / (buckets - 1) if buckets > 1 else plot_w / 2))

    def y(value: int, shift: float = 0) -> str:
        return _px(top + plot_h - plot_h * value / top_value + shift)

    grid = format_html_join(
        "",
        '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d9d9d9"/>'
        '<text class="chart-tick" x="{}" y="{}" text-anchor="end" font-size="12"'
        ' fill="#5c5c5c">{}</text>',
        ((left, width - right, y(t), y(t), left - 8, y(t, 4), format_value(t)) for t in ticks),
    )
    every = max(1, (buckets + 6) // 7)  # at most about 7 labels on the x axis
    shown = [i for i in range(len(labels)) if i % every == 0]
    if labels and shown[-1] != len(labels) - 1 and len(labels) - 1 - shown[-1] >= every / 2:
        shown.append(len(labels) - 1)
    last = len(labels) - 1

    def anchor(index: int) -> str:  # the end labels stay inside the picture
        return "start" if index == 0 and last else "end" if index == last and last else "middle"

    x_labels = format_html_join(
        "",
        '<text class="chart-tick" x="{}" y="{}" text-anchor="{}" font-size="12"'
        ' fill="#5c5c5c">{}</text>',
        ((x(i), height - 10, anchor(i), labels[i]) for i in shown),
    )
    lines = []
    legend = []
    for n, one in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        points = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(one.values))
        lines.append(
            format_html(
                '<polyline class="chart-line chart-line--{}" points="{}" fill="none"'
                ' stroke="{}" stroke-width="2.5" stroke-linejoin="round"/>',
                n + 1,
                points,
                colour,
            )
        )
        if len(one.values) == 1:
            lines.append(
                format_html(
                    '<circle cx="{}" cy="{}" r="4" fill="{}"/>',
                    x(0),
                    y(one.values[0]),
                    colour,
                )
            )
        legend_x = left + n * 190
        legend.append(
            format_html(
                '<rect x="{}" y="8" width="14" height="14" rx="2" fill="{}"/>'
                '<text x="{}" y="20" font-size="13" fill="#262626">{}</text>',
                legend_x,
                colour,
                legend_x + 20,
                one.name,
            )
        )
    return format_html(
        '<svg class="streetteam-chart" viewBox="0 0 {w} {h}" width="100%" role="img"'
        ' aria-labelledby="chart-{u}-title chart-{u}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="chart-{u}-title">{title}</title><desc id="chart-{u}-desc">{desc}</desc>'
        "{grid}{x_labels}{lines}{legend}</svg>",
        w=width,
        h=height,
        u=uid,
        title=title,
        desc=description,
        grid=grid,
        x_labels=x_labels,
        lines=_join(lines),
        legend=_join(legend),
    )


def bar_chart(
    *,
    title: str,
    description: str,
    bars: Sequence[tuple[str, int, str]],
    width: int = 720,
) -> SafeString:
    """Horizontal bars, one per (label, value, value as text), longest first as given; for a
    funnel, each bar's width is its share of the first bar's value."""
    uid = next(_ids)
    row_h, label_w, text_w = 34, 190, 170
    height = max(len(bars), 1) * row_h + 8
    plot_w = width - label_w - text_w
    largest = max((value for _, value, _ in bars), default=0) or 1
    rows = format_html_join(
        "",
        '<text x="{lx}" y="{ty}" font-size="13" fill="#262626">{label}</text>'
        '<rect class="chart-bar" x="{bx}" y="{by}" width="{bw}" height="22" rx="2"'
        ' fill="#0072b2"/>'
        '<text x="{vx}" y="{ty}" font-size="13" fill="#262626">{text}</text>',
        (
            {
                "lx": 0,
                "ty": n * row_h + 23,
                "label": label,
                "bx": label_w,
                "by": n * row_h + 6,
                "bw": _px(max(plot_w * value / largest, 1 if value else 0)),
                "vx": _px(label_w + plot_w * value / largest + 8),
                "text": text,
            }
            for n, (label, value, text) in enumerate(bars)
        ),
    )
    return format_html(
        '<svg class="streetteam-chart" viewBox="0 0 {w} {h}" width="100%" role="img"'
        ' aria-labelledby="chart-{u}-title chart-{u}-desc" xmlns="http://www.w3.org/2000/svg">'
        '<title id="chart-{u}-title">{title}</title><desc id="chart-{u}-desc">{desc}</desc>'
        "{rows}</svg>",
        w=width,
        h=height,
        u=uid,
        title=title,
        desc=description,
        rows=rows,
    )
