"""The dashboard's pure pieces: money and ratio formatting, the SVG bar chart's geometry."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.dashboard.charts import BOTTOM, HEIGHT, TOP, _nice_ceiling, daily_bar_chart
from app.dashboard.web import percent, yuan
from app.reports.overview import DayFigures


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (100, "1.00"),
        (123456789, "1,234,567.89"),
        (-150, "-1.50"),
        (-123456789, "-1,234,567.89"),
        (None, "—"),
    ],
)
def test_yuan(fen, text):
    assert yuan(fen) == text


@pytest.mark.parametrize(
    ("ratio", "text"),
    [("0.0000", "0.00%"), ("0.4321", "43.21%"), ("1.0000", "100.00%"), ("0.0005", "0.05%"), (None, "—")],
)
def test_percent(ratio, text):
    assert percent(ratio) == text


@pytest.mark.parametrize(
    ("value", "ceiling"), [(1, 1), (2, 2), (3, 5), (6, 10), (11, 20), (20, 20), (21, 50), (4999, 5000)]
)
def test_axis_ceiling(value, ceiling):
    assert _nice_ceiling(value) == ceiling


def march(counts: dict[int, int]) -> list[DayFigures]:
    return [DayFigures(date(2026, 3, 1) + timedelta(days=i), counts.get(i + 1, 0), 0) for i in range(31)]


def test_bars_are_proportional_to_counts():
    chart = daily_bar_chart(march({1: 10, 2: 5, 31: 20}))
    plot = HEIGHT - BOTTOM - TOP
    assert len(chart.bars) == 31
    heights = {bar.label: bar.height for bar in chart.bars}
    assert heights["31"] == plot  # the busiest day fills the axis (20 is its own ceiling)
    assert heights["1"] == plot // 2 and heights["2"] == plot // 4 and heights["15"] == 0
    assert all(bar.y + bar.height == chart.baseline for bar in chart.bars)
    xs = [bar.x for bar in chart.bars]
    assert xs == sorted(xs) and all(
        b.x + b.width < nxt.x + 1 for b, nxt in zip(chart.bars, chart.bars[1:], strict=False)
    )
    assert chart.bars[1].title == "3月2日:5 笔"
    assert [tick.label for tick in chart.ticks] == ["0", "5", "10", "15", "20"]


def test_an_empty_month_still_draws_an_axis():
    chart = daily_bar_chart(march({}))
    assert {bar.height for bar in chart.bars} == {0}
    assert [tick.label for tick in chart.ticks] == ["0", "1"]
