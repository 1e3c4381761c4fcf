"""The server-drawn SVG chart: what a reader (or a screen reader) finds in it, and that it is well-formed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from applications.usage.charts import LEFT, RIGHT, WIDTH, Series, line_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"
DEC_1 = date(2026, 12, 1)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def point_titles(root: ET.Element, key: str) -> list[str]:
    group = next(g for g in root.iter(f"{SVG}g") if g.get("data-series") == key)
    return [c.find(f"{SVG}title").text for c in group.iter(f"{SVG}circle")]


def texts(root: ET.Element, css_class: str) -> list[str]:
    return [t.text for t in root.iter(f"{SVG}text") if t.get("class") == css_class]


def test_line_chart_known_series_has_a_titled_point_per_day_with_missing_days_as_zero():
    series = [
        Series("sign-ins", "sign_ins", [(DEC_1, 3), (DEC_1 + timedelta(days=2), 7)]),
        Series("tokens", "tokens", [(DEC_1 + timedelta(days=1), 12)]),
    ]
    root = parse(line_chart(title="Usage", series=series, start=DEC_1, end=DEC_1 + timedelta(days=2)))

    assert root.find(f"{SVG}title").text == "Usage"
    assert root.get("role") == "img"
    assert point_titles(root, "sign_ins") == [
        "2026-12-01: 3 sign-ins",
        "2026-12-02: 0 sign-ins",
        "2026-12-03: 7 sign-ins",
    ]
    assert point_titles(root, "tokens") == ["2026-12-01: 0 tokens", "2026-12-02: 12 tokens", "2026-12-03: 0 tokens"]
    # The top label is the round number at or above the busiest day (12 -> 20), with 0 and the half.
    assert texts(root, "usage-chart__value") == ["0", "10", "20"]
    assert texts(root, "usage-chart__day") == ["Dec 1", "Dec 2", "Dec 3"]
    legend = [g.find(f"{SVG}text").text for g in root.iter(f"{SVG}g") if g.get("class") == "usage-chart__legend"]
    assert legend == ["sign-ins", "tokens"]


def test_line_chart_points_rise_with_their_values_and_the_peak_stays_inside_the_plot():
    points = [(DEC_1, 0), (DEC_1 + timedelta(days=1), 5), (DEC_1 + timedelta(days=2), 10)]
    series = [Series("sign-ins", "sign_ins", points)]
    root = parse(line_chart(title="Usage", series=series, start=DEC_1, end=DEC_1 + timedelta(days=2)))
    ys = [float(c.get("cy")) for c in root.iter(f"{SVG}circle")]
    xs = [float(c.get("cx")) for c in root.iter(f"{SVG}circle")]
    assert ys[0] > ys[1] > ys[2] >= 0  # SVG's y grows downwards
    assert xs[0] < xs[1] < xs[2] <= WIDTH


def test_line_chart_thirty_days_labels_about_every_fifth_day():
    start = date(2026, 11, 3)
    series = [Series("sign-ins", "sign_ins", [(start + timedelta(days=i), i) for i in range(30)])]
    root = parse(line_chart(title="Usage", series=series, start=start, end=start + timedelta(days=29)))
    assert texts(root, "usage-chart__day") == ["Nov 3", "Nov 8", "Nov 13", "Nov 18", "Nov 23", "Nov 28"]
    assert len(point_titles(root, "sign_ins")) == 30


def test_line_chart_escapes_titles_and_labels():
    name = "<script>alert(1)</script> & co"
    series = [Series(name, "sign_ins", [(DEC_1, 1)])]
    svg = line_chart(title=f"Usage of {name}", series=series, start=DEC_1, end=DEC_1)
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in svg
    root = parse(svg)  # still well-formed XML
    assert root.find(f"{SVG}title").text == f"Usage of {name}"
    assert point_titles(root, "sign_ins") == [f"2026-12-01: 1 {name}"]


def test_line_chart_all_zero_series_draws_a_flat_line_at_the_baseline_and_says_so():
    start = DEC_1
    series = [Series("sign-ins", "sign_ins", [(start + timedelta(days=i), 0) for i in range(7)])]
    root = parse(line_chart(title="Usage", series=series, start=start, end=start + timedelta(days=6)))
    assert len({c.get("cy") for c in root.iter(f"{SVG}circle")}) == 1
    assert texts(root, "usage-chart__value") == ["0", "1"]
    assert texts(root, "usage-chart__empty") == ["No activity in this period"]


def test_line_chart_single_day_is_one_point_in_the_middle():
    series = [Series("sign-ins", "sign_ins", [(DEC_1, 4)])]
    root = parse(line_chart(title="Usage", series=series, start=DEC_1, end=DEC_1))
    (circle,) = root.iter(f"{SVG}circle")
    assert float(circle.get("cx")) == pytest.approx(LEFT + (WIDTH - LEFT - RIGHT) / 2)
    assert texts(root, "usage-chart__day") == ["Dec 1"]
    assert texts(root, "usage-chart__empty") == []


def test_line_chart_points_outside_the_range_are_left_out():
    series = [Series("sign-ins", "sign_ins", [(DEC_1 - timedelta(days=1), 500), (DEC_1, 2)])]
    root = parse(line_chart(title="Usage", series=series, start=DEC_1, end=DEC_1))
    assert point_titles(root, "sign_ins") == ["2026-12-01: 2 sign-ins"]
    assert texts(root, "usage-chart__value") == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (1, 1), (2, 2), (3, 3), (7, 8), (9, 10), (12, 20), (203, 300), (510, 600), (700, 800), (801, 1000)],
)
def test_nice_ceiling_rounds_up_to_a_round_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_line_chart_needs_nothing_a_strict_csp_refuses():
    series = [Series("sign-ins", "sign_ins", [(DEC_1, 1)]), Series("tokens", "tokens", [(DEC_1, 2)])]
    svg = line_chart(title="Usage", series=series, start=DEC_1, end=DEC_1 + timedelta(days=3)).lower()
    assert "style" not in svg  # no style attribute or element: colours are SVG presentation attributes
    assert "<script" not in svg and "javascript:" not in svg and not re.search(r"\son[a-z]+=", svg)
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere
