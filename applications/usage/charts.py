"""Usage charts drawn on the server as SVG: no script, no CDN, nothing a Content-Security-Policy has to allow.

Colours are SVG presentation attributes (`stroke=`, `fill=`), which no CSP treats as inline style, plus
classes a stylesheet may refine; text is `currentColor`, so it follows the admin's light and dark themes.
Every point carries a `<title>` (its day, value and series) that browsers show on hover and screen
readers read; the chart as a whole is an image named by its own `<title>`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# Distinguishable for the common colour-vision deficiencies (Okabe–Ito), in series order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")

WIDTH, HEIGHT = 640, 220
# The plot area inside the SVG: room on the left for the value labels, below for days, above for the legend.
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 36, 28
TARGET_TICKS = 6  # about one day label every five days over a month


@dataclass(frozen=True)
class Series:
    """One line: its legend label, a CSS class suffix, and a value per day (missing days count as zero)."""

    label: str
    key: str
    points: Sequence[tuple[date, int]]


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 3, 4, 5, 6 or 8 × 10^n not below `value` (at least 1): a round top label that
    leaves the busiest day in the upper half of the plot."""
    if value <= 1:
        return 1
    magnitude = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 3, 4, 5, 6, 8, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover (the loop always returns)


def day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def line_chart(*, title: str, series: Sequence[Series], start: date, end: date) -> SafeString:
    """An SVG line chart of `series` over the days start..end inclusive."""
    span = max((end - start).days, 0)
    values = {s.key: {day: value for day, value in s.points if start <= day <= end} for s in series}
    peak = max((v for per_day in values.values() for v in per_day.values()), default=0)
    top = nice_ceiling(peak)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    baseline = TOP + plot_h

    def x(offset: int) -> float:
        # A single day sits in the middle instead of on the axis.
        return LEFT + (plot_w * offset / span if span else plot_w / 2)

    def y(value: int) -> float:
        return baseline - plot_h * value / top

    parts: list[SafeString] = []
    # Value gridlines and labels: 0, half and the top (a round number at or above the busiest day).
    for value in sorted({0, top // 2, top} if top >= 2 else {0, top}):
        parts.append(
            format_html(
                '<line class="usage-chart__grid" x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" '
                'stroke-opacity="{}"/>'
                '<text class="usage-chart__value" x="{}" y="{}" text-anchor="end" dominant-baseline="middle">{}</text>',
                LEFT,
                _n(y(value)),
                WIDTH - RIGHT,
                _n(y(value)),
                "0.5" if value == 0 else "0.15",
                LEFT - 6,
                _n(y(value)),
                value,
            )
        )
    # Day ticks: about TARGET_TICKS of them, the first day always labelled.
    step = max(1, math.ceil((span + 1) / TARGET_TICKS))
    for offset in range(0, span + 1, step):
        day = date.fromordinal(start.toordinal() + offset)
        parts.append(
            format_html(
                '<line class="usage-chart__tick" x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="currentColor" '
                'stroke-opacity="0.5"/>'
                '<text class="usage-chart__day" x="{0}" y="{3}" text-anchor="middle">{4}</text>',
                _n(x(offset)),
                baseline,
                baseline + 4,
                baseline + 16,
                day_label(day),
            )
        )
    for index, line in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        per_day = values[line.key]
        points = [(offset, per_day.get(date.fromordinal(start.toordinal() + offset), 0)) for offset in range(span + 1)]
        coords = " ".join(f"{_n(x(offset))},{_n(y(value))}" for offset, value in points)
        circles = format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="3" fill="{}"><title>{}: {} {}</title></circle>',
            (
                (
                    _n(x(offset)),
                    _n(y(value)),
                    colour,
                    date.fromordinal(start.toordinal() + offset).isoformat(),
                    value,
                    line.label,
                )
                for offset, value in points
            ),
        )
        parts.append(
            format_html(
                '<g class="usage-chart__series usage-chart__series--{}" data-series="{}">'
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2" stroke-linejoin="round"/>{}</g>',
                line.key,
                line.key,
                coords,
                colour,
                circles,
            )
        )
        # The legend, left to right above the plot.
        legend_x = LEFT + 140 * index
        parts.append(
            format_html(
                '<g class="usage-chart__legend"><rect x="{}" y="10" width="12" height="12" rx="2" fill="{}"/>'
                '<text x="{}" y="20">{}</text></g>',
                legend_x,
                colour,
                legend_x + 18,
                line.label,
            )
        )
    if peak == 0:
        parts.append(
            format_html(
                '<text class="usage-chart__empty" x="{}" y="{}" text-anchor="middle">{}</text>',
                _n(LEFT + plot_w / 2),
                _n(TOP + plot_h / 2),
                "No activity in this period",
            )
        )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="usage-chart" viewBox="0 0 {} {}" width="100%" '
        'role="img" data-testid="usage-chart" font-family="sans-serif" font-size="12" fill="currentColor">'
        "<title>{}</title>{}</svg>",
        WIDTH,
        HEIGHT,
        title,
        format_html_join("", "{}", ((part,) for part in parts)),
    )


def _n(value: float) -> str:
    """A coordinate with at most one decimal: short markup, and stable text for tests."""
    return f"{value:.1f}".rstrip("0").rstrip(".")
